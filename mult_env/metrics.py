"""Group and batch statistics, the research log's windows, and its RL-viability zones.

A *group* is one problem sampled several times (a GRPO group). Group-relative advantages
only carry signal when a group's rewards differ, so the share of such *mixed* groups is the
key health metric of a run (the log: ``frac_mixed`` > 25-30% means good learning signal).
Classification follows tinker-cookbook: a group whose rewards are all equal is *all good* if
that reward is at least 0.5, else *all bad*; any other group is *mixed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mult_env.rewards import RewardBreakdown

__all__ = [
    "VIABILITY_ZONES",
    "GroupStats",
    "batch_metrics",
    "best_window",
    "group_stats",
    "peak",
    "viability",
    "windows",
]

GOOD_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Summary of one group (one problem, ``size`` completions)."""

    size: int
    accuracy: float
    format_rate: float
    reward_mean: float
    mixed: bool
    all_good: bool
    all_bad: bool


def group_stats(group: Sequence[RewardBreakdown]) -> GroupStats:
    """Accuracy, format rate, mean reward and signal class of one group."""
    if not group:
        raise ValueError("a group needs at least one scored completion")
    n = len(group)
    totals = [r.total for r in group]
    uniform = all(t == totals[0] for t in totals)
    return GroupStats(
        size=n,
        accuracy=sum(r.correct for r in group) / n,
        format_rate=sum(r.format_ok for r in group) / n,
        reward_mean=sum(totals) / n,
        mixed=not uniform,
        all_good=uniform and totals[0] >= GOOD_THRESHOLD,
        all_bad=uniform and totals[0] < GOOD_THRESHOLD,
    )


def batch_metrics(groups: Sequence[Sequence[RewardBreakdown]]) -> dict[str, float]:
    """Per-batch metrics over groups: sample-weighted rates and group-signal fractions.

    Keys: ``reward_mean``, ``accuracy``, ``format_rate`` (over all completions) and
    ``frac_mixed``, ``frac_all_good``, ``frac_all_bad`` (over groups; they sum to 1).
    """
    if not groups:
        raise ValueError("a batch needs at least one group")
    stats = [group_stats(g) for g in groups]
    n = sum(s.size for s in stats)
    return {
        "reward_mean": sum(s.reward_mean * s.size for s in stats) / n,
        "accuracy": sum(s.accuracy * s.size for s in stats) / n,
        "format_rate": sum(s.format_rate * s.size for s in stats) / n,
        "frac_mixed": sum(s.mixed for s in stats) / len(stats),
        "frac_all_good": sum(s.all_good for s in stats) / len(stats),
        "frac_all_bad": sum(s.all_bad for s in stats) / len(stats),
    }


def windows(values: Sequence[float], size: int = 10) -> list[tuple[int, int, float]]:
    """Consecutive non-overlapping windows ``(first, last, mean)``, as in the log's tables.

    "Batches 0-9", "Batches 10-19", ...; a shorter final window is kept.
    """
    if size < 1:
        raise ValueError("window size must be positive")
    out = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        out.append((start, start + len(chunk) - 1, sum(chunk) / len(chunk)))
    return out


def peak(values: Sequence[float]) -> tuple[int, float]:
    """``(index, value)`` of the maximum; the first one on ties."""
    if not values:
        raise ValueError("peak of an empty sequence")
    index = max(range(len(values)), key=lambda i: (values[i], -i))
    return index, values[index]


def best_window(values: Sequence[float], size: int = 10) -> tuple[int, int, float]:
    """The sliding window of ``size`` consecutive values with the highest mean.

    Returns ``(first, last, mean)``, e.g. the log's "best 10-batch window: 41.9% (batches
    69-78)". With fewer than ``size`` values the whole sequence is the window.
    """
    if not values:
        raise ValueError("best_window of an empty sequence")
    size = min(size, len(values))
    total = best = sum(values[:size])
    best_start = 0
    for start in range(1, len(values) - size + 1):
        total += values[start + size - 1] - values[start - 1]
        if total > best + 1e-12:
            best, best_start = total, start
    return best_start, best_start + size - 1, best / size


VIABILITY_ZONES: tuple[tuple[float, str], ...] = (
    (0.05, "No learning (guessing)"),
    (0.20, "Slow/unreliable"),
    (0.50, "Best zone (good variance)"),
    (0.80, "Good, faster saturation"),
    (float("inf"), "Diminishing returns"),
)
"""The log's RL-viability guidelines: ``(upper bound of base accuracy, outcome)``."""


def viability(base_accuracy: float) -> str:
    """The log's expected RL outcome for a model with this base accuracy (a fraction 0..1).

    0-5%: no learning; 5-20%: slow/unreliable; 20-50%: best zone; 50-80%: good, faster
    saturation; 80%+: diminishing returns. Each bound belongs to the zone above it.
    """
    if not 0.0 <= base_accuracy <= 1.0:
        raise ValueError(f"base_accuracy must be a fraction in [0, 1], got {base_accuracy!r}")
    for upper, zone in VIABILITY_ZONES:
        if base_accuracy < upper:
            return zone
    raise AssertionError("unreachable")
