"""Wall time per RL batch on Tinker: sequential vs pipelined sampling, measured on the fake SDK.

On Tinker, sampling and training run on the service; the trainer mostly waits. A batch costs
``snapshot + sample + train`` when each step waits for the previous one. With pipelining, the
requests for batch n+1 are submitted (from the weights *before* update n) just before batch n's
``forward_backward``/``optim_step``, so sampling and training overlap and a batch costs about
``max(snapshot + sample, train)``, at the price of samples one update stale (importance sampling
corrects for that; ``tinker/staleness`` and ``optim/kl_sample_train_*`` in the metrics show it).

This benchmark runs the same small RL loop (group-centred advantages of the ``mult_env`` shaped
reward) both ways on :mod:`trainers.fake_tinker` with injected service latency, so the
numbers isolate the scheduling effect from model compute. Run from the repository root::

    python -m benchmarks.pipeline                       # defaults: the numbers in docs/tinker.md
    python -m benchmarks.pipeline --sample-latency 2 --train-latency 1 --batches 10
    python -m benchmarks.pipeline --real-loop     # through trainers.train.run (pipeline=true)
    python -m benchmarks.pipeline --base-url http://127.0.0.1:8000 --model-name DIR   # on the wire

``--base-url`` measures the same comparison through ``trainers.train.run`` against a real
Tinker-API server (see docs/tinker.md, "Scale out: self-host the Tinker API");
``--write-tiny-model DIR`` writes the tiny model the repository's own measurement served.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mult_env import ProblemSet, PromptStyle, Scorer, build_messages
from trainers.backend import PromptSpec, Sample
from trainers.train import compute_advantages

__all__ = ["PipelineResult", "main", "markdown_table", "run", "run_real_loop"]


@dataclass(frozen=True)
class PipelineResult:
    """Timings of one run of the loop."""

    mode: str
    batch_seconds: list[float]
    staleness: list[float]

    @property
    def mean_s(self) -> float:
        # The first batch cannot overlap with anything; steady state is what a long run sees.
        steady = self.batch_seconds[1:] or self.batch_seconds
        return statistics.fmean(steady)

    @property
    def total_s(self) -> float:
        return sum(self.batch_seconds)


def _prompts(problems: ProblemSet, batch: int, batch_size: int) -> list[PromptSpec]:
    style = PromptStyle(few_shot=True)
    return [
        PromptSpec(messages=tuple(build_messages(problems[batch * batch_size + i], style)))
        for i in range(batch_size)
    ]


def _advantages(
    scorer: Scorer, problems: Sequence[Any], groups: list[list[Sample]]
) -> tuple[list[Sample], list[list[float]]]:
    flat: list[Sample] = []
    advantages: list[list[float]] = []
    for problem, group in zip(problems, groups, strict=True):
        rewards = [r.total for r in scorer.score_group([s.text for s in group], problem)]
        for sample, advantage in zip(group, compute_advantages(rewards), strict=True):
            flat.append(sample)
            advantages.append([advantage] * len(sample.tokens))
    return flat, advantages


def run(
    backend: Any,
    *,
    pipelined: bool,
    batches: int = 8,
    batch_size: int = 8,
    group_size: int = 4,
    max_tokens: int = 12,
    seed: int = 0,
) -> PipelineResult:
    """Run ``batches`` RL steps on a :class:`trainers.tinker_backend.TinkerBackend`."""
    problems = ProblemSet("medium", seed=seed, split="train")
    scorer = Scorer()

    def batch_problems(n: int) -> list[Any]:
        return [problems[n * batch_size + i] for i in range(batch_size)]

    def submit(n: int) -> Any:
        return backend.sample_async(
            _prompts(problems, n, batch_size), group_size, max_tokens=max_tokens, temperature=1.0
        )

    times: list[float] = []
    staleness: list[float] = []
    pending = submit(0) if pipelined else None
    for n in range(batches):
        start = time.monotonic()
        if pending is not None:
            groups = pending.result()
            flat, advantages = _advantages(scorer, batch_problems(n), groups)
            # Submit batch n+1 from the current weights *before* training on batch n.
            pending = submit(n + 1) if n + 1 < batches else None
        else:
            groups = submit(n).result()
            flat, advantages = _advantages(scorer, batch_problems(n), groups)
        metrics = backend.train_step(flat, advantages)
        staleness.append(metrics.get("tinker/staleness", 0.0))
        times.append(time.monotonic() - start)
    return PipelineResult("pipelined" if pipelined else "sequential", times, staleness)


def run_real_loop(
    latency: Any,
    *,
    pipelined: bool,
    batches: int = 8,
    batch_size: int = 8,
    group_size: int = 4,
) -> PipelineResult:
    """The same comparison through ``trainers.train.run`` itself (KL reference included)."""
    import json
    import os
    import tempfile
    from pathlib import Path

    import tinker

    from trainers import fake_tinker, train
    from trainers.config import parse_args

    world = fake_tinker.FakeTinker(latency=latency)
    os.environ.setdefault("TINKER_API_KEY", "tml-fake-benchmark")
    real = tinker.ServiceClient
    tinker.ServiceClient = lambda *a, **k: fake_tinker.FakeServiceClient(world, *a, **k)  # type: ignore[assignment,misc]
    try:
        with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
            args = {
                "backend": "tinker",
                "model_name": "Qwen/Qwen3-4B-Instruct-2507",
                "difficulty": "tiny",
                "n_batches": batches,
                "batch_size": batch_size,
                "group_size": group_size,
                "kl_penalty_coef": 0.01,
                "learning_rate": 0.05,
                "max_tokens": 6,
                "eval_n": 8,
                "eval_every": 0,
                "save_every": 0,
                "progress": "false",
                "pipeline": str(pipelined).lower(),
                "log_path": f"{tmp}/run",
            }
            train.run(parse_args([f"{k}={v}" for k, v in args.items()]))
            lines = Path(f"{tmp}/run/metrics.jsonl").read_text().splitlines()
            rows = [json.loads(line) for line in lines]
        world.assert_all_futures_resolved()
    finally:
        tinker.ServiceClient = real  # type: ignore[misc]
        world.shutdown()
    return PipelineResult(
        "pipelined" if pipelined else "sequential",
        [float(r["time/total"]) for r in rows],
        [float(r.get("tinker/staleness", 0.0)) for r in rows],
    )


def write_tiny_chat_model(directory: str | Path, *, steps: int = 60) -> Path:
    """Save a tiny Qwen3 (``trainers.tiny_model``) that answers in the log's format, for servers.

    A self-hosted Tinker-API server (SkyRL) serves a model directory. The random tiny model
    never writes a parseable answer, so every group would score alike and no batch would
    train; a few Adam steps (seconds, offline) on ``"<prompt> The answer is N.<|im_end|>"``
    with N right half the time make it answer in the format with varied numbers, so groups are
    mixed and ``forward_backward`` runs. Used by ``--base-url`` runs of this benchmark and by
    the integration test against SkyRL (``tests/trainers/test_tinker_server.py``).
    """
    import random

    import torch

    from mult_env.prompts import PromptStyle, build_messages
    from trainers.renderers import ChatMLRenderer
    from trainers.tiny_model import build_tiny

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model, tokenizer = build_tiny(seed=0)
        renderer = ChatMLRenderer(tokenizer)
        style = PromptStyle(few_shot=False, assistant_prefix="The answer is")
        problems = ProblemSet((1, 1), seed=123, split="train").take(64)
        rng = random.Random(0)
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(steps):
            rows = []
            for _ in range(16):
                problem = rng.choice(problems)
                answer = problem.answer if rng.random() < 0.5 else rng.randint(1, 81)
                prompt = renderer.build_prompt(build_messages(problem, style), "The answer is")
                completion = tokenizer.encode(f" {answer}.", add_special_tokens=False)
                rows.append((prompt, [*completion, *renderer.stop_token_ids]))
            width = max(len(p) + len(c) for p, c in rows)
            ids = torch.zeros(len(rows), width, dtype=torch.long)
            mask = torch.zeros(len(rows), width, dtype=torch.long)
            labels = torch.full((len(rows), width), -100)
            for i, (prompt, completion) in enumerate(rows):
                full = prompt + completion
                ids[i, : len(full)] = torch.tensor(full)
                mask[i, : len(full)] = 1
                labels[i, len(prompt) : len(full)] = torch.tensor(completion)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
    path = Path(directory)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def run_on_server(
    base_url: str,
    model_name: str,
    *,
    pipelined: bool,
    batches: int = 8,
    batch_size: int = 8,
    group_size: int = 4,
    renderer: str = "qwen3",
) -> PipelineResult:
    """``trainers.train.run`` against a real Tinker-API server at ``base_url`` (KL on).

    The settings suit :func:`write_tiny_chat_model`'s model: 1x1 products, no few-shot turns,
    the answer pre-filled with "The answer is".
    """
    import json
    import tempfile

    from trainers import train
    from trainers.config import parse_args

    with tempfile.TemporaryDirectory(prefix="pipeline-wire-") as tmp:
        args = {
            "backend": "tinker",
            "base_url": base_url,
            "model_name": model_name,
            "renderer": renderer,
            "difficulty": "1x1",
            "few_shot": "false",
            "assistant_prefix": "The answer is",
            "max_tokens": 6,
            "n_batches": batches,
            "batch_size": batch_size,
            "group_size": group_size,
            "lora_rank": 4,
            "learning_rate": 0.001,
            "kl_penalty_coef": 0.01,
            "eval_n": 4,
            "save_every": 0,
            "progress": "false",
            "pipeline": str(pipelined).lower(),
            "log_path": f"{tmp}/run",
        }
        train.run(parse_args([f"{k}={v}" for k, v in args.items()]))
        rows = [
            json.loads(line) for line in Path(f"{tmp}/run/metrics.jsonl").read_text().splitlines()
        ]
    return PipelineResult(
        "pipelined" if pipelined else "sequential",
        [float(r["time/total"]) for r in rows],
        [float(r.get("tinker/staleness", 0.0)) for r in rows],
    )


def markdown_table(results: Sequence[PipelineResult], *, median: bool = False) -> str:
    """Mode, steady-state seconds per batch, total, speed-up over the first row, staleness.

    ``median``: the median of ``batch_seconds`` (already steady-state batches) instead of the
    mean of all but the first.
    """

    def per_batch(r: PipelineResult) -> float:
        return statistics.median(r.batch_seconds) if median else r.mean_s

    base = per_batch(results[0])
    what = "median s/batch (steady)" if median else "s/batch (steady)"
    lines = [
        f"| Mode | {what} | Total s | Speed-up | Mean staleness |",
        "|------|" + "-" * (len(what) + 2) + "|---------|----------|----------------|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {per_batch(r):.2f} | {r.total_s:.2f} | {base / per_batch(r):.2f}x | "
            f"{statistics.fmean(r.staleness):.2f} |"
        )
    return "\n".join(lines)


def _fake_backend(latency: Any) -> tuple[Any, Any]:
    import os
    from types import SimpleNamespace

    import tinker

    from trainers import fake_tinker, tinker_backend

    world = fake_tinker.FakeTinker(latency=latency)
    os.environ.setdefault("TINKER_API_KEY", "tml-fake-benchmark")
    real = tinker.ServiceClient
    tinker.ServiceClient = lambda *a, **k: fake_tinker.FakeServiceClient(world, *a, **k)  # type: ignore[assignment,misc]
    try:
        config = SimpleNamespace(
            model_name="Qwen/Qwen3-4B-Instruct-2507", lora_rank=16, learning_rate=1e-3, seed=0
        )
        backend = tinker_backend.create(config)
    finally:
        tinker.ServiceClient = real  # type: ignore[misc]
    return world, backend


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: both modes on fresh fakes, then the Markdown table."""
    parser = argparse.ArgumentParser(description="Sequential vs pipelined sampling on the fake")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8, help="problems per batch")
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--sample-latency", type=float, default=0.6, help="s per sample request")
    parser.add_argument("--train-latency", type=float, default=0.5, help="s per forward_backward")
    parser.add_argument("--optim-latency", type=float, default=0.05, help="s per optim_step")
    parser.add_argument("--snapshot-latency", type=float, default=0.1, help="s per sampler save")
    parser.add_argument(
        "--real-loop",
        action="store_true",
        help="run trainers.train itself (with the KL reference) instead of the small loop",
    )
    parser.add_argument("--ref-latency", type=float, default=0.2, help="s per compute_logprobs")
    parser.add_argument(
        "--base-url",
        help="measure on a real Tinker-API server instead of the fake (e.g. a SkyRL server)",
    )
    parser.add_argument("--model-name", help="with --base-url: the model the server serves")
    parser.add_argument("--renderer", default="qwen3", help="with --base-url: the chat format")
    parser.add_argument(
        "--warmup-batches",
        type=int,
        default=2,
        help="with --base-url: an untimed pipelined run first (JIT compilation, caches)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="with --base-url: sequential+pipelined rounds"
    )
    parser.add_argument(
        "--write-tiny-model",
        metavar="DIR",
        help="write write_tiny_chat_model()'s model to DIR for a server to serve, and exit",
    )
    args = parser.parse_args(argv)

    if args.write_tiny_model:
        print(write_tiny_chat_model(args.write_tiny_model))
        return 0
    if args.base_url:
        if not args.model_name:
            parser.error("--base-url needs --model-name")
        return _main_on_server(args)

    from trainers.fake_tinker import Latency

    latency = Latency(
        sample=args.sample_latency,
        forward_backward=args.train_latency,
        optim_step=args.optim_latency,
        save=args.snapshot_latency,
        compute_logprobs=args.ref_latency,
    )
    results = []
    for pipelined in (False, True):
        if args.real_loop:
            results.append(
                run_real_loop(
                    latency,
                    pipelined=pipelined,
                    batches=args.batches,
                    batch_size=args.batch_size,
                    group_size=args.group_size,
                )
            )
            continue
        world, backend = _fake_backend(latency)
        try:
            results.append(
                run(
                    backend,
                    pipelined=pipelined,
                    batches=args.batches,
                    batch_size=args.batch_size,
                    group_size=args.group_size,
                )
            )
            world.assert_all_futures_resolved()
        finally:
            world.shutdown()
    print(
        f"fake Tinker, latency per request: sample {args.sample_latency}s, forward_backward "
        f"{args.train_latency}s, optim_step {args.optim_latency}s, sampler snapshot "
        f"{args.snapshot_latency}s, compute_logprobs {args.ref_latency}s; {args.batches} "
        f"batches x {args.batch_size} problems x {args.group_size} samples; "
        f"{'trainers.train.run' if args.real_loop else 'the small loop'}\n"
    )
    print(markdown_table(results))
    return 0


