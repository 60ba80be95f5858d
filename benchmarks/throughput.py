"""Throughput of mult_env side by side with reasoning-gym's ``products`` dataset, in one run.

Issue 2, item 10. Each measurement times the same amount of work on both sides, in the same
process, interleaved: every round runs reasoning-gym's version and ours back to back (the order
alternating between rounds), and the table reports the median rate over the rounds and the
ratio of the medians. Rounds, not a single long run, because the machine this was written for
is shared with other jobs: interleaving exposes both sides to the same load, and the median
discards rounds hit by a burst of it.

What is compared (3-digit x 3-digit problems on both sides):

problem generation
    reasoning-gym ``dataset[i]`` (a seeded ``random.Random`` per item, question and answer
    strings, metadata) against ``ProblemSet[i]`` (one :class:`Problem` per item, random
    access), ``ProblemSet.take(n)`` (a list of Problems) and ``ProblemSet.arrays(n)``
    (two int64 arrays, no per-item object).
parse + score
    reasoning-gym ``score_answer(extract_answer(completion), entry)`` (a float per item)
    against ``Scorer.score`` (a full :class:`RewardBreakdown`: total, correctness, format term,
    correct, format_ok, digits matched, parsed value, reason), ``Scorer.score_group`` (the same
    breakdowns, one call per GRPO group of 4) and ``Scorer.score_columns`` (the same fields
    in columns, no per-item object, one call per batch of 50 groups: the research log's
    50 problems x 4 samples). Both sides read the *same answer texts* for the same kinds
    of answer (exact, one digit wrong, thousands separators, wrong length, negative, hedged,
    prose, non-ASCII digits), each wrapped in its library's answer format:
    ``<answer>...</answer>`` for reasoning-gym, ``The answer is ....`` for mult_env.
reset + step
    reasoning-gym ``entry = dataset[i]`` then ``score_answer(extract_answer(c), entry)``
    against ``env.reset()`` then ``env.step(c)`` of :class:`MultiplicationEnv`, unwrapped and
    through ``gym.make`` (its wrappers). Ours also renders the few-shot prompt (7 chat
    messages and the plain-text transcript) and returns the info dicts. A reference row runs
    a flat, minimal env that does only the required work (:class:`_FloorEnv`): the floor of
    any pure-Python env with this interface.

Run::

    python -m benchmarks.throughput                  # prints the table, writes the JSON
    python -m benchmarks.throughput --rounds 9 --out /tmp/throughput.json
    python -m benchmarks.throughput --by-kind         # plus parse + score per kind

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for reasoning-gym.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym

import mult_env
from mult_env import ENV_ID, MultiplicationEnv, Problem, ProblemSet, Scorer
from mult_env.rewards import SHAPED_MAX_PARTIAL

__all__ = [
    "COMPLETION_MIX",
    "Row",
    "main",
    "render_kind_table",
    "render_table",
    "run",
    "run_by_kind",
]

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "throughput.json"

COMPLETION_MIX: dict[str, float] = {
    "exact": 0.40,
    "thousands separators": 0.05,
    "one digit wrong": 0.30,
    "wrong length": 0.05,
    "negative": 0.05,
    "hedged": 0.05,
    "prose": 0.05,
    "non-ASCII digits": 0.05,
}
"""Kinds of answer text and their shares, shaped after the research log's training runs
(accuracy 33-49%, format 73-100%): 45% correct (exact or with separators), 80% well-formed."""

_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def answer_text(kind: str, answer: int, rng: random.Random) -> str:
    """The answer text of one completion of ``kind`` for a problem whose product is ``answer``."""
    s = str(answer)
    if kind == "exact":
        return s
    if kind == "one digit wrong":
        i = rng.randrange(len(s))
        choices = [d for d in "0123456789" if d != s[i] and not (i == 0 and d == "0")]
        return s[:i] + rng.choice(choices) + s[i + 1 :]
    if kind == "thousands separators":
        return f"{answer:,}"
    if kind == "wrong length":
        return s[:-1] if rng.random() < 0.5 else s + "0"
    if kind == "negative":
        return "-" + s
    if kind == "hedged":
        return f"{s} or {answer + 1}"
    if kind == "prose":
        return f"I think it is {s}"
    if kind == "non-ASCII digits":
        return s.translate(_ARABIC_INDIC)
    raise ValueError(f"unknown completion kind {kind!r}")


def ours_completion(text: str) -> str:
    """``text`` in mult_env's answer format (the prompt's instruction)."""
    return f"The answer is {text}."


def peer_completion(text: str) -> str:
    """``text`` in reasoning-gym's answer format (what ``extract_answer`` reads)."""
    return f"<answer>{text}</answer>"


