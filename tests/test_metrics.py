from __future__ import annotations

import pytest

from mult_env.metrics import batch_metrics, best_window, group_stats, peak, viability, windows
from mult_env.problems import Problem
from mult_env.rewards import Scorer

P = Problem(847, 293)
scorer = Scorer()


def group(*completions: str):
    return scorer.score_group(list(completions), P)


def test_group_classes() -> None:
    assert group_stats(group("248171", "248171")).all_good
    assert group_stats(group("1", "2")).all_bad
    assert group_stats(group("x", "x")).all_bad
    mixed = group_stats(group("248171", "x", "248171", "248000"))
    assert mixed.mixed and mixed.accuracy == 0.5 and mixed.format_rate == 0.75


def test_batch_metrics_fractions_sum_to_one() -> None:
    m = batch_metrics([group("248171"), group("x", "x"), group("248171", "1")])
    assert m["frac_all_good"] == m["frac_all_bad"] == m["frac_mixed"] == pytest.approx(1 / 3)
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["format_rate"] == pytest.approx(3 / 5)


def test_empty_inputs_are_errors() -> None:
    with pytest.raises(ValueError):
        batch_metrics([])
    with pytest.raises(ValueError):
        group_stats([])


def test_windows_peak_best_window() -> None:
    values = [0.1 * (i % 7) for i in range(25)]
    assert windows(values)[0] == (0, 9, pytest.approx(sum(values[:10]) / 10))
    assert windows(values)[-1][:2] == (20, 24)
    assert peak([0.3, 0.49, 0.2, 0.49]) == (1, 0.49)
    start, end, mean = best_window(values, 10)
    assert end - start == 9
    brute = max(sum(values[s : s + 10]) / 10 for s in range(16))
    assert mean == pytest.approx(brute)
    assert best_window([0.5, 0.7], 10) == (0, 1, pytest.approx(0.6))


@pytest.mark.parametrize(
    ("accuracy", "zone"),
    [
        (0.0, "No learning"),
        (0.049, "No learning"),
        (0.05, "Slow"),
        (0.14, "Slow"),
        (0.27, "Best zone"),
        (0.36, "Best zone"),
        (0.5, "Good"),
        (0.84, "Diminishing"),
        (0.96, "Diminishing"),
        (1.0, "Diminishing"),
    ],
)
def test_viability_zones(accuracy: float, zone: str) -> None:
    assert viability(accuracy).startswith(zone)


def test_viability_rejects_percentages() -> None:
    with pytest.raises(ValueError, match="fraction"):
        viability(36)
