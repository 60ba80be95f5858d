"""The checkers catch real holes, with useful messages, and pass every built-in.

Each flawed reward or parser here is modelled on one seen in practice: a peer library's
substring credit (0.857 for '-327279' when the answer is 327279), the "last number wins" parser
the research log fixed, a relative-tolerance scorer, and a ``\\d`` regex that reads Tamil digits.
The default suite runs each check narrowed to the families in question (which also exercises
``allow=``/``skip=``); the ``slow`` tests run the full checks with many more examples.
"""

from __future__ import annotations

import math
import re

import pytest

from mult_env.parsers import PARSERS, AnswerParser, ParseResult
from mult_env.rewards import Scorer
from mult_env.testing import (
    FAMILIES,
    PARSER_PROPERTIES,
    REWARD_PROPERTIES,
    CheckError,
    CheckReport,
    check_parser,
    check_reward,
)

EXAMPLES = 25


def others(*families: str) -> list[str]:
    """Every family except ``families``: narrows a check to the ones a test is about."""
    return [f for f in FAMILIES if f not in families]


# --- deliberately flawed code, modelled on real rewards --------------------------------------


def substring_credit(completion: str, answer: int) -> float:
    """A peer library's rule: credit for containing the answer, scaled by the length."""
    target, text = str(answer), completion.strip()
    return len(target) / len(text) if target in text else 0.0


def last_number_wins(completion: str) -> ParseResult:
    """The log's original bug: search for numbers and take the last one."""
    numbers = re.findall(r"[0-9][0-9,]*", completion)
    if not numbers:
        return ParseResult(None, False, "no number")
    return ParseResult(int(numbers[-1].rstrip(",").replace(",", "")), True, "ok")


def within_one_percent(value: int | None, answer: int) -> float:
    """A scorer with a relative tolerance, as used for floating-point maths tasks."""
    return 1.0 if value is not None and abs(value - answer) <= 0.01 * answer else 0.0


_UNICODE_ANSWER = re.compile(r"(?:[Tt]he answer is:?\s+)?(\d{1,3}(?:,\d{3})+|\d+)\.?")


def unicode_digit_parser(completion: str) -> ParseResult:
    """The log's regex without ``re.ASCII``: ``\\d`` and ``int()`` accept any script's digits."""
    if not isinstance(completion, str):
        raise TypeError(f"completion must be a str, got {type(completion).__name__}")
    text = completion.strip()
    match = _UNICODE_ANSWER.fullmatch(text) if len(text) <= 160 else None
    if match is None:
        return ParseResult(None, False, "not an answer")
    return ParseResult(int(match.group(1).replace(",", "")), True, "ok")


def closeness(value: int | None, answer: int) -> float:
    """Partial credit by numeric distance: not monotone in correct digits."""
    if value is None or value == answer:
        return float(value == answer)
    return max(0.0, 0.9 * (1 - abs(value - answer) / answer))


# --- the holes are caught, with the property and the minimal counterexample ------------------


def test_substring_credit_is_caught_for_negative_and_10x_answers() -> None:
    assert substring_credit("-327279", 327279) == pytest.approx(0.857, abs=1e-3)
    assert substring_credit("3272790", 327279) == pytest.approx(0.857, abs=1e-3)
    with pytest.raises(CheckError) as caught:
        check_reward(
            substring_credit,
            parser=None,
            allow=others("negative", "times_ten"),
            skip=["true_answer_max"],
            max_examples=EXAMPLES,
            seed=0,
        )
    report = caught.value.report
    assert {(v.property, v.family) for v in report.violations} == {
        ("near_misses", "negative"),
        ("near_misses", "times_ten"),
    }
    message = str(caught.value)
    # hypothesis shrinks to the smallest problem: 1 * 1, answer 1
    assert "reward 0.5 for '-1' when the answer is 1: negative answers must not earn credit" in (
        message
    )
    assert "reward 0.5 for '10' when the answer is 1: 10x answers" in message


