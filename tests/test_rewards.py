"""The built-in rewards and the Scorer: concrete examples, properties, registry, validation.

Properties (the true answer in every form scores 1.0, nothing else does, bounded, monotone
shaping, no credit for near misses, linear time) run through
:func:`mult_env.testing.check_reward`, the checker users run on their own rewards.
"""

from __future__ import annotations

import math

import pytest

from mult_env.parsers import ParseResult
from mult_env.problems import Problem
from mult_env.rewards import (
    REWARDS,
    Scorer,
    binary_reward,
    get_reward,
    leading_digits_matched,
    register_reward,
    shaped_reward,
)
from mult_env.testing import FAMILIES, check_reward
from tests import corpus

EXAMPLES = 15  # per property; the slow suite runs many more (tests/testing/test_checks.py)
P = Problem(847, 293)  # the log's few-shot example: 248171
ANSWER = 248171


# --- concrete completions through the default Scorer (answer parser, shaped reward) ----------


@pytest.mark.parametrize(
    "completion", ["The answer is 248,171.", "248171.", " 248171\n", "248,171", "248171"]
)
def test_accepted_forms_score_one(completion: str) -> None:
    b = Scorer().score(completion, P)
    assert (b.total, b.correctness, b.format_penalty) == (1.0, 1.0, 0.0)
    assert b.correct and b.format_ok and b.parsed == ANSWER and b.reason == "ok"
    assert b.digits_matched == b.num_digits == 6


@pytest.mark.parametrize(
    "completion",
    [
        "248,17,1",
        "-248171",
        "248171 or 248172",
        "12*15=180 so 999",
        "12*15=180 so 248171",
        "\u0662\u0664\u0668\u0661\u0667\u0661",  # Arabic-Indic digits
        "\u0be8\u0bea\u0bee\u0be7\u0bed\u0be7",  # Tamil digits
        "2481710",
        "24817",
        "248171.0",
    ],
)
@pytest.mark.parametrize("reward", ["shaped", "binary"])
def test_near_misses_earn_no_credit(completion: str, reward: str) -> None:
    b = Scorer(reward=reward).score(completion, P)
    assert b.correctness == 0.0
    assert not b.correct
    assert b.total <= 0.0


@pytest.mark.parametrize(
    ("completion", "total", "format_ok"),
    [
        ("-248171", -0.1, False),  # malformed: the format penalty
        ("2481710", 0.0, True),  # well-formed but wrong length: no credit, no penalty
        ("248172", 0.95 * 5 / 6, True),  # same length, five leading digits right
        ("348171", 0.0, True),  # first digit wrong: no leading digits
    ],
)
def test_format_term(completion: str, total: float, format_ok: bool) -> None:
    b = Scorer().score(completion, P)
    assert b.total == pytest.approx(total)
    assert b.format_ok is format_ok
    assert b.format_penalty == (0.0 if format_ok else -0.1)
    assert b.total == pytest.approx(b.correctness + b.format_penalty)


@pytest.mark.parametrize("format_coef", [0.0, 0.5, 1.0])
def test_format_coef_sets_the_penalty(format_coef: float) -> None:
    b = Scorer(format_coef=format_coef).score("no idea", P)
    assert b.total == -format_coef and b.format_penalty == -format_coef


def test_assistant_prefix_is_parsed_with_the_completion() -> None:
    scorer = Scorer(assistant_prefix="The answer is ")
    assert scorer.score("248,171.", P).total == 1.0
    assert scorer.score("The answer is 248171", P).format_ok is False


# --- the reward functions themselves ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (248171, 1.0),
        (248170, 0.95 * 5 / 6),  # no cap below 0.95: the 5th and 6th digits carry signal
        (248071, 0.95 * 3 / 6),
        (148171, 0.0),
        (24817, 0.0),  # truncated
        (2481710, 0.0),  # 10x
        (2481711, 0.0),  # extra digit
        (-248171, 0.0),
        (None, 0.0),
    ],
)
def test_shaped_reward(value: int | None, expected: float) -> None:
    assert shaped_reward(value, ANSWER) == pytest.approx(expected)
    assert binary_reward(value, ANSWER) == (1.0 if value == ANSWER else 0.0)


def test_shaped_reward_rises_with_each_correct_leading_digit() -> None:
    wrong = [int("248171"[:k] + "9" * (6 - k)) for k in range(6)]  # 999999, 299999, ...
    scores = [shaped_reward(v, ANSWER) for v in wrong] + [shaped_reward(ANSWER, ANSWER)]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert max(scores[:-1]) < 1.0


def test_leading_digits_matched() -> None:
    assert leading_digits_matched(248171, ANSWER) == 6
    assert leading_digits_matched(248199, ANSWER) == 4
    assert leading_digits_matched(24817, ANSWER) == 0
    assert leading_digits_matched(-248171, ANSWER) == 0
    assert leading_digits_matched(None, ANSWER) == 0


# --- properties, through the checker users run -----------------------------------------------


@pytest.mark.parametrize(
    ("reward", "parser"),
    [
        ("shaped", "answer"),
        ("binary", "answer"),
        ("shaped", "boxed"),
        ("shaped", "think_answer"),
    ],
)
def test_builtin_reward_passes_every_property(reward: str, parser: str) -> None:
    report = check_reward(reward, parser=parser, max_examples=EXAMPLES, seed=0)
    assert report.ok and not report.skipped and not report.allowed
    assert {"bounded", "true_answer_max", "only_true_answer_max", "monotone"} <= set(report.passed)
    assert {f"near_misses/{f}" for f in FAMILIES} <= set(report.passed)


