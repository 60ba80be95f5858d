"""Every class of reward hole issue 14 lists is caught, and correct code is not flagged.

Each flawed reward or parser here has one hole of one class, written the way public scorers
write it; each test checks that the hole is caught under the right property with hypothesis's
minimal counterexample (answer 1 = 1 * 1 where the search can shrink that far). The second half
runs correct implementations written differently from the library's own through the same
checks: none may be flagged. The default suite narrows each check to the families or
properties in question with few examples; the ``slow`` tests run everything in full.

Classes (issue 14): 1 other spellings, 2 the question's arithmetic, 3 hedges with any
connector, 4 near misses in other markups, 5 long texts in ``total``/``bounded``, 6
``well_formed``, 7 hangs, 8 the style's own markers, 9 fixed malformed structure, 10 slow vs
superlinear, 11 crashes under ``total``, 12 determinism, 13 the CLI's ``--style`` (in
test_check_cli.py); and the hint when the true answer fails in every form.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import strategies as st

from mult_env.parsers import AnswerParser, ParseResult
from mult_env.rewards import Scorer
from mult_env.testing import (
    FAMILIES,
    PARSER_PROPERTIES,
    REWARD_PROPERTIES,
    CheckReport,
    Style,
    check_parser,
    check_reward,
)
from mult_env.testing.strategies import adversarial_texts, malformed_texts

EXAMPLES = 25
FAST: dict[str, Any] = {"max_examples": EXAMPLES, "seed": 0, "raise_on_failure": False}
strict = AnswerParser()


def others(*families: str) -> list[str]:
    """Every family except ``families``: narrows a check to the ones a test is about."""
    return [f for f in FAMILIES if f not in families]


def only(*properties: str, kind: dict[str, str] = REWARD_PROPERTIES) -> list[str]:
    """``skip=`` for every property except ``properties``."""
    return [p for p in kind if p not in properties]


def violated(report: CheckReport) -> dict[str, str]:
    """``{"property" or "property/family": message}`` of a report's violations."""
    return {
        (f"{v.property}/{v.family}" if v.family else v.property): v.message
        for v in report.violations
    }


def _strip_answer(completion: str) -> str:
    text = completion.strip()
    for prefix in ("The answer is:", "The answer is", "the answer is:", "the answer is"):
        if text.startswith(prefix):
            return text[len(prefix) :].strip().removesuffix(".")
    return text.removesuffix(".")


# --- 1. other spellings of the true answer ---------------------------------------------------


def converts_before_comparing(completion: str, answer: int) -> float:
    """int() before comparing: pays '+248171' and '0248171' (and '248_171')."""
    try:
        return float(int(_strip_answer(completion).replace(",", "")) == answer)
    except ValueError:
        return 0.0


def test_1_leading_zeros_and_plus_signs_are_caught() -> None:
    report = check_reward(
        converts_before_comparing,
        parser=None,
        allow=others("non_canonical"),
        skip=["true_answer_max", "linear_time"],
        **FAST,
    )
    message = violated(report)["near_misses/non_canonical"]
    assert message.startswith("reward 1 for '01' when the answer is 1: other spellings")
    assert "leading zeros, a plus sign" in message


# --- 2. the question's own arithmetic --------------------------------------------------------


def _evaluate(expression: str) -> int | None:
    """A small, safe evaluator of sums of products, as graders that accept working use."""
    total = 0
    for term in expression.split("+"):
        product = 1
        for factor in re.split(r"\*|\u00d7|x|\u00b7|times", term):
            factor = factor.strip()
            if not (factor.isascii() and factor.isdigit()) or len(factor) > 50:
                return None
            product *= int(factor)
        total += product
    return total


def evaluates_expressions(completion: str, answer: int) -> float:
    text = _strip_answer(completion)
    return float(len(text) < 500 and _evaluate(text) == answer)


def test_2_the_question_copied_as_an_expression_is_caught() -> None:
    report = check_reward(
        evaluates_expressions,
        parser=None,
        allow=others("expression"),
        skip=["true_answer_max", "linear_time"],
        **FAST,
    )
    message = violated(report)["near_misses/expression"]
    assert message.startswith("reward 1 for '1 * 1' when the answer is 1: the question's own")


