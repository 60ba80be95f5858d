"""The viability curriculum against fixed difficulties, at equal wall time, on SmolLM2.

Three conditions, each a normal ``python -m trainers.train`` run with the same wall-clock budget
(``time_limit_min``, model load and the run's own evaluations included):

* ``curriculum``: ``curriculum=viability,window=16`` (starts on 1x1, moves by the log's viability
  zones; a 16-group window, two batches, so a short run gets several decisions);
* ``fixed-2x1``: ``difficulty=2x1`` (the local main job);
* ``fixed-2x2``: ``difficulty=2x2``.

Conditions alternate within each seed (the order rotates with the seed), so a change in the
machine's load hits every condition alike. After training, one process loads the model once
and evaluates the base model and every run's last checkpoint greedily on the same held-out
problems of each rung in ``--rungs`` (test split, seed 0). It prints, per condition (mean over
seeds, and per seed): mean ``frac_mixed`` over the run's batches, the highest rung whose
held-out accuracy is at least 20%, held-out accuracy on 2x2, and batches trained. Usage::

    nice -n 10 python -m benchmarks.curriculum --out runs/curriculum-bench --minutes 5 \
        --rungs 1x1,2x1,2x2 --eval-n 50 eval_n=20
    python -m benchmarks.curriculum --out runs/curriculum-bench --eval-only   # re-evaluate

Runs whose directory already holds ``DONE`` are not trained again, and evaluations already in
``results.jsonl`` are not repeated, so an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CONDITIONS: dict[str, list[str]] = {
    "curriculum": ["curriculum=viability,window=16", "difficulty=2x2"],
    "fixed-2x1": ["difficulty=2x1"],
    "fixed-2x2": ["difficulty=2x2"],
}
"""Config overrides per condition (everything else is the local main job's default)."""

THRESHOLD = 0.20
"""The log's bottom of the best zone: a rung counts as learnt at this held-out accuracy."""


def run_dir(out: Path, condition: str, seed: int) -> Path:
    return out / f"{condition}-seed{seed}"


def train_all(
    out: Path, conditions: Sequence[str], seeds: Sequence[int], minutes: float, extra: list[str]
) -> None:
    """Train every (condition, seed) not done yet, alternating conditions within a seed."""
    for k, seed in enumerate(seeds):
        order = list(conditions[k % len(conditions) :]) + list(conditions[: k % len(conditions)])
        for condition in order:
            path = run_dir(out, condition, seed)
            if (path / "DONE").exists():
                continue
            args = [
                *CONDITIONS[condition],
                f"seed={seed}",
                f"time_limit_min={minutes}",
                "n_batches=10000",
                "save_every=0",
                "progress=false",
                f"log_path={path}",
                "behavior_if_log_dir_exists=delete",
                *extra,
            ]
            t0 = time.perf_counter()
            print(f"[{time.strftime('%H:%M:%S')}] train {condition} seed {seed}", flush=True)
            subprocess.run([sys.executable, "-m", "trainers.train", *args], check=True)
            print(f"  {time.perf_counter() - t0:.0f} s", flush=True)


def _last_state(path: Path) -> str:
    rows = [json.loads(line) for line in (path / "checkpoints.jsonl").read_text().splitlines()]
    return str([r for r in rows if "state_path" in r][-1]["state_path"])


def evaluate_all(
    out: Path, conditions: Sequence[str], seeds: Sequence[int], rungs: Sequence[str], n: int
) -> None:
    """Held-out accuracy of the base model and every run on every rung (one model load)."""
    from mult_env import ProblemSet
    from trainers.config import TrainConfig
    from trainers.local_backend import create
    from trainers.train import evaluate

    results = out / "results.jsonl"
    done = set()
    if results.exists():
        done = {json.loads(line)["run"] for line in results.read_text().splitlines()}
    todo = [run_dir(out, c, s) for s in seeds for c in conditions]
    todo = [p for p in todo if p.name not in done and (p / "DONE").exists()]
    if "base" in done and not todo:
        return
    config = TrainConfig.from_json(
        (todo or [run_dir(out, conditions[0], seeds[0])])[0] / "config.json"
    )
    config.log_path = str(out / "eval-scratch")
    backend = create(config)
    tests = {r: ProblemSet(r, seed=0, split="test").take(n) for r in rungs}

    def record(name: str) -> None:
        row: dict[str, Any] = {"run": name}
        for rung, problems in tests.items():
            row[rung] = evaluate(backend, problems, config, examples=0)["accuracy"]
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"  eval {name}: {row}", flush=True)

    if "base" not in done:
        record("base")  # the fresh adapter is the identity: LoRA's B starts at zero
    for path in todo:
        backend.load_state(_last_state(path))
        record(path.name)