def test_last_number_parser_is_caught() -> None:
    report = check_parser(
        last_number_wins,
        allow=others("several_numbers", "hedged"),
        skip=["linear_time"],
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    # it also crashes on long digit runs: int() refuses more than 4300 digits (a totality hole
    # only long adversarial texts reach)
    assert {(v.property, v.family) for v in report.violations} == {
        ("total", None),
        ("near_misses", "several_numbers"),
        ("near_misses", "hedged"),
    }
    assert "Exceeds the limit (4300 digits)" in str(report.violations[0])
    several = next(v for v in report.violations if v.family == "several_numbers")
    assert "must read no value" in several.message and "no 'last number wins'" in several.message
    # The same hole seen from the reward side: binary credit through the lenient parser.
    reward_report = check_reward(
        "binary",
        parser=last_number_wins,
        allow=others("several_numbers"),
        skip=["linear_time"],
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    (violation,) = [v for v in reward_report.violations if v.property == "near_misses"]
    assert violation.message.startswith("reward 1 for '")
    assert "(parsed as 1) when the answer is 1" in violation.message


def test_relative_tolerance_is_caught() -> None:
    report = check_reward(
        within_one_percent,
        allow=others("close_value"),
        skip=["linear_time"],
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    close = next(v for v in report.violations if v.family == "close_value")
    # the smallest answer where 1 % is at least 1
    assert close.message.startswith("reward 1 for ")
    assert "101" in close.message and "when the answer is 100" in close.message
    assert "within 1% of the product is still wrong" in close.message


def test_unicode_digit_parser_is_caught() -> None:
    assert unicode_digit_parser("\u0be8\u0bea\u0bee\u0be7\u0bed\u0be7").value == 248171  # Tamil
    report = check_parser(
        unicode_digit_parser,
        allow=["non_canonical"],  # \d+ also reads "01" (tests/testing/test_holes.py)
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    (violation,) = report.violations  # everything else about it is right
    assert violation.family == "non_ascii_digits"
    assert "when the answer is 1; it must read no value: non-ASCII digits" in violation.message
    reward_report = check_reward(
        "shaped",
        parser=unicode_digit_parser,
        allow=others("non_ascii_digits"),
        skip=["linear_time"],
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    assert [v.family for v in reward_report.violations] == ["non_ascii_digits"]


def test_non_monotone_shaping_is_caught() -> None:
    report = check_reward(
        closeness,
        skip=["near_misses", "linear_time"],
        max_examples=EXAMPLES,
        seed=0,
        raise_on_failure=False,
    )
    (violation,) = report.violations
    assert violation.property == "monotone"
    assert "correcting a wrong digit of a same-length answer must never lower" in (
        violation.message
    )


def test_exceptions_out_of_range_and_nan_are_caught() -> None:
    def raises(value: int | None, answer: int) -> float:
        return 1.0 if value == answer else 0.5 ** abs(value - answer)  # type: ignore[operator]

    def too_big(value: int | None, answer: int) -> float:
        return 2.0 if value == answer else 0.0

    def nan(value: int | None, answer: int) -> float:
        return math.nan if value is None else float(value == answer)

    fast = {"max_examples": EXAMPLES, "seed": 0, "raise_on_failure": False}
    skip = ["linear_time", "monotone"]
    totality = check_reward(raises, skip=skip, allow=list(FAMILIES), **fast)
    total = next(v for v in totality.violations if v.property == "total")
    assert total.message.startswith("reward for value None (answer ")
    assert "raised TypeError" in total.message
    bounded = check_reward(too_big, skip=skip, allow=list(FAMILIES), **fast)
    assert {v.property for v in bounded.violations} == {"bounded", "true_answer_max"}
    assert "reward 2 for " in str(bounded.violations[0])
    assert "when the answer is 1: scores must lie in [0, 1]" in str(bounded.violations[0])
    not_a_number = check_reward(nan, skip=["linear_time"], allow=list(FAMILIES), **fast)
    assert "returned NaN" in str(not_a_number.violations[0])


def test_a_quadratic_parser_fails_linear_time() -> None:
    def quadratic(completion: str) -> ParseResult:
        text = completion
        while text and text[0] in " 0123456789,.-":  # re-slices the text for every character
            text = text[1:]
        return AnswerParser()(completion)

    report = check_parser(
        quadratic,
        skip=[p for p in PARSER_PROPERTIES if p != "linear_time"],
        raise_on_failure=False,
    )
    (violation,) = report.violations
    assert violation.property == "linear_time"
    # re-slicing is a memcpy per step: quadratic, but cheaply so; whether the growth it shows
    # at 30 KB reads as superlinear is tests/testing/test_holes.py's business (class 10)
    assert violation.message.startswith("parsing took ") and "on digit run" in violation.message


# --- the built-ins pass, and the report records what was run -------------------------------


# Every built-in passing every property: tests/test_parsers.py and tests/test_rewards.py in the
# default suite, the slow tests below with many more examples.


def test_a_strict_completion_reward_passes() -> None:
    def strict(completion: str, answer: int) -> float:
        return 1.0 if AnswerParser()(completion).value == answer else 0.0

    report = check_reward(strict, parser=None, max_examples=EXAMPLES, seed=0)
    assert report.ok
    assert any("value-level checks not run" in note for note in report.notes)


def test_report_records_skips_and_allowed_families() -> None:
    report = check_reward(
        "binary",
        allow=["decimal", "hedged"],
        skip=["linear_time", "monotone"],
        max_examples=10,
        seed=0,
    )
    assert isinstance(report, CheckReport) and report.ok
    assert report.skipped == ["linear_time", "monotone"]
    assert report.difficulty.startswith("any")
    assert report.allowed == ["decimal", "hedged"]
    assert "near_misses/decimal" not in report.passed
    assert "linear_time" not in report.passed and "bounded" in report.passed
    summary = report.summary()
    assert "skipped (by request): linear_time, monotone" in summary
    assert "allowed families (not checked): decimal, hedged" in summary


def test_difficulty_restricts_the_problems() -> None:
    # The reward runs in a child process, so it reports what it saw by failing: any answer
    # outside 3x3 digits would raise, and the check would report it under `total`.
    def exact(value: int | None, answer: int) -> float:
        if not 100 * 100 <= answer <= 999 * 999 and answer != 248171:  # 248171: long texts
            raise AssertionError(f"answer {answer} is not a medium problem")
        return float(value == answer)

    report = check_reward(exact, difficulty="medium", skip=["linear_time"], max_examples=10)
    assert report.difficulty == "medium (3x3 digits)"
    assert report.ok, report.summary()
    wide = check_reward(exact, skip=["linear_time"], max_examples=10, raise_on_failure=False)
    assert "is not a medium problem" in str(wide.violations[0])


def test_unknown_names_are_errors_not_silent_passes() -> None:
    with pytest.raises(ValueError, match="unknown near-miss family 'decimals'"):
        check_reward("binary", allow=["decimals"])
    with pytest.raises(ValueError, match="unknown reward property 'monotonic'"):
        check_reward("binary", skip=["monotonic"])
    with pytest.raises(ValueError, match="unknown parser property"):
        check_parser("answer", skip=["monotone"])
    with pytest.raises(ValueError, match="unknown style"):
        check_parser("answer", style="latex")
    with pytest.raises(ValueError, match="low < high"):
        check_reward("binary", bounds=(1.0, 0.0))


def test_check_error_is_an_assertion_error_with_the_report() -> None:
    with pytest.raises(AssertionError) as caught:
        check_reward(
            within_one_percent,
            allow=others("close_value"),
            skip=[p for p in REWARD_PROPERTIES if p != "near_misses"],
            max_examples=EXAMPLES,
            seed=0,
        )
    assert isinstance(caught.value, CheckError)
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith("[near_misses/close_value] reward 1 for ")
    assert "FAILED (1 violated)" in str(caught.value)


# --- slow: the full checks, many more examples ----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_full_parser_checks(name: str) -> None:
    report = check_parser(name, max_examples=150, raise_on_failure=False)
    if name == "last_number":  # documented as exploitable
        assert {"negative", "hedged", "several_numbers", "self_correction"} <= {
            v.family for v in report.violations
        }
    else:
        assert report.ok, report.summary()


@pytest.mark.slow
@pytest.mark.parametrize("parser", ["answer", "boxed", "think_answer", "think_boxed"])
@pytest.mark.parametrize("reward", ["binary", "shaped"])
def test_full_reward_checks(reward: str, parser: str) -> None:
    check_reward(reward, parser=parser, max_examples=100)
    check_reward(Scorer(parser, reward), max_examples=100)


@pytest.mark.slow
def test_full_checks_catch_every_flaw() -> None:
    runs = {
        "substring": check_reward(substring_credit, parser=None, raise_on_failure=False),
        "last_number": check_parser(last_number_wins, raise_on_failure=False),
        "tolerance": check_reward(within_one_percent, raise_on_failure=False),
        "unicode": check_parser(unicode_digit_parser, raise_on_failure=False),
    }
    caught = {name: {v.family for v in r.violations} for name, r in runs.items()}
    assert {"negative", "times_ten", "extra_digit", "hedged"} <= caught["substring"]
    assert {"negative", "hedged", "several_numbers", "self_correction"} <= caught["last_number"]
    assert {"close_value", "wrong_digit"} <= caught["tolerance"]
    assert caught["unicode"] == {"non_ascii_digits", "non_canonical"}  # \d+ reads "01" too


def test_public_names_resolve() -> None:
    import mult_env.testing
    import mult_env.testing.strategies

    for module in (mult_env.testing, mult_env.testing.strategies):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
