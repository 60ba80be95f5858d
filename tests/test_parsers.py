"""The built-in parsers: concrete examples, the hack-resistance properties, registry and types.

Properties (totality, every accepted form read, near misses rejected, linear time) run through
:func:`mult_env.testing.check_parser`, the same checker users run on their own parsers, so the
library is held to exactly the standard it documents. Concrete examples pin the cases the
research log and DESIGN.md name.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mult_env.parsers import (
    PARSERS,
    AnswerParser,
    BoxedParser,
    LastNumberParser,
    ParseResult,
    ThinkStripped,
    get_parser,
    register_parser,
)
from mult_env.testing import FAMILIES, check_parser
from mult_env.testing.strategies import adversarial_texts
from tests import corpus

EXAMPLES = 15  # per property; the slow suite runs many more (tests/testing/test_checks.py)
STRICT = ["answer", "boxed", "think_answer", "think_boxed"]
answer_parser = AnswerParser()


# --- the default "answer" parser: what it accepts ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "248171",
        "248171.",
        " 248171\n",
        "248,171",
        "The answer is 248,171.",
        "The answer is 248171",
        "the answer is: 248171.",
        "\n\tThe answer is   248171.  ",
    ],
)
def test_answer_accepts_the_forms_of_the_log(text: str) -> None:
    assert answer_parser(text) == ParseResult(248171, True, "ok")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("248,17,1", "invalid thousands separators"),
        ("24,8171", "invalid thousands separators"),
        ("-248171", "negative or signed number"),
        ("The answer is -248,171.", "negative or signed number"),
        ("248171.0", "not an integer"),
        ("\u0662\u0664\u0668\u0661\u0667\u0661", "non-ASCII digits"),  # Arabic-Indic 248171
        ("\u0be8\u0bea\u0bee\u0be7\u0bed\u0be7", "non-ASCII digits"),  # Tamil 248171
        ("248171 or 248172", "several numbers"),
        ("12*15=180 so 999", "several numbers"),
        ("847 * 293 = 248171", "several numbers"),
        ("248171, 248172", "several numbers"),
        ("", "empty"),
        ("   ", "empty"),
        ("0248171", "leading zeros"),
        ("The answer is 00.", "leading zeros"),
        ("248_171", "invalid thousands separators"),
        ("+248171", "negative or signed number"),
        ("--248171", "negative or signed number"),
        ("2.48171e5", "not an integer"),
        ("The answer is 4. Extra", "text around the number"),
        ("I think it is 248171.", "text around the number"),
        ("<answer>248171</answer>", "text around the number"),
        ("The answer is 248171..", "text around the number"),
        ("THE ANSWER IS 248171.", "text around the number"),
        ("I am an AI who helps - with math", "no number"),
        ("The answer is", "empty"),
        ("..", "no number"),
        ("The answer is248171.", "no ASCII space after 'The answer is'"),
        ("The answer is:248171", "no ASCII space after 'The answer is'"),
        ("The answer is\u00a0248171.", "no ASCII space after 'The answer is'"),
        ("The answer is 248171\u00b2", "non-ASCII digits"),
    ],
)
def test_answer_rejects_near_misses_with_a_reason(text: str, reason: str) -> None:
    """The reason names what is actually wrong: users read it in TRL's and Tinker's logs."""
    assert answer_parser(text) == ParseResult(None, False, reason)


@pytest.mark.parametrize(("text", "value"), [("2481710", 2481710), ("24817", 24817), ("0", 0)])
def test_answer_reads_wrong_numbers_as_written(text: str, value: int) -> None:
    """Wrong-length answers are read faithfully; the reward (not the parser) gives no credit."""
    assert answer_parser(text) == ParseResult(value, True, "ok")


def test_answer_rejects_long_text_before_any_regex() -> None:
    assert answer_parser("1" * 200) == ParseResult(None, False, "too long")


# --- boxed and think -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So 847*293 = \\boxed{248171}.", ParseResult(248171, True, "ok")),
        ("\\boxed{ 248,171 }", ParseResult(248171, True, "ok")),
        ("no box: 248171", ParseResult(None, False, "no \\boxed{}")),
        ("\\boxed{248171} or \\boxed{248172}", ParseResult(None, False, "several \\boxed{}")),
        ("\\boxed{248171", ParseResult(None, False, "unclosed \\boxed{")),
        ("\\boxed{-248171}", ParseResult(None, False, "negative or signed number")),
        ("\\boxed{248171 or 248172}", ParseResult(None, False, "several numbers")),
    ],
)
def test_boxed(text: str, expected: ParseResult) -> None:
    assert BoxedParser()(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>847*293 = 248172? no</think>The answer is 248171.", 248171),
        ("pre-filled opening tag</think>\n248171", 248171),
        ("<think>a</think><think>b</think> 248171", 248171),
        ("248171", 248171),  # no think block at all: the inner parser alone
        ("<think>The answer is 248171.", None),  # never closed: no answer was given
        ("<think>x</think>248171 <think>", None),
        ("<think>\\boxed{1}</think>12*15=180 so 248171", None),
    ],
)
def test_think_answer(text: str, expected: int | None) -> None:
    result = PARSERS["think_answer"](text)
    assert result.value == expected
    assert result.well_formed is (expected is not None)


def test_think_boxed_ignores_boxes_inside_the_reasoning() -> None:
    text = "<think>maybe \\boxed{248172}</think>so \\boxed{248171}"
    assert PARSERS["think_boxed"](text) == ParseResult(248171, True, "ok")


def test_think_wrapper_takes_a_name_or_a_callable() -> None:
    by_name, by_callable = ThinkStripped("answer"), ThinkStripped(answer_parser)
    assert (
        by_name("<think>x</think>7")
        == by_callable("<think>x</think>7")
        == ParseResult(7, True, "ok")
    )
    assert by_callable.name == "think_answer"
    assert "AnswerParser" in repr(by_callable)


# --- properties, through the checker users run -----------------------------------------------


@pytest.mark.parametrize("name", STRICT)
def test_builtin_parser_passes_every_property(name: str) -> None:
    report = check_parser(name, max_examples=EXAMPLES, seed=0)
    assert report.ok
    assert not report.skipped and not report.allowed
    assert {"total", "accepts_true_answer", "near_misses/negative", "linear_time"} <= set(
        report.passed
    )


def test_last_number_is_total_and_linear_but_exploitable() -> None:
    """The lenient parser is documented as exploitable: the checker must say exactly how."""
    checked = {"negative", "several_numbers"}  # tests/testing covers the other families
    report = check_parser(
        "last_number",
        max_examples=EXAMPLES,
        allow=[f for f in FAMILIES if f not in checked],
        seed=0,
        raise_on_failure=False,
    )
    assert {"total", "rejects_non_str", "accepts_true_answer", "linear_time"} <= set(report.passed)
    assert {v.family for v in report.violations} == checked
    assert LastNumberParser()("12*15=180 so 999") == ParseResult(999, True, "ok")
    assert LastNumberParser()("-248171").value == 248171


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(text=st.text())
def test_every_parser_is_total_on_arbitrary_unicode(name: str, text: str) -> None:
    result = PARSERS[name](text)
    assert isinstance(result, ParseResult)
    assert result.value is None or type(result.value) is int
    assert result.value is None or result.value >= 0
    assert isinstance(result.well_formed, bool) and isinstance(result.reason, str)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_one_megabyte_adversarial_completion_parses_fast(name: str) -> None:
    """A safety property, not a benchmark: 0.1 s is far above what a linear parser needs."""
    parser = PARSERS[name]
    for description, text in adversarial_texts(1_000_000):
        best = float("inf")
        for _ in range(3):  # best of three: the machine is shared
            start = time.perf_counter()
            parser(text)
            best = min(best, time.perf_counter() - start)
            if best < 0.1:
                break
        assert best < 0.1, f"{name} took {best:.3f} s on {description}"


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("bad", [None, 248171, b"248171", ["248171"], 248171.0])
def test_non_str_raises_type_error(name: str, bad: object) -> None:
    with pytest.raises(TypeError, match="completion must be a str"):
        PARSERS[name](bad)  # type: ignore[arg-type]


# --- registry ---------------------------------------------------------------------------------


def test_registry_resolves_names_and_passes_callables_through() -> None:
    assert set(STRICT) | {"last_number"} <= set(PARSERS)
    assert get_parser("answer") is PARSERS["answer"]

    def mine(completion: str) -> ParseResult:
        return ParseResult(1, True, "ok")

    assert get_parser(mine) is mine
    with pytest.raises(ValueError, match=r"unknown parser 'nope'.*answer"):
        get_parser("nope")
    with pytest.raises(TypeError, match="name or a callable"):
        get_parser(42)  # type: ignore[arg-type]


def test_register_parser_refuses_duplicates_and_non_callables() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_parser("answer", AnswerParser())
    with pytest.raises(TypeError, match="must be callable"):
        register_parser("not-callable", 3)  # type: ignore[arg-type]
    register_parser("test_only_answer", AnswerParser())
    try:
        assert get_parser("test_only_answer")("7") == ParseResult(7, True, "ok")
        register_parser("test_only_answer", BoxedParser(), overwrite=True)
        assert get_parser("test_only_answer")("\\boxed{7}").value == 7
    finally:
        del PARSERS["test_only_answer"]


@pytest.mark.parametrize("name", ["answer", "boxed", "last_number", "think_answer", "think_boxed"])
def test_builtin_parser_gives_the_recorded_result_on_the_corpus(name: str) -> None:
    """Every completion of ``tests/corpus.py`` (accepted forms, near misses, hacks, junk, the
    length limits) parses to exactly what ``tests/data/golden_scores.json`` recorded."""
    golden = corpus.load()
    texts = corpus.texts()
    assert golden["texts"] == len(texts)
    got = [PARSERS[name](t) for t in texts]
    want = [
        ParseResult(None if v is None else int(v), ok, why) for v, ok, why in golden["parse"][name]
    ]
    mismatches = [(t[:60], g, w) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert mismatches == []