def test_2_partial_products_are_generated() -> None:
    texts = _family_texts("expression", 60)
    assert "847*200 + 847*90 + 847*3" in texts or "169400 + 76230 + 2541" in texts
    assert all(_evaluate(_strip_answer(t)) in (248171, None) for t in texts)


# --- 3. hedges with any connector ------------------------------------------------------------

KNOWN_HEDGE_WORDS = (" or ", "/", " maybe ", ", ", "\n", "either", "(")


def blocks_known_hedges(completion: str, answer: int) -> float:
    """Refuses the usual connectors, then pays the first of at most two numbers."""
    if any(word in completion for word in KNOWN_HEDGE_WORDS):
        return 0.0
    numbers = [n.replace(",", "") for n in re.findall(r"[0-9][0-9,]*", completion)]
    if 1 <= len(numbers) <= 2 and len(numbers[0]) < 100:
        return float(int(numbers[0]) == answer)
    return 0.0


def test_3_hedges_with_another_connector_are_caught() -> None:
    report = check_reward(
        blocks_known_hedges,
        parser=None,
        allow=others("hedged"),
        skip=["true_answer_max", "linear_time"],
        **FAST,
    )
    message = violated(report)["near_misses/hedged"]
    assert message.startswith("reward 1 for '1") and "when the answer is 1: hedged" in message
    assert not any(word in message.split(" when ")[0] for word in KNOWN_HEDGE_WORDS)


# --- 4. near misses in other markups ---------------------------------------------------------


def answer_with_boxed_fallback(completion: str, answer: int) -> float:
    """The strict answer style, then a lenient \\boxed{} fallback: last number in the box."""
    read = strict(completion)
    if read.value is not None:
        return float(read.value == answer)
    box = re.search(r"\\boxed\{([^}]*)\}", completion)
    numbers = re.findall(r"[0-9]+", box.group(1)) if box else []
    return float(bool(numbers) and int(numbers[-1]) == answer)


def test_4_a_lenient_fallback_markup_is_caught() -> None:
    report = check_reward(
        answer_with_boxed_fallback,
        parser=None,
        allow=others("hedged", "negative", "self_correction", "several_numbers"),
        skip=only("near_misses"),
        max_examples=60,
        seed=0,
        raise_on_failure=False,
    )
    caught = violated(report)
    assert caught, report.summary()
    assert all("\\\\boxed{" in message for message in caught.values())


# --- 5. long adversarial inputs in total and bounded -----------------------------------------


def effort_bonus(completion: str, answer: int) -> float:
    """Pays for long reasoning: unbounded, and full marks for junk, on long text only."""
    if len(completion) > 5000:
        return len(completion) / 5000
    return float(strict(completion).value == answer)


def raises_on_long_digits(completion: str) -> ParseResult:
    """Converts every digit run first: int() refuses more than 4300 digits."""
    if not isinstance(completion, str):
        raise TypeError("completion must be a str")
    for run in re.findall(r"[0-9]+", completion):
        int(run)  # e.g. to log the numbers seen
    return strict(completion)


def test_5_long_texts_are_held_to_total_and_bounded() -> None:
    narrow = only("total", "bounded", "only_true_answer_max")
    report = check_reward(effort_bonus, parser=None, skip=narrow, **FAST)
    caught = violated(report)
    assert caught.keys() == {"bounded", "only_true_answer_max"}, report.summary()
    assert "scores must lie in [0, 1] (on digit run, 30,000 chars)" in caught["bounded"]
    narrow = only("total", kind=PARSER_PROPERTIES)
    parser_report = check_parser(raises_on_long_digits, skip=narrow, **FAST)
    (violation,) = parser_report.violations
    assert violation.property == "total" and "Exceeds the limit (4300 digits)" in violation.message
    assert "(30,000 chars)" in violation.message


# --- 6. well_formed --------------------------------------------------------------------------


def junk_is_well_formed(completion: str) -> ParseResult:
    """Reads like the strict parser but calls everything well-formed: no format penalty."""
    read = strict(completion)
    return read if read.value is not None else ParseResult(None, True, read.reason)