def _main_on_server(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TINKER_API_KEY", "tml-dummy")  # a self-hosted server takes any key

    def measure(pipelined: int, batches: int) -> PipelineResult:
        return run_on_server(
            args.base_url,
            args.model_name,
            pipelined=bool(pipelined),
            batches=batches,
            batch_size=args.batch_size,
            group_size=args.group_size,
            renderer=args.renderer,
        )

    if args.warmup_batches:
        measure(True, args.warmup_batches)
    # Alternate the modes (sequential first in each round) so that neither gets all the
    # server's later, warmer state; report each run and the rounds' pooled batches.
    runs = [measure(pipelined, args.batches) for _ in range(args.rounds) for pipelined in (0, 1)]
    print(
        f"Tinker-API server at {args.base_url}, model {args.model_name}; {args.rounds} round(s) "
        f"of {args.batches} batches x {args.batch_size} problems x {args.group_size} samples "
        "each way; trainers.train.run, KL on\n"
    )
    for run_ in runs:
        print(f"{run_.mode}: s/batch " + " ".join(f"{t:.2f}" for t in run_.batch_seconds))
    pooled = [
        PipelineResult(
            mode,
            [t for r in runs if r.mode == mode for t in r.batch_seconds[1:]],
            [x for r in runs if r.mode == mode for x in r.staleness],
        )
        for mode in ("sequential", "pipelined")
    ]
    print()
    print(markdown_table(pooled, median=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