def answer_texts(answers: Sequence[int], seed: int) -> list[str]:
    """One answer text per answer, kinds drawn from :data:`COMPLETION_MIX` (deterministic)."""
    rng = random.Random(seed)
    kinds = list(COMPLETION_MIX)
    weights = list(COMPLETION_MIX.values())
    return [answer_text(rng.choices(kinds, weights)[0], a, rng) for a in answers]


CLOCKS = ("cpu", "wall")
"""``cpu``: this process's CPU time (``time.process_time``); ``wall``: ``time.perf_counter``.

On a machine shared with other jobs the wall clock also counts the time the scheduler gave to
them; CPU time counts only ours, so it is the steadier measure of the work done (both sides
are measured the same way, and both clocks are recorded)."""


@dataclass
class Row:
    """One measurement: our side and reasoning-gym's, one rate sample per round and clock."""

    key: str
    label: str
    ours: str
    peer: str
    items: int
    target: float | None
    ours_per_s: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CLOCKS})
    peer_per_s: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CLOCKS})

    def ours_median(self, clock: str = "cpu") -> float:
        return statistics.median(self.ours_per_s[clock])

    def peer_median(self, clock: str = "cpu") -> float:
        return statistics.median(self.peer_per_s[clock])

    def ratio(self, clock: str = "cpu") -> float:
        """Median of ours over median of reasoning-gym's (the figure the targets refer to)."""
        return self.ours_median(clock) / self.peer_median(clock)

    def paired_ratio(self, clock: str = "cpu") -> float:
        """Median over rounds of the within-round ratio (less sensitive to slow drifts)."""
        pairs = zip(self.ours_per_s[clock], self.peer_per_s[clock], strict=True)
        return statistics.median(o / p for o, p in pairs)

    def met(self, clock: str = "cpu") -> bool | None:
        return None if self.target is None else self.ratio(clock) >= self.target

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "ours": self.ours,
            "peer": self.peer,
            "items_per_sample": self.items,
            "target_ratio": self.target,
        }
        for clock in CLOCKS:
            out[clock] = {
                "ours_per_s": self.ours_per_s[clock],
                "peer_per_s": self.peer_per_s[clock],
                "ours_median_per_s": self.ours_median(clock),
                "peer_median_per_s": self.peer_median(clock),
                "ratio": self.ratio(clock),
                "paired_ratio_median": self.paired_ratio(clock),
                "met": self.met(clock),
            }
        return out


def _time(
    fn: Callable[[], object], items: int, prepare: Callable[[], object] | None
) -> dict[str, float]:
    """Items per second of one call of ``fn`` on each clock (``prepare`` and the collector run
    beforehand, untimed)."""
    if prepare is not None:
        prepare()
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"cpu": items / max(cpu, 1e-9), "wall": items / wall}


def _bare_loop(texts: Sequence[str], answers: Sequence[int]) -> None:
    """The CPython floor for parse + score: one fullmatch and the shaped rule, nothing else."""
    fullmatch = re.compile(r"(?:The answer is )?([1-9][0-9]*)\.?", re.ASCII).fullmatch
    out = []
    for text, answer in zip(texts, answers, strict=True):
        m = fullmatch(text)
        if m is None:
            out.append(-0.1)
            continue
        got, want = m.group(1), str(answer)
        if got == want:
            out.append(1.0)
            continue
        k = 0
        if len(got) == len(want):
            for g, w in zip(got, want, strict=True):
                if g != w:
                    break
                k += 1
        out.append(SHAPED_MAX_PARTIAL * k / len(want))