def test_6_a_parser_calling_junk_well_formed_is_caught() -> None:
    report = check_parser(junk_is_well_formed, allow=others("hedged"), **FAST)
    (violation,) = report.violations
    assert violation.property == "well_formed"
    assert violation.message.startswith("parser read no value ('empty') from '' but called it")


def test_6_through_a_scorer_too() -> None:
    narrow = only("total", "bounded", "near_misses", "well_formed")
    report = check_reward(Scorer(junk_is_well_formed), allow=others("hedged"), skip=narrow, **FAST)
    (violation,) = report.violations
    assert violation.property == "well_formed"
    assert "counted as well-formed though no answer was read" in violation.message


# --- 7. a hang gives a verdict ---------------------------------------------------------------

_NESTED = re.compile(r"\s*(?:The answer is:?\s+)?((?:[0-9]+,?)+)\.?\s*")


def catastrophic_backtracking(completion: str) -> ParseResult:
    """A nested quantifier: exponential on a long digit run that fails at its end."""
    if not isinstance(completion, str):
        raise TypeError("completion must be a str")
    if _NESTED.fullmatch(completion) is None:
        return ParseResult(None, False, "not an answer")
    return strict(completion)


def test_7_a_hang_is_killed_and_reported_as_linear_time() -> None:
    start = time.perf_counter()
    report = check_parser(
        catastrophic_backtracking,
        skip=only("linear_time", kind=PARSER_PROPERTIES),
        hang_timeout=1.0,
        **FAST,
    )
    assert time.perf_counter() - start < 60
    (violation,) = report.violations
    assert violation.property == "linear_time"
    assert "did not return within 1 s on " in violation.message
    assert (
        "and was killed" in violation.message and "catastrophic backtracking" in violation.message
    )


# --- 8. adversarial texts built from the style's own markers ---------------------------------


def _reasoning_then(draw: st.DrawFn, marked: str) -> str:
    return draw(st.sampled_from(["", "Let me think.\n", "847 * 293: "])) + marked


TAGGED = Style("tagged", frame=_reasoning_then, mark=lambda body: f"[[{body}]]")


def lazy_tags(completion: str) -> ParseResult:
    """A lazy findall over tags: quadratic when the opening tag repeats."""
    if not isinstance(completion, str):
        raise TypeError("completion must be a str")
    found = re.findall(r"\[\[(.*?)\]\]", completion, re.DOTALL)
    if len(found) != 1:
        return ParseResult(None, False, "need exactly one [[...]]")
    read = strict(found[0])
    return read if read.value is not None else ParseResult(None, False, read.reason)


def test_8_repeated_style_markers_expose_a_quadratic_parser() -> None:
    assert any("'[['" in desc for desc, _ in adversarial_texts(1000, TAGGED))
    report = check_parser(
        lazy_tags, style=TAGGED, skip=only("linear_time", kind=PARSER_PROPERTIES), **FAST
    )
    (violation,) = report.violations
    assert violation.property == "linear_time"
    assert "'[['" in violation.message and "superlinear" in violation.message


@pytest.mark.slow
def test_8_reasoning_gyms_extract_answer_is_caught() -> None:
    """reasoning-gym's <answer> extraction (a lazy regex) took 18 s on 80 KB in the issue."""
    utils = pytest.importorskip("reasoning_gym.utils")

    def extract(completion: str) -> ParseResult:
        if not isinstance(completion, str):
            raise TypeError("completion must be a str")
        body = utils.extract_answer(completion)
        read = strict(body) if body is not None else None
        if read is None or read.value is None:
            return ParseResult(None, False, "no answer")
        return read

    tags = Style("tags", frame=_reasoning_then, mark=lambda body: f"<answer>{body}</answer>")
    report = check_parser(
        extract, style=tags, skip=only("linear_time", kind=PARSER_PROPERTIES), **FAST
    )
    (violation,) = report.violations
    assert violation.property == "linear_time" and "superlinear" in violation.message


# --- 9. malformed structure is always tried --------------------------------------------------


