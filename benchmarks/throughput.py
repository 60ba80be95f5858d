"""mult_env's env throughput side by side with reasoning-gym's ``products`` (3x3), in one run.

Scoring is a rounding error in RL (a batch spends its time sampling and updating), so this only
guards a floor: each row at least as fast as reasoning-gym's equivalent. Rows: generation
(``ProblemSet[i]`` / ``dataset[i]``); parse + score (``Scorer().score``, a full breakdown /
``score_answer(extract_answer(c), entry)``, a float) on the same answers, each in its library's
format; reset + step (the unwrapped env: few-shot prompt, chat messages, info / ``dataset[i]``
then scoring). Answers follow the log's mix (40 % exact, 80 % well-formed). Rounds alternate the
sides and time CPU, not wall clock (the machine is shared); the table gives medians and ratios.
``--run-dir`` adds the share of a real RL batch spent scoring, from its ``metrics.jsonl``.

    python -m benchmarks.throughput --json throughput.json [--run-dir runs/multiply-2x1-...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mult_env import MultiplicationEnv, ProblemSet, Scorer

FLOOR = 1.0
MIX: list[Callable[[int], str]] = [
    *[str] * 8,  # exact: 40 %, as in the log's training runs (accuracy 33-49 %)
    *[lambda a: str(a + 10)] * 6,  # one digit wrong: 30 %
    lambda a: f"{a:,}",  # thousands separators
    lambda a: str(a * 10),  # wrong length
    lambda a: f"-{a}",  # negative
    lambda a: f"{a} or {a + 1}",  # hedged
    lambda a: f"I think it is {a}",  # prose
    lambda a: str(a).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # non-ASCII digits
]
"""Kinds of answer, 5 % each unless noted: 80 % well-formed, like the log's runs."""


def answer_texts(answers: Sequence[int]) -> list[str]:
    """One answer text per answer, cycling through :data:`MIX`."""
    return [MIX[i % len(MIX)](a) for i, a in enumerate(answers)]


def measure(n: int, rounds: int) -> list[dict[str, Any]]:
    """Median items per second of each side of each row, over alternating rounds."""
    import reasoning_gym
    from reasoning_gym.utils import extract_answer

    dataset = reasoning_gym.create_dataset(
        "products", min_terms=2, max_terms=2, min_digits=3, max_digits=3, seed=42, size=n
    )
    problems = ProblemSet("medium", seed=42).take(n)
    entries = [dataset[i] for i in range(n)]
    ours_texts = [f"The answer is {t}." for t in answer_texts([p.answer for p in problems])]
    peer_texts = [
        f"<answer>{t}</answer>" for t in answer_texts([int(e["answer"]) for e in entries])
    ]
    scorer, score_answer = Scorer(), dataset.score_answer
    env = MultiplicationEnv(difficulty="medium")
    env.reset(seed=42)
    problem_set = env.problems

    def reset_step() -> None:
        for text in ours_texts:  # a wrong answer for most problems; scored all the same
            env.reset()
            env.step(text)

    rows: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "generation",
            lambda: [problem_set[i] for i in range(n)],
            lambda: [dataset[i] for i in range(n)],
        ),
        (
            "parse + score",
            lambda: [scorer.score(t, p) for t, p in zip(ours_texts, problems, strict=True)],
            lambda: [
                score_answer(extract_answer(t), e) for t, e in zip(peer_texts, entries, strict=True)
            ],
        ),
        (
            "reset + step",
            reset_step,
            lambda: [score_answer(extract_answer(peer_texts[i]), dataset[i]) for i in range(n)],
        ),
    ]
    results = []
    for name, ours, peer in rows:
        rates: dict[str, list[float]] = {"ours": [], "peer": []}
        for r in range(rounds):
            for side, fn in (("ours", ours), ("peer", peer))[:: 1 if r % 2 else -1]:
                start = time.process_time()  # CPU time: other jobs' time slices don't count
                fn()
                rates[side].append(n / (time.process_time() - start))
        ours_s, peer_s = statistics.median(rates["ours"]), statistics.median(rates["peer"])
        results.append(
            {"row": name, "ours_per_s": ours_s, "peer_per_s": peer_s, "ratio": ours_s / peer_s}
        )
    return results


def scoring_share(run_dir: Path) -> dict[str, float]:
    """Median seconds per batch spent scoring and in the whole batch, from ``metrics.jsonl``."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "time/score" in r and "time/total" in r]
    if not rows:
        raise SystemExit(f"{run_dir}/metrics.jsonl has no batch with time/score and time/total")
    score = statistics.median(r["time/score"] for r in rows)
    total = statistics.median(r["time/total"] for r in rows)
    return {"batches": len(rows), "score_s": score, "batch_s": total, "share": score / total}


def table(results: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| row | mult_env | reasoning-gym | ratio | floor |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = "met" if r["ratio"] >= FLOOR else "**not met**"
        lines.append(
            f"| {r['row']} | {r['ours_per_s'] / 1e3:,.1f} k/s | {r['peer_per_s'] / 1e3:,.1f} k/s"
            f" | {r['ratio']:.2f}x | >= {FLOOR:.1f}x: {verdict} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="items per round and row")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per row")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--run-dir", type=Path, help="a training run: report its scoring share")
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        parser.error("-n and --rounds must be positive")
    results = measure(args.n, args.rounds)
    out: dict[str, Any] = {"n": args.n, "rounds": args.rounds, "rows": results}
    out["floor_met"] = all(r["ratio"] >= FLOOR for r in results)
    print(table(results))
    if args.run_dir:
        share = out["scoring_share"] = scoring_share(args.run_dir)
        print(
            f"\nScoring in {args.run_dir}: {share['score_s'] * 1e3:.2f} ms of a "
            f"{share['batch_s']:.2f} s batch ({share['share']:.3%}, median of "
            f"{share['batches']} batches)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