class _FloorEnv(gym.Env[str, str]):
    """The floor of a pure-Python env that does what issue 2 item 6 asks, for reference.

    Written flat, with none of :class:`MultiplicationEnv`'s structure or checks: ``reset``
    takes one raw draw, looks its problem up in the env's lookahead (the cheapest exact
    draw there is), and renders the few-shot prompt (text and 7 fresh chat messages, as
    Gymnasium asks for new data per call); ``step`` strips, runs the answer regex and the
    shaped rule, and returns the required info (parsed, correct, format_ok and the reward
    components), without a rejection reason, the parsed ``int``, argument checks or episode
    bookkeeping. Its problems are the real env's, so its completions fit.
    """

    def __init__(self, env: MultiplicationEnv) -> None:
        from mult_env.parsers import _ANSWER_RE

        self._env = env
        template = env._template
        assert template.parts is not None
        self._parts = (template.head, template.tail, *template.parts)
        self._prior = template.prior
        self._fullmatch = _ANSWER_RE.fullmatch
        self._problem = Problem(0, 0)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._env.np_random = self.np_random  # the env's lookahead follows this generator
        _, problem = self._env._draw()
        head, tail, p0, p1, p2 = self._parts
        question = f"{p0}{problem.a}{p1}{problem.b}{p2}"
        messages = list(map(dict.copy, self._prior))
        messages.append({"role": "user", "content": question})
        self._problem = problem
        return head + question + tail, {"messages": messages, "problem": problem}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        problem = self._problem
        want = str(problem.a * problem.b)
        n = len(want)
        match = self._fullmatch(action.strip())
        if match is None:
            info = {"total": -0.1, "correctness": 0.0, "format_penalty": -0.1, "correct": False}
            info |= {"format_ok": False, "digits_matched": 0, "parsed": None, "problem": problem}
            return "", -0.1, True, False, info
        digits = match[1].replace(",", "")
        k = 0
        if digits == want:
            credit, k = 1.0, n
        else:
            if len(digits) == n:
                while digits[k] == want[k]:
                    k += 1
            credit = SHAPED_MAX_PARTIAL * k / n
        info = {"total": credit, "correctness": credit, "format_penalty": 0.0}
        info |= {"correct": k == n, "format_ok": True, "digits_matched": k, "parsed": digits}
        info["problem"] = problem
        return "", credit, True, False, info