def crashes_on_an_unclosed_box(completion: str) -> ParseResult:
    if not isinstance(completion, str):
        raise TypeError("completion must be a str")
    if completion.count("\\boxed{") != 1:
        return ParseResult(None, False, "need exactly one box")
    start = completion.index("\\boxed{") + len("\\boxed{")
    return strict(completion[start : completion.index("}", start)])  # ValueError if unclosed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_9_an_unclosed_box_crash_is_found_at_every_seed(seed: int) -> None:
    report = check_parser(
        crashes_on_an_unclosed_box,
        style="boxed",
        skip=["linear_time"],
        max_examples=5,
        seed=seed,
        raise_on_failure=False,
    )
    (violation,) = report.violations
    assert violation.property == "total"
    assert violation.message.startswith("parser on '\\\\boxed{' (answer 248171) raised ValueError")
    assert "(fixed case: opening marker)" in violation.message


def test_9_malformed_texts_come_from_the_style() -> None:
    boxed = dict(malformed_texts("boxed"))
    assert boxed["unclosed"] == "\\boxed{248171" and boxed["empty markup"] == "\\boxed{}"
    tagged = dict(malformed_texts(TAGGED, 7))
    assert tagged["nested"] == "[[[[7]]]]"


# --- 10. slow is not superlinear -------------------------------------------------------------


def slow_but_linear(completion: str) -> ParseResult:
    """A character loop: linear, and about 0.02 s per MB."""
    if not isinstance(completion, str):
        raise TypeError("completion must be a str")
    controls = 0
    for ch in completion:
        if ch < " ":
            controls += 1
    return strict(completion)


def test_10_slow_linear_code_is_told_it_is_slow_not_superlinear() -> None:
    report = check_parser(
        slow_but_linear,
        skip=only("linear_time", kind=PARSER_PROPERTIES),
        time_limit=0.0005,  # 0.5 ms per MB: the loop is far slower than that
        **FAST,
    )
    (violation,) = report.violations
    assert violation.property == "linear_time"
    assert "slow but not superlinear" in violation.message
    assert "over the budget of 0.0005 s per 1,000,000 chars" in violation.message


def test_10_fast_linear_code_passes_a_tight_budget() -> None:
    report = check_parser(
        "answer", skip=only("linear_time", kind=PARSER_PROPERTIES), time_limit=0.01, **FAST
    )
    assert report.ok, report.summary()


# --- 11. crashes are filed under total -------------------------------------------------------


def crashes_on_decimals(completion: str, answer: int) -> float:
    text = _strip_answer(completion)
    if re.fullmatch(r"[0-9]{1,50}", text, re.ASCII):
        return float(int(text) == answer)
    if re.fullmatch(r"[0-9.]{1,50}", text, re.ASCII):
        return float(int(text) == answer)  # ValueError: '1.0' is not an int literal
    return 0.0


def test_11_a_crash_is_reported_under_total_whichever_property_met_it() -> None:
    report = check_reward(
        crashes_on_decimals,
        parser=None,
        allow=others("decimal", "non_canonical"),
        skip=["linear_time", "monotone", "deterministic"],
        **FAST,
    )
    crashes = [v for v in report.violations if "raised" in v.message]
    assert [v.property for v in crashes] == ["total"]
    assert "raised ValueError: invalid literal for int()" in crashes[0].message
    assert report.violations[0].property == "total"  # the first thing a user reads


# --- 12. determinism -------------------------------------------------------------------------

_CACHE: dict[str, float] = {}


def caches_by_completion(completion: str, answer: int) -> float:
    """Caches scores by completion text alone: the second problem gets the first's score."""
    if completion not in _CACHE:
        _CACHE[completion] = float(strict(completion).value == answer)
    return _CACHE[completion]


def noisy(completion: str, answer: int) -> float:
    return float(strict(completion).value == answer) * (1 - random.random() * 1e-6)


def test_12_a_cache_keyed_by_completion_text_is_named() -> None:
    narrow = only("deterministic", "true_answer_max")
    report = check_reward(caches_by_completion, parser=None, skip=narrow, **FAST)
    message = violated(report)["deterministic"]
    assert message.startswith(
        "reward 1 for '1' when the answer is 1 when it is the first text scored, but 0 after "
        "scoring the same text for answer 180 and 2"
    )
    assert "a cache keyed by the completion text alone" in message
    assert any("may be artefacts of its hidden state" in note for note in report.notes)


