"""The strategies generate what their docstrings promise.

The checkers are only as strong as their examples: a near-miss family that silently produced the
true answer, or an accepted form that is not accepted, would make checks pass or fail for the
wrong reason. Each test here states the shape of one strategy's output.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mult_env.parsers import PARSERS
from mult_env.problems import Problem
from mult_env.testing import FAMILIES, STYLES, NearMiss, near_misses, problems, surface_forms
from mult_env.testing.strategies import (
    adversarial_texts,
    malformed_texts,
    near_miss_values,
    numerals,
)


def _with_problem(
    strategy: st.SearchStrategy[Problem], make: object
) -> st.SearchStrategy[tuple[Problem, object]]:
    return strategy.flatmap(lambda p: st.tuples(st.just(p), make(p)))  # type: ignore[operator]


@given(problems(difficulty="medium"))
def test_problems_of_a_difficulty_have_exact_digit_counts(p: Problem) -> None:
    assert 100 <= p.a <= 999 and 100 <= p.b <= 999


@given(problems(min_digits=2, max_digits=4))
def test_problems_respect_digit_bounds(p: Problem) -> None:
    assert 10 <= p.a <= 9999 and 10 <= p.b <= 9999 and p.answer == p.a * p.b


@given(st.integers(0, 10**30).flatmap(lambda v: st.tuples(st.just(v), numerals(v))))
def test_numerals_are_plain_or_validly_grouped(case: tuple[int, str]) -> None:
    value, text = case
    assert text in (str(value), f"{value:,}")


@given(
    st.sampled_from(sorted(STYLES)).flatmap(
        lambda name: _with_problem(problems(), lambda p: surface_forms(p.answer, name)).map(
            lambda case: (name, case)
        )
    )
)
def test_surface_forms_are_what_the_same_named_parser_accepts(
    case: tuple[str, tuple[Problem, str]],
) -> None:
    style, (p, text) = case
    result = PARSERS[style](text)
    assert result.value == p.answer and result.well_formed


@given(_with_problem(problems(), lambda p: near_misses(p, "answer")))
def test_near_misses_never_write_the_true_answer(case: tuple[Problem, NearMiss]) -> None:
    p, miss = case
    assert miss.family in FAMILIES
    if FAMILIES[miss.family].kind == "number":
        assert miss.value is not None and miss.value != p.answer and miss.value >= 0
    else:
        assert miss.value is None
        assert PARSERS["answer"](miss.text).value is None  # ambiguous: not one clean number


@given(_with_problem(problems(), lambda p: near_miss_values(p.answer)))
def test_value_families_have_their_shape(case: tuple[Problem, NearMiss]) -> None:
    p, miss = case
    x, v = str(p.answer), miss.value
    assert v is not None and v != p.answer and miss.text == str(v)
    if miss.family == "wrong_digit":
        assert len(str(v)) == len(x) and sum(a != b for a, b in zip(str(v), x, strict=True)) == 1
    elif miss.family == "close_value":
        assert abs(v - p.answer) <= max(1, p.answer // 100)
    elif miss.family == "truncated":
        assert len(str(v)) < len(x) and (x.startswith(str(v)) or x.endswith(str(v)))
    elif miss.family == "extra_digit":
        assert len(str(v)) == len(x) + 1
    elif miss.family == "times_ten":
        assert v in (p.answer * 10, p.answer * 100, p.answer * 1000)
    else:
        assert miss.family == "negative" and v == -p.answer


def _family(name: str) -> st.SearchStrategy[tuple[Problem, NearMiss]]:
    return _with_problem(problems(), lambda p: near_misses(p, "answer", name))  # type: ignore[return-value]


@given(_family("non_ascii_digits"))
def test_non_ascii_family_uses_digits_int_would_accept(case: tuple[Problem, NearMiss]) -> None:
    _, miss = case
    foreign = [ch for ch in miss.text if ch.isdigit() and not ch.isascii()]
    assert foreign and all(unicodedata.category(ch) == "Nd" for ch in foreign)


@given(_family("negative"))
def test_negative_family_has_a_sign(case: tuple[Problem, NearMiss]) -> None:
    assert "-" in case[1].text or "\u2212" in case[1].text


@given(_family("hedged"))
def test_hedged_family_states_the_answer_and_another_candidate(
    case: tuple[Problem, NearMiss],
) -> None:
    p, miss = case
    numbers = {int(n.replace(",", "")) for n in re.findall(r"[0-9][0-9,]*[0-9]|[0-9]", miss.text)}
    assert p.answer in numbers and len(numbers) >= 2


@given(_family("invalid_separators"))
def test_invalid_separator_family_hides_the_answer_digits(case: tuple[Problem, NearMiss]) -> None:
    p, miss = case
    assert str(p.answer) in re.sub(r"[^0-9]", "", miss.text)


def test_every_family_is_documented() -> None:
    for family in FAMILIES.values():
        assert family.rule and family.why
        assert family.kind in ("number", "ambiguous") and family.credit in ("none", "partial")


def test_adversarial_texts_are_large_and_deterministic() -> None:
    texts = adversarial_texts(10_000)
    assert texts == adversarial_texts(10_000)
    lengths = {description: len(text) for description, text in texts}
    assert all(9_000 <= n <= 10_010 for n in lengths.values()), lengths


@given(_family("non_canonical"))
def test_non_canonical_family_spells_the_answer_otherwise(case: tuple[Problem, NearMiss]) -> None:
    p, miss = case
    digits = re.sub(r"[^0-9]", "", miss.text)
    assert digits.lstrip("0") == str(p.answer)
    assert digits != str(p.answer) or "+" in miss.text or "\uff0b" in miss.text


def _evaluate(text: str) -> int:
    """Sum of products of the ASCII integers in ``text`` (operators as the family writes them)."""
    body = re.sub(
        r"[^0-9+*x\u00d7\u00b7]|(?<![0-9 ])x", " ", text.replace("**", " ").replace("times", "*")
    )
    total = 0
    for term in body.split("+"):
        product = 1
        for factor in re.split(r"[*x\u00d7\u00b7]", term):
            product *= int(factor.strip())
        total += product
    return total


@given(_family("expression"))
def test_expression_family_is_arithmetic_equal_to_the_answer(
    case: tuple[Problem, NearMiss],
) -> None:
    p, miss = case
    numbers = [int(n) for n in re.findall(r"[0-9]+", miss.text)]
    assert len(numbers) >= 2  # never the bare answer
    assert _evaluate(miss.text) == p.answer


def test_ambiguous_families_also_come_in_other_markups() -> None:
    texts: list[str] = []

    @settings(max_examples=200, database=None, derandomize=True)  # a fixed sample: not flaky
    @given(_family("negative"))
    def collect(case: tuple[Problem, NearMiss]) -> None:
        texts.append(case[1].text)

    collect()
    assert any("\\boxed{" in t for t in texts) and any("**" in t for t in texts)
    assert (
        sum("\\boxed{" not in t and "**" not in t and "<answer>" not in t for t in texts)
        > len(texts) / 2
    )  # mostly the style's own markup


@pytest.mark.parametrize("style", sorted(STYLES))
def test_malformed_and_adversarial_texts_are_built_from_the_style(style: str) -> None:
    malformed = dict(malformed_texts(style))
    assert malformed["empty"] == ""
    if "boxed" in style:
        assert malformed["unclosed"] == "\\boxed{248171"
    descriptions = [d for d, _ in adversarial_texts(2000, style)]
    assert len(descriptions) == len(set(descriptions))
    if "think" in style:
        assert "'<think>' then digits" in descriptions