def run(
    rounds: int = 7,
    problems: int = 20_000,
    completions: int = 20_000,
    episodes: int = 10_000,
    group_size: int = 4,
    batch_groups: int = 50,
    seed: int = 42,
    log: Callable[[str], None] | None = None,
) -> list[Row]:
    """Measure every row for ``rounds`` interleaved rounds and return them."""
    try:
        import reasoning_gym
        from reasoning_gym.utils import extract_answer
    except ImportError as e:  # pragma: no cover - the bench extra is installed where this runs
        raise SystemExit(
            "benchmarks/throughput.py needs reasoning-gym: pip install -e '.[bench]'"
        ) from e
    if min(rounds, problems, completions, episodes, group_size, batch_groups) < 1:
        raise ValueError("rounds, sizes and group size must be positive")
    completions -= completions % group_size
    if completions == 0:
        raise ValueError("completions must be at least group_size")
    size = max(problems, completions, episodes)
    dataset = reasoning_gym.create_dataset(
        "products", min_terms=2, max_terms=2, min_digits=3, max_digits=3, seed=seed, size=size
    )
    problem_set = ProblemSet("medium", seed=seed)

    # parse + score inputs: groups of `group_size` completions, one problem per group
    groups = completions // group_size
    our_problems = problem_set.take(groups)
    peer_entries = [dataset[g] for g in range(groups)]
    our_answers = [our_problems[i // group_size].answer for i in range(completions)]
    peer_answers = [int(peer_entries[i // group_size]["answer"]) for i in range(completions)]
    our_texts = [ours_completion(t) for t in answer_texts(our_answers, seed)]
    peer_texts = [peer_completion(t) for t in answer_texts(peer_answers, seed)]
    item_problems = [our_problems[i // group_size] for i in range(completions)]
    item_entries = [peer_entries[i // group_size] for i in range(completions)]
    scorer = Scorer()  # the defaults: answer parser, shaped reward, format_coef 0.1

    # reset + step inputs: the env's own problem sequence (seeded), completions for it
    env = MultiplicationEnv(difficulty="medium", problem_seed=seed)
    made = gym.make(ENV_ID, difficulty="medium", problem_seed=seed)
    env.reset(seed=seed)
    env_problems = [env.reset()[1]["problem"] for _ in range(episodes)]
    env_texts = [
        ours_completion(t) for t in answer_texts([p.answer for p in env_problems], seed + 1)
    ]
    step_entries_answers = [int(dataset[i]["answer"]) for i in range(episodes)]
    step_peer_texts = [peer_completion(t) for t in answer_texts(step_entries_answers, seed + 1)]
    made.reset(seed=seed)
    made.step(env_texts[0])  # the passive env checker's one-off checks, outside the timing
    floor_env = _FloorEnv(MultiplicationEnv(difficulty="medium", problem_seed=seed))

    def peer_generate() -> None:
        for i in range(problems):
            dataset[i]

    def ours_getitem() -> None:
        for i in range(problems):
            problem_set[i]

    def peer_score() -> None:
        score_answer = dataset.score_answer
        for text, entry in zip(peer_texts, item_entries, strict=True):
            score_answer(extract_answer(text), entry)

    def ours_score() -> None:
        score = scorer.score
        for text, problem in zip(our_texts, item_problems, strict=True):
            score(text, problem)

    def ours_group(method: Callable[[Sequence[str], Problem], object]) -> Callable[[], None]:
        def go() -> None:
            for g, problem in enumerate(our_problems):
                method(our_texts[g * group_size : (g + 1) * group_size], problem)

        return go

    batch = batch_groups * group_size

    def ours_batches() -> None:
        score_columns = scorer.score_columns
        for start in range(0, completions, batch):
            score_columns(our_texts[start : start + batch], item_problems[start : start + batch])

    def peer_reset_step() -> None:
        score_answer = dataset.score_answer
        for i, text in enumerate(step_peer_texts):
            entry = dataset[i]
            score_answer(extract_answer(text), entry)

    def ours_reset_step(e: gym.Env[str, str]) -> Callable[[], None]:
        def go() -> None:
            reset, step = e.reset, e.step
            for text in env_texts:
                reset()
                step(text)

        return go

    peer_gen = "`dataset[i]`"
    peer_ps = "`score_answer(extract_answer(c), entry)`"
    peer_rs = "`dataset[i]` + `score_answer(extract_answer(c), entry)`"
    # (row, peer callable, our callable); each row times its own peer run, so every ratio
    # compares two runs made back to back
    plan: list[tuple[Row, Callable[[], None], Callable[[], object]]] = [
        (
            Row(
                "gen_item",
                "problem generation, per item",
                "`ProblemSet[i]`",
                peer_gen,
                problems,
                5.0,
            ),
            peer_generate,
            ours_getitem,
        ),
        (
            Row(
                "gen_take",
                "problem generation, list",
                "`ProblemSet.take(n)`",
                peer_gen,
                problems,
                5.0,
            ),
            peer_generate,
            lambda: problem_set.take(problems),
        ),
        (
            Row(
                "gen_arrays",
                "problem generation, arrays",
                "`ProblemSet.arrays(n)`",
                peer_gen,
                problems,
                5.0,
            ),
            peer_generate,
            lambda: problem_set.arrays(problems),
        ),
        (
            Row(
                "score_item", "parse + score, per item", "`Scorer.score`", peer_ps, completions, 3.0
            ),
            peer_score,
            ours_score,
        ),
        (
            Row(
                "score_group",
                f"parse + score, groups of {group_size}",
                "`Scorer.score_group`",
                peer_ps,
                completions,
                3.0,
            ),
            peer_score,
            ours_group(scorer.score_group),
        ),
        (
            Row(
                "score_columns",
                f"parse + score, batches of {batch_groups} groups of {group_size}, columns",
                "`Scorer.score_columns`",
                peer_ps,
                completions,
                3.0,
            ),
            peer_score,
            ours_batches,
        ),
        (
            Row(
                "floor",
                "parse + score, bare CPython loop (reference)",
                "fullmatch + shaped rule only",
                peer_ps,
                completions,
                None,
            ),
            peer_score,
            lambda: _bare_loop(our_texts, our_answers),
        ),
        (
            Row(
                "env_unwrapped",
                "reset + step, unwrapped env",
                "`env.reset()` + `env.step(c)`",
                peer_rs,
                episodes,
                3.0,
            ),
            peer_reset_step,
            ours_reset_step(env),
        ),
        (
            Row(
                "env_gym_make",
                "reset + step, `gym.make` env",
                "`env.reset()` + `env.step(c)`",
                peer_rs,
                episodes,
                None,
            ),
            peer_reset_step,
            ours_reset_step(made),
        ),
        (
            Row(
                "env_floor",
                "reset + step, flat minimal env (reference)",
                "required work only, written flat",
                peer_rs,
                episodes,
                None,
            ),
            peer_reset_step,
            ours_reset_step(floor_env),
        ),
    ]
    # reseeding puts the env back at the start of the problem sequence its completions match
    prepare: dict[str, Callable[[], object]] = {
        "env_unwrapped": lambda: env.reset(seed=seed),
        "env_gym_make": lambda: made.reset(seed=seed),
        "env_floor": lambda: floor_env.reset(seed=seed),
    }
    for r in range(rounds):
        for row, peer, ours in plan:
            sides = [("peer", peer), ("ours", ours)]
            if r % 2:
                sides.reverse()
            for side, fn in sides:
                rates = _time(fn, row.items, prepare.get(row.key) if side == "ours" else None)
                samples = row.peer_per_s if side == "peer" else row.ours_per_s
                for clock in CLOCKS:
                    samples[clock].append(rates[clock])
        if log:
            log(f"round {r + 1}/{rounds} done")
    return [row for row, _, _ in plan]


def run_by_kind(
    rounds: int = 7,
    completions: int = 4_000,
    group_size: int = 4,
    batch_groups: int = 50,
    seed: int = 42,
) -> list[Row]:
    """Parse + score per kind of completion: where the mixed ratio of :func:`run` comes from.

    For each kind of :data:`COMPLETION_MIX` alone, reasoning-gym's per-item
    ``score_answer(extract_answer(c), entry)`` against ``Scorer.score_columns`` on batches,
    interleaved as in :func:`run`. No targets: the targets are about the mix.
    """
    import reasoning_gym
    from reasoning_gym.utils import extract_answer

    completions -= completions % group_size
    if min(rounds, completions, group_size, batch_groups) < 1:
        raise ValueError("rounds and sizes must be positive, completions >= group_size")
    groups = completions // group_size
    dataset = reasoning_gym.create_dataset(
        "products", min_terms=2, max_terms=2, min_digits=3, max_digits=3, seed=seed, size=groups
    )
    our_problems = ProblemSet("medium", seed=seed).take(groups)
    items = [our_problems[i // group_size] for i in range(completions)]
    entries = [dataset[i // group_size] for i in range(completions)]
    scorer = Scorer()
    batch = batch_groups * group_size

    def peer_scoring(texts: list[str]) -> Callable[[], None]:
        def go() -> None:
            score_answer = dataset.score_answer
            for text, entry in zip(texts, entries, strict=True):
                score_answer(extract_answer(text), entry)

        return go

    def ours_scoring(texts: list[str]) -> Callable[[], None]:
        def go() -> None:
            for start in range(0, completions, batch):
                scorer.score_columns(texts[start : start + batch], items[start : start + batch])

        return go

    plan: list[tuple[Row, Callable[[], None], Callable[[], None]]] = []
    for kind in COMPLETION_MIX:
        rng = random.Random(seed)
        ours = [ours_completion(answer_text(kind, p.answer, rng)) for p in items]
        rng = random.Random(seed)
        peer = [peer_completion(answer_text(kind, int(e["answer"]), rng)) for e in entries]

        example = ours_completion(answer_text(kind, 248171, random.Random(seed)))
        row = Row(
            f"kind:{kind}", kind, f"`{example}`", "same text in `<answer>`", completions, None
        )
        plan.append((row, peer_scoring(peer), ours_scoring(ours)))
    for r in range(rounds):
        for row, peer_fn, ours_fn in plan:
            sides = [("peer", peer_fn), ("ours", ours_fn)]
            if r % 2:
                sides.reverse()
            for side, fn in sides:
                rates = _time(fn, row.items, None)
                samples = row.peer_per_s if side == "peer" else row.ours_per_s
                for clock in CLOCKS:
                    samples[clock].append(rates[clock])
    return [row for row, _, _ in plan]


def render_kind_table(rows: Sequence[Row], clock: str = "cpu") -> str:
    """Markdown table of :func:`run_by_kind`: share in the mix, both medians, the ratio."""
    lines = [
        "| kind (share of the mix) | example (answer 248171) | `Scorer.score_columns` "
        "| reasoning-gym | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} ({COMPLETION_MIX[row.label]:.0%}) | {row.ours} "
            f"| {_rate(row.ours_median(clock))} | {_rate(row.peer_median(clock))} "
            f"| {row.ratio(clock):.2f}x |"
        )
    return "\n".join(lines)


def _rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M/s"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k/s"
    return f"{x:.0f} /s"


def render_table(rows: Sequence[Row], clock: str = "cpu") -> str:
    """The Markdown table: medians of each side on ``clock``, their ratio, the target and
    whether it is met, and the ratio on the other clock for comparison."""
    other = "wall" if clock == "cpu" else "cpu"
    lines = [
        f"| measurement | mult_env | median | reasoning-gym | median | ratio | target "
        f"| ratio ({other} clock) |",
        "|---|---|---:|---|---:|---:|---|---:|",
    ]
    for row in rows:
        met = row.met(clock)
        target = (
            "(reference)"
            if met is None
            else f">= {row.target:g}x: " + ("met" if met else "**NOT met**")
        )
        lines.append(
            f"| {row.label} | {row.ours} | {_rate(row.ours_median(clock))} | {row.peer} | "
            f"{_rate(row.peer_median(clock))} | {row.ratio(clock):.2f}x | {target} "
            f"| {row.ratio(other):.2f}x |"
        )
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "mult_env": mult_env.__version__}
    for dist in ("reasoning-gym", "gymnasium", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[dist] = "not installed"
    return out


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            models = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if models:
            info["cpu_model"] = models[0]
    except OSError:  # pragma: no cover - not Linux
        pass
    if hasattr(os, "getloadavg"):
        info["loadavg"] = list(os.getloadavg())
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description="mult_env throughput side by side with reasoning-gym's products dataset: "
        "problem generation, parse + score, reset + step. Prints a Markdown table of medians "
        "and ratios and writes the raw samples as JSON.",
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument(
        "--problems", type=int, default=20_000, help="problems generated per sample (default 20000)"
    )
    parser.add_argument(
        "--completions",
        type=int,
        default=20_000,
        help="completions scored per sample (default 20000)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=10_000,
        help="reset + step episodes per sample (default 10000)",
    )
    parser.add_argument(
        "--group-size",
        type=int,
        default=4,
        help="completions per problem, as GRPO groups (default 4, the research log's)",
    )
    parser.add_argument(
        "--batch-groups",
        type=int,
        default=50,
        help="groups per batch for the columns path (default 50, the research log's)",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of both datasets (default 42)")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where to write the JSON (default benchmarks/results/throughput.json)",
    )
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="cpu",
        help="clock of the table (both are recorded): cpu = this process's CPU time, steadier "
        "on a shared machine (default); wall = elapsed time",
    )
    parser.add_argument(
        "--by-kind",
        action="store_true",
        help="also time parse + score for each kind of completion alone (a second table)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    load_before = _machine().get("loadavg")
    started = time.time()
    rows = run(
        rounds=args.rounds,
        problems=args.problems,
        completions=args.completions,
        episodes=args.episodes,
        group_size=args.group_size,
        batch_groups=args.batch_groups,
        seed=args.seed,
        log=None if args.quiet else (lambda msg: print(msg, file=sys.stderr)),
    )
    table = render_table(rows, args.clock)
    print(table)
    targets = [row for row in rows if row.target is not None]
    met = all(row.met(args.clock) for row in targets)
    print(
        f"\n{sum(bool(row.met(args.clock)) for row in targets)}/{len(targets)} target rows met "
        f"({args.clock} clock, medians of {args.rounds} interleaved rounds; "
        "ratio = mult_env / reasoning-gym)."
    )
    kind_rows: list[Row] = []
    if args.by_kind:
        kind_rows = run_by_kind(
            rounds=args.rounds,
            group_size=args.group_size,
            batch_groups=args.batch_groups,
            seed=args.seed,
        )
        print("\nParse + score by kind of completion:\n")
        print(render_kind_table(kind_rows, args.clock))
    result = {
        "benchmark": "mult_env throughput vs reasoning-gym products (3x3 digits)",
        "command": " ".join(["python -m benchmarks.throughput", *(argv or sys.argv[1:])]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {**_machine(), "loadavg_before": load_before},
        "versions": _versions(),
        "config": {
            "rounds": args.rounds,
            "problems": args.problems,
            "completions": args.completions - args.completions % args.group_size,
            "episodes": args.episodes,
            "group_size": args.group_size,
            "batch_groups": args.batch_groups,
            "seed": args.seed,
            "clock": args.clock,
            "completion_mix": COMPLETION_MIX,
        },
        "rows": [row.to_json() for row in rows],
        "by_kind": [row.to_json() for row in kind_rows],
        "all_targets_met": met,
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