def test_12_randomness_is_named() -> None:
    report = check_reward(noisy, parser=None, skip=only("deterministic"), **FAST)
    (violation,) = report.violations
    assert violation.property == "deterministic" and "no randomness" in violation.message
    assert violation.message.startswith("reward 0.99999")  # not rounded to look like 1


# --- the true answer fails in every form: another style ---------------------------------------


def test_a_reward_expecting_another_style_is_told_so() -> None:
    report = check_reward(
        "binary", parser="boxed", style="answer", skip=only("true_answer_max"), **FAST
    )
    (violation,) = report.violations
    assert "may expect a different answer style" in violation.message
    assert "it does in the 'boxed' or 'think_boxed' style (pass style='boxed'" in violation.message


def test_a_missing_form_is_not_blamed_on_the_style() -> None:
    def no_prefix(completion: str, answer: int) -> float:  # refuses "The answer is ..." only
        return 0.0 if "answer" in completion else float(strict(completion).value == answer)

    report = check_reward(no_prefix, parser=None, skip=only("true_answer_max"), **FAST)
    (violation,) = report.violations
    assert "different answer style" not in violation.message


# --- no false positives: correct code written differently ------------------------------------


def _canonical(text: str) -> int | None:
    """The integer a canonical numeral writes (``248171`` or ``248,171``), by hand, no regex."""
    if len(text) > 200 or not text.isascii():
        return None
    groups = text.split(",")
    plain = len(groups) == 1 and text.isdigit() and (text == "0" or text[0] != "0")
    grouped = (
        len(groups) > 1
        and 1 <= len(groups[0]) <= 3
        and groups[0].isdigit()
        and groups[0][0] != "0"
        and all(len(g) == 3 and g.isdigit() for g in groups[1:])
    )
    return int("".join(groups)) if plain or grouped else None


def by_hand(completion: str, answer: int) -> float:
    """No regex: strip, drop the prefix and the period, check the digit groups by hand."""
    value = _canonical(_strip_answer(completion))
    return float(value is not None and value == answer)


_OTHER_REGEX = re.compile(
    r"\s*(?:[Tt]he answer is:?\s+)?(0|[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]*)\.?\s*", re.ASCII
)


def by_other_regex(completion: str, answer: int) -> float:
    match = _OTHER_REGEX.fullmatch(completion) if len(completion) < 500 else None
    return float(match is not None and int(match[1].replace(",", "")) == answer)


def boxed_by_partition(completion: str, answer: int) -> float:
    if completion.count("\\boxed{") != 1:
        return 0.0
    body, closed, _ = completion.partition("\\boxed{")[2].partition("}")
    value = _canonical(body.strip()) if closed else None
    return float(value is not None and value == answer)


def shaped_by_zip(value: int | None, answer: int) -> float:
    """Leading digits right, by zip and a running flag; 0.9 cap."""
    if value is None or value < 0:
        return 0.0
    got, want = str(value), str(answer)
    if got == want:
        return 1.0
    if len(got) != len(want):
        return 0.0
    right, still = 0, True
    for g, w in zip(got, want, strict=True):
        still = still and g == w
        right += still
    return 0.9 * right / len(want)


def trl_style(completions: list[str], answer: list[int]) -> list[float]:
    return [by_hand(c, a) for c, a in zip(completions, answer, strict=True)]


@lru_cache(maxsize=4096)
def cached_on_pair(completion: str, answer: int) -> float:
    """A cache keyed by completion and answer: deterministic, so fine."""
    return by_other_regex(completion, answer)


class HandParser:
    """A strict parser class, as a user would write one for a Scorer."""

    def __call__(self, completion: str) -> ParseResult:
        if not isinstance(completion, str):
            raise TypeError(f"completion must be a str, got {type(completion).__name__}")
        text = completion.strip()
        if text.startswith(("The answer is", "the answer is")):
            text = text[len("The answer is") :]
            text = text[1:] if text.startswith(":") else text
            if not text[:1].isspace():
                return ParseResult(None, False, "no space after the prefix")
        value = _canonical(text.strip().removesuffix("."))
        if value is None:
            return ParseResult(None, False, "not one canonical number")
        return ParseResult(value, True, "ok")