def table(out: Path, conditions: Sequence[str], seeds: Sequence[int], rungs: Sequence[str]) -> str:
    """The comparison as Markdown."""
    from trainers.report import load_run, summarize

    rows = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["run"]] = row

    def highest(row: dict[str, Any]) -> str:
        learnt = [r for r in rungs if row.get(r, 0.0) >= THRESHOLD]
        return learnt[-1] if learnt else "none"

    lines = [
        f"Held-out accuracy: greedy, {len(rungs)} rungs, test split (seed 0).",
        "",
        "| Condition | Seed | Batches | Mean frac_mixed | Rungs trained on | "
        + " | ".join(f"Held-out {r}" for r in rungs)
        + " | Highest rung >= 20% |",
        "|---|---|---|---|---|" + "---|" * len(rungs) + "---|",
    ]
    base = rows.get("base")
    if base:
        lines.append(
            "| base model | - | 0 | - | - | "
            + " | ".join(f"{100 * base[r]:.0f}%" for r in rungs)
            + f" | {highest(base)} |"
        )
    for condition in conditions:
        agg: dict[str, list[float]] = {"batches": [], "mixed": [], **{r: [] for r in rungs}}
        for seed in seeds:
            path = run_dir(out, condition, seed)
            row = rows.get(path.name)
            if row is None:
                continue
            run = load_run(path)
            s = summarize(run)
            course = sorted({m.get("curriculum/difficulty", "") for m in run["metrics"]} - {""})
            trained_on = ", ".join(course) or run["config"]["difficulty"]
            agg["batches"].append(s["n_batches"])
            agg["mixed"].append(s["frac_mixed"])
            for r in rungs:
                agg[r].append(row[r])
            lines.append(
                f"| {condition} | {seed} | {s['n_batches']} | {100 * s['frac_mixed']:.0f}% | "
                f"{trained_on} | "
                + " | ".join(f"{100 * row[r]:.0f}%" for r in rungs)
                + f" | {highest(row)} |"
            )
        if agg["batches"]:
            k = len(agg["batches"])
            mean = {r: sum(agg[r]) / k for r in rungs}
            lines.append(
                f"| **{condition} (mean of {k})** | | {sum(agg['batches']) / k:.1f} | "
                f"**{100 * sum(agg['mixed']) / k:.0f}%** | | "
                + " | ".join(f"**{100 * mean[r]:.1f}%**" for r in rungs)
                + f" | **{highest(mean)}** |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/curriculum-bench"))
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--minutes", type=float, default=3.0, help="wall time per run")
    parser.add_argument("--rungs", default="1x1,2x1,2x2,3x2", help="held-out rungs")
    parser.add_argument("--eval-n", type=int, default=100, help="held-out problems per rung")
    parser.add_argument("--eval-only", action="store_true", help="skip training")
    parser.add_argument("extra", nargs="*", help="key=value overrides for every run")
    args = parser.parse_args(argv)
    conditions = args.conditions.split(",")
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        parser.error(f"unknown conditions {unknown}; choose from {list(CONDITIONS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    rungs = args.rungs.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not args.eval_only:
        train_all(args.out, conditions, seeds, args.minutes, args.extra)
    evaluate_all(args.out, conditions, seeds, rungs, args.eval_n)
    text = table(args.out, conditions, seeds, rungs)
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