def test_default_scorer_total_is_bounded_by_the_format_term() -> None:
    """Scorer totals lie in [-format_coef, 1]; the check also runs the batch (fast) path."""
    report = check_reward(Scorer(format_coef=0.1), max_examples=EXAMPLES, seed=0)
    assert report.ok
    assert "bounded" in report.passed


def test_shaped_with_the_lenient_parser_is_caught() -> None:
    """The exploitable pairing the log warns about: last number wins."""
    report = check_reward(
        "shaped",
        parser="last_number",
        max_examples=EXAMPLES,
        allow=[f for f in FAMILIES if f != "negative"],
        skip=["only_true_answer_max"],
        seed=0,
        raise_on_failure=False,
    )
    assert [v.family for v in report.violations] == ["negative"]
    assert "negative answers must not earn credit" in report.violations[0].message


# --- registry ---------------------------------------------------------------------------------


def test_registry_resolves_names_and_passes_callables_through() -> None:
    assert REWARDS["shaped"] is shaped_reward and REWARDS["binary"] is binary_reward
    assert get_reward("shaped") is shaped_reward

    def mine(value: int | None, answer: int) -> float:
        return 1.0 if value == answer else 0.0

    assert get_reward(mine) is mine
    assert Scorer(reward=mine).score("248171", P).total == 1.0
    with pytest.raises(ValueError, match=r"unknown reward 'nope': registered rewards are .*binary"):
        get_reward("nope")
    with pytest.raises(TypeError, match="name or a callable"):
        get_reward(1.0)  # type: ignore[arg-type]


def test_register_reward_refuses_duplicates_and_non_callables() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_reward("shaped", binary_reward)
    with pytest.raises(TypeError, match="must be callable"):
        register_reward("not-callable", "shaped")  # type: ignore[arg-type]
    register_reward("test_only_binary", binary_reward)
    try:
        assert Scorer(reward="test_only_binary").score("248172", P).correctness == 0.0
    finally:
        del REWARDS["test_only_binary"]


# --- Scorer validation ------------------------------------------------------------------------


@pytest.mark.parametrize("format_coef", [-0.1, 1.5, math.nan, "0.1", None])
def test_scorer_rejects_bad_format_coef(format_coef: object) -> None:
    with pytest.raises(ValueError, match="format_coef must be a number in"):
        Scorer(format_coef=format_coef)  # type: ignore[arg-type]


def test_scorer_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="assistant_prefix must be a str"):
        Scorer(assistant_prefix=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown parser"):
        Scorer(parser="nope")
    with pytest.raises(ValueError, match="unknown reward"):
        Scorer(reward="nope")
    with pytest.raises(TypeError, match="completion must be a str"):
        Scorer().score(248171, P)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pair up one to one"):
        Scorer().score_many(["1", "2"], [P])


@pytest.mark.parametrize("bad", [1.5, -0.01, math.nan])
def test_scorer_rejects_out_of_range_correctness(bad: float) -> None:
    with pytest.raises(ValueError, match="correctness must lie in"):
        Scorer(reward=lambda value, answer: bad).score("248171", P)


def test_scorer_rejects_a_parser_that_returns_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="expected ParseResult"):
        Scorer(parser=lambda text: 248171).score("248171", P)  # type: ignore[arg-type,return-value]


def test_scorer_batch_paths_agree_with_single_scores() -> None:
    completions = ["248171", "The answer is 248,172.", "-248171", "24817", "hmm"]
    scorer = Scorer()
    single = [scorer.score(c, P) for c in completions]
    assert scorer.score_group(completions, P) == single
    assert scorer.score_many(completions, [P] * len(completions)) == single
    assert ParseResult(248171, True, "ok") == scorer.parse("248171")


@pytest.mark.parametrize("name", list(corpus.SCORERS))
def test_scorer_gives_the_recorded_breakdowns_on_the_corpus(name: str) -> None:
    """Each problem of ``tests/corpus.py`` with its own surface forms and the adversarial
    texts scores to exactly the recorded breakdowns, per item and through the batch methods;
    ``repr`` equality also catches ``0.0`` against ``-0.0`` or ``1`` against ``1.0``."""
    golden = corpus.load()
    cases = corpus.cases()
    assert golden["cases"] == len(cases)
    scorer = Scorer(**corpus.SCORERS[name])
    fields = list(Scorer().score("1", Problem(1, 1)).to_dict())
    want = [dict(zip(fields, row, strict=True)) for row in golden["score"][name]]
    got = [scorer.score(text, corpus.PROBLEMS[i]).to_dict() for i, text in cases]
    mismatches = [(c, g, w) for c, g, w in zip(cases, got, want, strict=True) if g != w]
    assert mismatches == []
    assert repr(got) == repr(want)
    texts = [text for _, text in cases]
    problems = [corpus.PROBLEMS[i] for i, _ in cases]
    assert [b.to_dict() for b in scorer.score_many(texts, problems)] == got
    first = [text for i, text in cases if i == 0]
    assert [b.to_dict() for b in scorer.score_group(first, corpus.PROBLEMS[0])] == got[: len(first)]