def think_then_strict(completion: str, answer: int) -> float:
    _, closed, tail = completion.rpartition("</think>")
    rest = tail if closed else completion
    return 0.0 if "<think>" in rest else by_other_regex(rest, answer)


CORRECT: dict[str, Callable[..., CheckReport]] = {
    "by_hand": lambda **kw: check_reward(by_hand, parser=None, **kw),
    "by_other_regex": lambda **kw: check_reward(by_other_regex, parser=None, **kw),
    "boxed_by_partition": lambda **kw: check_reward(
        boxed_by_partition, parser=None, style="boxed", **kw
    ),
    "shaped_by_zip": lambda **kw: check_reward(shaped_by_zip, **kw),
    "trl_style": lambda **kw: check_reward(lambda c, a: trl_style([c], [a])[0], parser=None, **kw),
    "cached_on_pair": lambda **kw: check_reward(cached_on_pair, parser=None, **kw),
    "scorer_with_hand_parser": lambda **kw: check_reward(Scorer(HandParser(), "binary"), **kw),
    "hand_parser": lambda **kw: check_parser(HandParser(), **kw),
    "think_then_strict": lambda **kw: check_reward(
        think_then_strict, parser=None, style="think_answer", **kw
    ),
}


@pytest.mark.parametrize("name", ["by_hand", "shaped_by_zip", "scorer_with_hand_parser"])
def test_correct_implementations_pass(name: str) -> None:
    report = CORRECT[name](max_examples=5, seed=0, raise_on_failure=False)
    assert report.ok, report.summary()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_implementations_pass_in_full(name: str) -> None:
    report = CORRECT[name](raise_on_failure=False)
    assert report.ok, report.summary()


def _family_texts(family: str, n: int) -> set[str]:
    from hypothesis import given, settings
    from hypothesis import seed as hseed

    from mult_env.problems import Problem
    from mult_env.testing import near_misses

    out: set[str] = set()

    @hseed(0)
    @settings(max_examples=n, database=None)
    @given(near_misses(Problem(847, 293), "answer", family))
    def collect(miss: Any) -> None:
        out.add(miss.text)

    collect()
    return out


@pytest.mark.slow
def test_full_checks_catch_every_class() -> None:
    """Every flawed example above, checked in full (no allow=/skip=), is still caught."""
    full: dict[str, Any] = {"seed": 0, "raise_on_failure": False}  # a search: make it repeatable
    runs = {
        "1": check_reward(converts_before_comparing, parser=None, **full),
        "2": check_reward(evaluates_expressions, parser=None, **full),
        "3": check_reward(blocks_known_hedges, parser=None, **full),
        "4": check_reward(answer_with_boxed_fallback, parser=None, **full),
        "5": check_reward(effort_bonus, parser=None, **full),
        "6": check_parser(junk_is_well_formed, **full),
        "7": check_parser(catastrophic_backtracking, hang_timeout=2, **full),
        "8": check_parser(lazy_tags, style=TAGGED, **full),
        "9": check_parser(crashes_on_an_unclosed_box, style="boxed", **full),
        "11": check_reward(crashes_on_decimals, parser=None, **full),
        "12": check_reward(caches_by_completion, parser=None, **full),
    }
    caught = {name: set(violated(r)) for name, r in runs.items()}
    assert "near_misses/non_canonical" in caught["1"]
    assert "near_misses/expression" in caught["2"]
    assert "near_misses/hedged" in caught["3"]
    # the fallback's [^}]* also rescans from every repeated "\boxed{": quadratic
    assert any(c.startswith("near_misses/") for c in caught["4"]) and "linear_time" in caught["4"]
    assert {"bounded", "only_true_answer_max"} <= caught["5"]
    assert "well_formed" in caught["6"]
    assert "linear_time" in caught["7"]
    assert "linear_time" in caught["8"]
    assert "total" in caught["9"]
    assert "total" in caught["11"]
    assert "deterministic" in caught["12"]
