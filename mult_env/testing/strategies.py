"""Hypothesis strategies for what a policy writes when it answers a multiplication problem.

A reward is only as good as the worst completion it pays for, and an RL policy searches that
space on purpose. These strategies generate the completions a policy will try:

* :func:`problems` -- problems of any difficulty (1 to 20 digits per operand), so checks are not
  tuned to one answer length;
* :func:`surface_forms` -- the *true* answer in every form a parser style accepts (plain,
  "The answer is ...", thousands separators, final period, surrounding whitespace, boxed,
  after a ``<think>`` block): a correct answer that is not paid teaches the policy a format,
  not arithmetic;
* :func:`near_misses` -- wrong or ambiguous answers grouped in :data:`FAMILIES` (one digit wrong,
  within 1 %, truncated, extra digit, 10x, negative, hedged with any connector, several
  numbers, self-corrections, non-ASCII digits, decimals, invalid separators, other spellings,
  the question's own arithmetic), each with the reason a policy would try it; ambiguous ones
  also come in other :data:`MARKUPS` than the style's, for rewards with a lenient fallback;
* :func:`near_miss_values` -- the integer near misses, for rewards checked on parsed values;
* :func:`arbitrary_text` -- any unicode text, plus text assembled from the tokens parsers care
  about, for totality;
* :func:`malformed_texts` -- fixed malformed completions built from a style's markers (an
  unclosed, empty or nested box), which random search finds only by luck;
* :func:`adversarial_texts` -- deterministic ~1 MB inputs that make naive parsers superlinear,
  the style's own markers repeated and left unclosed among them.

Minimal examples shrink towards the smallest problem (``1 * 1``) and the simplest form (plain
digits, no prefix), so a failure reads like "reward 1.0 for '-1' when the answer is 1".
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from hypothesis import assume
from hypothesis import strategies as st

from mult_env.problems import MAX_DIGITS, Difficulty, Problem, resolve_difficulty

__all__ = [
    "FAMILIES",
    "MARKUPS",
    "STYLES",
    "Family",
    "NearMiss",
    "Style",
    "adversarial_texts",
    "arbitrary_text",
    "draw_near_miss",
    "draw_near_miss_value",
    "draw_surface_form",
    "get_style",
    "malformed_texts",
    "near_miss_values",
    "near_misses",
    "numerals",
    "problems",
    "style_markers",
    "surface_forms",
]


# --------------------------------------------------------------------------------------------
# Problems and numerals


def problems(
    min_digits: int = 1, max_digits: int = MAX_DIGITS, *, difficulty: Difficulty | None = None
) -> st.SearchStrategy[Problem]:
    """Problems whose operands have between ``min_digits`` and ``max_digits`` digits each.

    With ``difficulty`` (a name such as ``"medium"`` or a pair of digit counts) the operands
    have exactly that difficulty's digit counts, as in :class:`~mult_env.problems.ProblemSet`.
    Operands are at least 1, so answers are positive. Checks draw from the full range because
    a reward tuned on 6-digit answers can break on 1-digit or 40-digit ones (an empty
    truncation, a leading-digit rule that runs off the end); minimal examples shrink to 1 * 1.
    """
    if difficulty is not None:
        da, db = resolve_difficulty(difficulty)
        a_range = (10 ** (da - 1), 10**da - 1)
        b_range = (10 ** (db - 1), 10**db - 1)
    else:
        if not 1 <= min_digits <= max_digits:
            raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
        # One integer per operand (hypothesis already varies their length) shrinks better
        # than a digit count and then an operand: minimal examples reach 1 * 1.
        a_range = b_range = (10 ** (min_digits - 1), 10**max_digits - 1)
    operand_a, operand_b = st.integers(*a_range), st.integers(*b_range)

    def draw_problem(draw: st.DrawFn) -> Problem:
        return Problem(draw(operand_a), draw(operand_b))

    return st.composite(draw_problem)()  # shrinks towards Problem(1, 1)


def _grouped(value: int) -> str:
    return f"{value:,}"


def _draw_numeral(draw: st.DrawFn, value: int) -> str:
    plain = str(value)
    if value < 1000 or not draw(st.booleans()):
        return plain
    return _grouped(value)


def numerals(value: int) -> st.SearchStrategy[str]:
    """``value`` written plainly or with valid comma thousands separators (``248,171``)."""
    if value < 1000:
        return st.just(str(value))
    return st.sampled_from([str(value), _grouped(value)])


# --------------------------------------------------------------------------------------------
# Styles: where an answer goes in a completion

Frame = Callable[[st.DrawFn, str], str]
"""Draws the text around a marked answer: ``frame(draw, marked) -> completion``."""

_ASCII_WS = st.text(alphabet=" \t\n\r", max_size=3)
_FORBIDDEN_IN_FILLER = ("\\boxed{", "<think>", "</think>")
_REASONING = [
    "",
    "Let me compute this step by step.\n",
    "847 * 293 = 847 * 300 - 847 * 7 = 254100 - 5929 = 248171.\n",
    "12*15=180 and 34*27=918. ",
    "I think the answer is ",
    "Final answer: ",
]
_FILLER = st.one_of(
    st.sampled_from(_REASONING),
    st.text(max_size=20).filter(lambda s: not any(t in s for t in _FORBIDDEN_IN_FILLER)),
)
_THINK_REASONING = st.one_of(st.sampled_from(_REASONING), st.text(max_size=20))
_PREFIXES = st.sampled_from(
    ["", "The answer is ", "The answer is: ", "the answer is ", "The answer is  "]
)
_PERIOD = st.sampled_from(["", "."])


def _identity(body: str) -> str:
    return body


def _boxed(body: str) -> str:
    return "\\boxed{" + body + "}"


def _answer_frame(draw: st.DrawFn, inner: str) -> str:
    lead, prefix, period, trail = draw(st.tuples(_ASCII_WS, _PREFIXES, _PERIOD, _ASCII_WS))
    return f"{lead}{prefix}{inner}{period}{trail}"


def _boxed_frame(draw: st.DrawFn, inner: str) -> str:
    before, after = draw(st.tuples(_FILLER, _FILLER))
    return f"{before}{inner}{after}"


_THINK_PARTS = st.tuples(
    st.sampled_from(["<think>", ""]),  # "" = the chat template pre-fills the opening tag
    _THINK_REASONING,
    st.sampled_from(["", "\n", "\n\n"]),
)


def _think(frame: Frame) -> Frame:
    def think_frame(draw: st.DrawFn, inner: str) -> str:
        opening, reasoning, sep = draw(_THINK_PARTS)
        return f"{opening}{reasoning}</think>{sep}{frame(draw, inner)}"

    return think_frame


@dataclass(frozen=True)
class Style:
    """Where and how a parser expects the answer in a completion.

    ``mark(body)`` marks one answer (``\\boxed{body}`` for boxed styles, the body itself for
    plain ones) and ``frame(draw, marked)`` draws the completion around it (prefix, period,
    whitespace, reasoning before and after, a ``<think>`` block). Near misses use both: a hedge
    is ``frame(mark("x or y"))`` and also ``frame(mark(x) + " or " + mark(y))``, which for
    boxed styles is two boxes. A custom parser with its own format gets its own ``Style``.
    """

    name: str
    frame: Frame
    mark: Callable[[str], str] = _identity
    description: str = ""
    markers: tuple[str, ...] = ()
    """Other strings the parser looks for (``"<think>"``, ``"The answer is"``): adversarial
    and malformed texts repeat them and leave them unclosed, as they do ``mark``'s own."""

    def draw_form(self, draw: st.DrawFn, body: str) -> str:
        """Draw a completion giving ``body`` as the answer in this style."""
        return self.frame(draw, self.mark(body))

    def forms(self, body: str) -> st.SearchStrategy[str]:
        """Completions giving ``body`` as the answer in this style."""
        return st.composite(lambda draw: self.draw_form(draw, body))()


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "answer",
            _answer_frame,
            description='the whole completion is the answer: optional "The answer is", '
            "optional final period, surrounding whitespace",
            markers=("The answer is",),
        ),
        Style(
            "boxed",
            _boxed_frame,
            _boxed,
            description="exactly one \\boxed{N}, any text around it",
        ),
        Style(
            "think_answer",
            _think(_answer_frame),
            description='a <think>...</think> block, then the "answer" style',
            markers=("<think>", "</think>", "The answer is"),
        ),
        Style(
            "think_boxed",
            _think(_boxed_frame),
            _boxed,
            description='a <think>...</think> block, then the "boxed" style',
            markers=("<think>", "</think>"),
        ),
    )
}
"""The answer styles of the built-in parsers, by the parser's name."""


def get_style(style: Style | str) -> Style:
    """Resolve a style name (a key of :data:`STYLES`) or pass a :class:`Style` through."""
    if isinstance(style, Style):
        return style
    try:
        return STYLES[style]
    except KeyError:
        raise ValueError(
            f"unknown style {style!r}: use one of {', '.join(STYLES)} or a Style"
        ) from None


def draw_surface_form(draw: st.DrawFn, answer: int, style: Style) -> str:
    """Draw one accepted form of ``answer`` in ``style`` (for use inside ``st.composite``)."""
    return style.draw_form(draw, _draw_numeral(draw, answer))


def surface_forms(answer: int, style: Style | str = "answer") -> st.SearchStrategy[str]:
    """The true ``answer`` in every form ``style`` accepts; each must score the maximum.

    For the ``answer`` style: ``248171``, ``248,171``, ``The answer is 248,171.``, ``the answer
    is: 248171`` and the like, with surrounding whitespace. A policy that finds a correct
    answer unpaid learns to avoid that form, so every accepted form must be paid in full.
    """
    s = get_style(style)
    return st.composite(lambda draw: draw_surface_form(draw, answer, s))()


# --------------------------------------------------------------------------------------------
# Near-miss families


@dataclass(frozen=True)
class Family:
    """A kind of wrong or ambiguous answer a policy may produce."""

    name: str
    kind: Literal["number", "ambiguous"]
    """``number``: one wrong integer written in an accepted form (a parser must read exactly
    that integer); ``ambiguous``: text that is not one clean integer (a parser must read no
    value at all)."""
    credit: Literal["none", "partial"]
    """``none``: must earn no credit; ``partial``: may earn partial credit, never the maximum."""
    rule: str
    """The rule a violation breaks, as it ends an error message."""
    why: str
    """Why a policy would produce it."""
    value_level: bool = False
    """Whether the family also exists as bare integers (checked on rewards of parsed values)."""


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "wrong_digit",
            "number",
            "partial",
            "an answer with a wrong digit must not score the maximum",
            "most wrong answers of a nearly-right model differ in one digit",
            value_level=True,
        ),
        Family(
            "close_value",
            "number",
            "partial",
            "an answer within 1% of the product is still wrong and must not score the maximum",
            "rewards with a relative tolerance pay for approximate arithmetic",
            value_level=True,
        ),
        Family(
            "truncated",
            "number",
            "none",
            "truncated answers must not earn credit",
            "a prefix of the answer matches leading digits under naive shaping",
            value_level=True,
        ),
        Family(
            "extra_digit",
            "number",
            "none",
            "answers with an extra digit must not earn credit",
            "an inserted or appended digit keeps a matching prefix under naive shaping",
            value_level=True,
        ),
        Family(
            "times_ten",
            "number",
            "none",
            "10x answers (trailing zeros) must not earn credit",
            "appending zeros keeps every digit of the answer as a substring and prefix",
            value_level=True,
        ),
        Family(
            "negative",
            "ambiguous",
            "none",
            "negative answers must not earn credit (products of positive operands are positive)",
            "a minus sign is invisible to substring, digit and last-number matching",
            value_level=True,
        ),
        Family(
            "hedged",
            "ambiguous",
            "none",
            "hedged answers listing several candidates must not earn credit",
            "listing candidates wins whenever any one of them is read as the answer",
        ),
        Family(
            "several_numbers",
            "ambiguous",
            "none",
            "completions with several numbers must not earn credit (no 'last number wins')",
            "working shown before or after the answer lets a lenient parser pick a number",
        ),
        Family(
            "self_correction",
            "ambiguous",
            "none",
            "self-corrected answers must not earn credit: a completion must give one answer",
            "'x, no wait, y' hedges across the correction under first- or last-number parsing",
        ),
        Family(
            "non_ascii_digits",
            "ambiguous",
            "none",
            "non-ASCII digits must not earn credit",
            "\\d and int() accept Arabic-Indic, Devanagari, Tamil and fullwidth digits",
        ),
        Family(
            "decimal",
            "ambiguous",
            "none",
            "decimal answers must not earn credit",
            "'x.0', 'x.5' or '2.48171e5' read as x by float() or by stopping at the point",
        ),
        Family(
            "invalid_separators",
            "ambiguous",
            "none",
            "invalid thousands separators must not earn credit",
            "'248,17,1' or '248_171' read as x by parsers that delete separators (int() "
            "accepts underscores)",
        ),
        Family(
            "non_canonical",
            "ambiguous",
            "none",
            "other spellings of the answer (leading zeros, a plus sign) must not earn credit: "
            "an answer has one canonical spelling",
            "int() and float() accept '+248171' and '0248171', so a reward that converts "
            "before it compares pays for them",
        ),
        Family(
            "expression",
            "ambiguous",
            "none",
            "the question's own arithmetic ('847*293', a sum of partial products) must not "
            "earn credit: an answer is a number, not an expression to evaluate",
            "a grader that evaluates expressions pays a policy for copying the question",
        ),
    )
}
"""Near-miss families by name. ``allow=`` options of the checks take these names."""


@dataclass(frozen=True)
class NearMiss:
    """One generated near miss: its family, the text (or value) and the integer it writes."""

    family: str
    text: str
    value: int | None
    """The integer the text writes, for ``number`` families and bare values; else None."""


_DIGITS = "0123456789"


def _draw_wrong_digit(draw: st.DrawFn, answer: int) -> int:
    s = str(answer)
    i = draw(st.integers(0, len(s) - 1))
    choices = [d for d in _DIGITS if d != s[i] and not (i == 0 and d == "0" and len(s) > 1)]
    return int(s[:i] + draw(st.sampled_from(choices)) + s[i + 1 :])


def _draw_close_value(draw: st.DrawFn, answer: int) -> int:
    r = max(1, answer // 100)
    delta = draw(st.integers(1, r)) * draw(st.sampled_from([1, -1]))
    assume(answer + delta >= 0)
    return answer + delta


def _draw_truncated(draw: st.DrawFn, answer: int) -> int:
    n = len(str(answer))
    assume(n >= 2)
    k: int = draw(st.integers(1, n - 1))
    value: int = answer // 10 ** (n - k) if draw(st.booleans()) else answer % 10**k
    assume(value > 0)  # keeping only trailing zeros leaves nothing
    return value


def _draw_extra_digit(draw: st.DrawFn, answer: int) -> int:
    s = str(answer)
    i = draw(st.integers(0, len(s)))
    d = draw(st.sampled_from("123456789" if i == 0 else _DIGITS))
    return int(s[:i] + d + s[i:])


def _draw_times_ten(draw: st.DrawFn, answer: int) -> int:
    zeros: int = draw(st.integers(1, 3))
    return int(str(answer) + "0" * zeros)


_VALUE_FAMILIES: dict[str, Callable[[st.DrawFn, int], int]] = {
    "wrong_digit": _draw_wrong_digit,
    "close_value": _draw_close_value,
    "truncated": _draw_truncated,
    "extra_digit": _draw_extra_digit,
    "times_ten": _draw_times_ten,
    "negative": lambda draw, answer: -answer,
}


def _draw_other(draw: st.DrawFn, answer: int) -> int:
    """A wrong candidate close enough to earn partial credit under shaping."""
    if draw(st.booleans()):
        return _draw_close_value(draw, answer)
    return _draw_wrong_digit(draw, answer)


_NON_ASCII_ZEROS = [
    0x0660,  # Arabic-Indic
    0x06F0,  # Extended Arabic-Indic (Persian)
    0x0966,  # Devanagari
    0x09E6,  # Bengali
    0x0BE6,  # Tamil
    0x0E50,  # Thai
    0xFF10,  # fullwidth
    0x1D7CE,  # mathematical bold
]


def _draw_non_ascii(draw: st.DrawFn, numeral: str) -> str:
    zero = draw(st.sampled_from(_NON_ASCII_ZEROS))
    table = {ord(d): chr(zero + int(d)) for d in _DIGITS}
    if draw(st.booleans()):  # replace a non-empty subset only: mixed-script numerals
        positions = [i for i, ch in enumerate(numeral) if ch in _DIGITS]
        chosen = draw(st.sets(st.sampled_from(positions), min_size=1))
        return "".join(ch.translate(table) if i in chosen else ch for i, ch in enumerate(numeral))
    return numeral.translate(table)


def _valid_comma_positions(digits: str) -> set[int]:
    n = len(digits)
    return {i for i in range(1, n) if (n - i) % 3 == 0}


def _draw_bad_separators(draw: st.DrawFn, answer: int) -> str:
    s = str(answer)
    sep = draw(st.sampled_from([",", "_", "'", ".", " "]))
    if len(s) < 2 or draw(st.integers(0, 4)) == 0:
        if sep in ". ":  # a final period is allowed and whitespace is stripped
            sep = ","
        return draw(st.sampled_from([sep + s, s + sep, sep + _grouped(answer)]))
    positions = draw(st.sets(st.integers(1, len(s) - 1), min_size=1))
    if sep in ", " and positions == _valid_comma_positions(s):
        return s[:1] + sep + sep + s[1:]  # valid grouping would be a valid answer: double it
    return "".join(sep + ch if i in positions else ch for i, ch in enumerate(s))


def _scientific(answer: int) -> str:
    s = str(answer)
    mantissa = s[0] + ("." + s[1:] if len(s) > 1 else "")
    return f"{mantissa}e{len(s) - 1}"


def _draw_decimal(draw: st.DrawFn, answer: int) -> str:
    x = str(answer)
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return x + draw(st.sampled_from([".0", ".00", ".000"]))
    if choice == 1:
        return f"{x}.{draw(st.integers(1, 9))}"
    if choice == 2:
        return f"{answer - 1}.{'9' * draw(st.integers(1, 3))}"  # rounds to the answer
    if choice == 3:
        return _scientific(answer)
    return _grouped(answer) + ".0"


_HEDGES = st.sampled_from(
    [
        "{x} or {y}",
        "{y} or {x}",
        "{x}/{y}",
        "{x} (or {y})",
        "either {x} or {y}",
        "{x}, {y}",
        "{x} or maybe {y}",
        "{x}\n{y}",
    ]
)
_CONNECTORS = [
    "; ",
    " | ",
    " and ",
    " vs ",
    " possibly ",
    "? ",
    " & ",
    " ~ ",
    "\t",
    " then ",
    " ou ",
    " \u6216 ",  # Chinese "or"
    "  ",
    ";",
    "...",
]
# Any other text between two candidates: no digit of any script (it would change the numbers),
# none of the characters the styles mark answers with, and not only commas ("1" + "," + "234"
# is one validly grouped number, not a hedge).
_ARBITRARY_CONNECTOR = st.text(
    alphabet=st.characters(exclude_categories=("Nd", "Cs"), exclude_characters="{}\\<>"),
    min_size=1,
    max_size=8,
).filter(lambda j: j.strip(",") != "")
_JOINERS = st.one_of(st.sampled_from(_CONNECTORS), _ARBITRARY_CONNECTOR)
_ANY_CONNECTOR = st.integers(0, 2).map(bool)  # two hedges in three; shrinks to the templates
_SEVERAL = st.sampled_from(
    [
        "{a} * {b} = {x}",
        "{a}*{b}={x}",
        "12*15=180 so {x}",
        "{x} ({a} times {b})",
        "{n} then {x}",
        "{x}, checked {n} times",
    ]
)
_CORRECTIONS = st.sampled_from(
    ["{y}. Actually, {x}", "{y}, no wait, {x}", "{x}. Wait, no: {y}", "{y} -> {x}"]
)
_SIGNS = st.sampled_from(["-", "\u2212", "- "])
_PLUS_SIGNS = st.sampled_from(["+", "\uff0b", "+ "])
_OPERATORS = st.sampled_from(["*", " * ", " \u00d7 ", " x ", "x", "\u00b7", " times ", " \\times "])

MARKUPS: dict[str, Callable[[str], str]] = {
    "boxed": _boxed,
    "bold": lambda body: f"**{body}**",
    "dollars": lambda body: f"${body}$",
    "answer tag": lambda body: f"<answer>{body}</answer>",
    "answer line": lambda body: f"Answer: {body}",
    "answer prefix": lambda body: f"The answer is {body}",
    "last line": lambda body: f"Let me check.\n{body}",
}
"""Markups other than a style's own that ambiguous near misses are also sent in.

A reward whose declared format fails may fall back to another extraction (a ``\\boxed{}``
inside an answer-style reward, bold, the last line); a hedge that only ever comes in the
declared format never reaches the lenient fallback."""


_OTHER_MARKUP = st.integers(0, 3).map(lambda i: i == 3)
_MARKUP_FUNCTIONS = st.sampled_from(list(MARKUPS.values()))


def _draw_expression(draw: st.DrawFn, problem: Problem) -> str:
    """The question's arithmetic, which evaluates to the answer: '847*293', partial products."""
    a, b = problem.a, problem.b
    if draw(st.booleans()):
        first, second = (a, b) if draw(st.booleans()) else (b, a)
        return f"{first}{draw(_OPERATORS)}{second}"
    # a sum of partial products over one operand's digits, as long multiplication writes them
    for x, y in ((a, b), (b, a)):
        places = [(int(d), 10**k) for k, d in enumerate(reversed(str(y))) if d != "0"]
        if len(places) >= 2:  # one term alone would be the answer itself
            if draw(st.booleans()):
                return " + ".join(f"{x}*{d * unit}" for d, unit in reversed(places))
            return " + ".join(str(x * d * unit) for d, unit in reversed(places))
    return f"{a} * {b}"  # both operands a single non-zero digit, e.g. 1 * 1


def _draw_non_canonical(draw: st.DrawFn, answer: int) -> str:
    numeral = _draw_numeral(draw, answer)
    zeros = "0" * draw(st.integers(1, 3))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return zeros + numeral
    return draw(_PLUS_SIGNS) + (zeros if choice == 2 else "") + numeral


def _draw_ambiguous(draw: st.DrawFn, problem: Problem, family: str, style: Style) -> str:
    """A completion (framed in ``style``, its answer in the style's markup or another) of an
    ambiguous family."""
    mark = style.mark
    if draw(_OTHER_MARKUP):  # a quarter in another markup; shrinks to the style's own
        mark = draw(_MARKUP_FUNCTIONS)

    def form(body: str) -> str:
        return style.frame(draw, mark(body))

    x = problem.answer
    num = _draw_numeral(draw, x)
    if family == "negative":
        return form(draw(_SIGNS) + num)
    if family in ("hedged", "self_correction"):
        other = _draw_numeral(draw, _draw_other(draw, x))
        if family == "hedged" and draw(_ANY_CONNECTOR):  # any connector, not just "or"
            joiner = draw(_JOINERS)
            first, second = (num, other) if draw(st.booleans()) else (other, num)
            if draw(st.booleans()):
                return form(first + joiner + second)
            return style.frame(draw, mark(first) + joiner + mark(second))
        if draw(st.booleans()):  # the candidates in one marked answer
            template = draw(_HEDGES if family == "hedged" else _CORRECTIONS)
            return form(template.format(x=num, y=other))
        joiner = " or " if family == "hedged" else ". Actually, "
        first, second = (num, other) if draw(st.booleans()) else (other, num)
        return style.frame(draw, mark(first) + joiner + mark(second))
    if family == "several_numbers":
        template = draw(_SEVERAL)
        n = draw(st.integers(0, 999))
        return form(template.format(a=problem.a, b=problem.b, x=num, n=n))
    if family == "non_ascii_digits":
        return form(_draw_non_ascii(draw, num))
    if family == "decimal":
        return form(_draw_decimal(draw, x))
    if family == "invalid_separators":
        return form(_draw_bad_separators(draw, x))
    if family == "non_canonical":
        return form(_draw_non_canonical(draw, x))
    if family == "expression":
        return form(_draw_expression(draw, problem))
    raise ValueError(f"unknown ambiguous family {family!r}")  # pragma: no cover


def _family_names(families: str | Iterable[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    names = [families] if isinstance(families, str) else list(families)
    for name in names:
        if name not in FAMILIES:
            raise ValueError(f"unknown near-miss family {name!r}: use one of {', '.join(FAMILIES)}")
    if not names:
        raise ValueError("families must name at least one near-miss family")
    return names


def draw_near_miss(draw: st.DrawFn, problem: Problem, style: Style, family: str) -> NearMiss:
    """Draw one near miss of ``family`` for ``problem`` (for use inside ``st.composite``)."""
    if FAMILIES[family].kind == "number":
        value = _VALUE_FAMILIES[family](draw, problem.answer)
        return NearMiss(family, draw_surface_form(draw, value, style), value)
    return NearMiss(family, _draw_ambiguous(draw, problem, family, style), None)


def near_misses(
    problem: Problem,
    style: Style | str = "answer",
    families: str | Iterable[str] | None = None,
) -> st.SearchStrategy[NearMiss]:
    """Completions of ``problem`` that are wrong or ambiguous, from the given ``families``.

    ``number`` families are a wrong integer written in an accepted form of ``style`` (so
    ``value`` is that integer); ``ambiguous`` families are texts that are not one clean
    integer (``value`` is None). See :data:`FAMILIES` for why a policy tries each.
    """
    s = get_style(style)
    names = st.sampled_from(_family_names(families))
    return st.composite(lambda draw: draw_near_miss(draw, problem, s, draw(names)))()


def draw_near_miss_value(draw: st.DrawFn, answer: int, family: str) -> NearMiss:
    """Draw one integer near miss of a ``value_level`` family (inside ``st.composite``)."""
    value = _VALUE_FAMILIES[family](draw, answer)
    return NearMiss(family, str(value), value)


def near_miss_values(
    answer: int, families: str | Iterable[str] | None = None
) -> st.SearchStrategy[NearMiss]:
    """Integer near misses of ``answer``, for rewards of parsed values.

    Only families with ``value_level=True`` exist as integers (wrong digit, within 1 %,
    truncated, extra digit, 10x, negative); others in ``families`` are ignored. A reward must
    be safe for these even if today's parser never produces them: parsers get swapped.
    """
    names = [n for n in _family_names(families) if FAMILIES[n].value_level]
    if not names:
        return st.nothing()
    choice = st.sampled_from(names)
    return st.composite(lambda draw: draw_near_miss_value(draw, answer, draw(choice)))()


# --------------------------------------------------------------------------------------------
# Arbitrary and adversarial text

_TOKENS = [
    "The answer is ",
    "the answer is: ",
    " ",
    "\n",
    ".",
    ",",
    "-",
    "_",
    "e",
    " or ",
    "\\boxed{",
    "}",
    "<think>",
    "</think>",
    "\u0663",
    "\uff15",
    "\u00b2",
    "\u00a0",
]


def arbitrary_text() -> st.SearchStrategy[str]:
    """Any unicode text, or text assembled from digits and the tokens parsers react to.

    Plain ``st.text()`` rarely produces "The answer is", boxes or digit groups, so half of the
    examples are built from those tokens and random integers, which reaches the branches of a
    parser that random text never does. Totality must hold for all of it.
    """
    token = st.one_of(st.sampled_from(_TOKENS), st.integers(0, 10**12).map(str))
    soup = st.lists(token, max_size=12).map("".join)
    return st.one_of(st.text(), soup)


def style_markers(style: Style | str) -> tuple[tuple[str, str] | None, tuple[str, ...]]:
    """The markers a parser of ``style`` looks for: ``(opening, closing)`` of its markup (None
    for a plain style) and its other :attr:`Style.markers`."""
    s = get_style(style)
    sentinel = "\x00"
    marked = s.mark(sentinel)
    pair = None
    if marked != sentinel and marked.count(sentinel) == 1:
        opening, closing = marked.split(sentinel)
        pair = (opening, closing)
    return pair, s.markers


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // max(1, len(unit)))


def adversarial_texts(
    size: int = 1_000_000, style: Style | str | None = None
) -> list[tuple[str, str]]:
    """``(description, text)`` pairs of about ``size`` characters that punish slow parsers.

    Long digit runs (``int()`` of more than 4300 digits raises), digits with separators (nested
    quantifiers backtrack), repeated prefixes, boxes and think tags (repeated ``find`` or
    ``split`` is quadratic), whitespace before a valid answer, non-ASCII digits, signs and
    periods, and seeded random token soup. With ``style``, also its own markers repeated,
    left unclosed and nested (a lazy ``<answer>(.*?)</answer>`` over many opening tags is
    quadratic). Deterministic, so timings are comparable.
    """
    rng = random.Random(0)
    half = size // 2
    tokens = [*_TOKENS, "7", "42", "248171"]
    soup = "".join(rng.choice(tokens) for _ in range(size // 4))[:size]
    texts = [
        ("digit run", "9" * size),
        ("digit run with final period", "1" * (size - 1) + "."),
        ("comma-separated digits", ("123," * (size // 4)) + "x"),
        ("digits and commas, invalid", "1," * half + ",1"),
        ("repeated 'The answer is'", "The answer is " * (size // 14) + "248171"),
        ("whitespace then answer", " " * (size - 6) + "248171"),
        ("answer then whitespace", "248171" + "\n" * (size - 6)),
        ("many numbers", "12 " * (size // 3)),
        ("repeated \\boxed{", "\\boxed{" * (size // 7)),
        ("repeated \\boxed{1} ", "\\boxed{1} " * (size // 10)),
        ("repeated <think>", "<think>" * (size // 7)),
        ("repeated </think>", "</think>" * (size // 8)),
        ("repeated <answer>", "<answer>" * (size // 8)),
        ("<answer> then digits, unclosed", "<answer>" + "1" * (size - 8)),
        ("non-ASCII digits", "\u0663" * size),
        ("minus signs", "-" * size),
        ("periods", "." * size),
        ("random token soup", soup),
    ]
    if style is not None:
        pair, markers = style_markers(style)
        built: list[tuple[str, str]] = []
        if pair is not None:
            o, c = pair
            n = max(1, size // (len(o) + len(c) + 1))
            built += [
                (f"repeated {o!r}", _repeat(o, size)),
                (f"repeated {o + '1'!r}", _repeat(o + "1", size)),
                (f"repeated {o + '1' + c!r}", _repeat(o + "1" + c, size)),
                (f"repeated {o + ' ' + c!r}", _repeat(o + " " + c, size)),
                (f"{o!r} then digits, unclosed", o + "1" * max(1, size - len(o))),
                (f"{o!r} then spaces, unclosed", o + " " * max(1, size - len(o) - 1) + "1"),
                (f"repeated {c!r}", _repeat(c, size)),
                (f"{o!r} nested", o * (n // 2) + "1" + c * (n // 2)),
            ]
        for m in markers:
            built += [
                (f"repeated {m!r}", _repeat(m, size)),
                (f"repeated {m + '1'!r}", _repeat(m + "1", size)),
                (f"repeated {m + ' '!r}", _repeat(m + " ", size)),
                (f"{m!r} then digits", m + "1" * max(1, size - len(m))),
            ]
        seen = {text for _, text in texts} | {desc for desc, _ in texts}
        for desc, text in built:  # descriptions name texts: both must be new
            if text not in seen and desc not in seen:
                seen.update((desc, text))
                texts.append((desc, text))
    return texts


def malformed_texts(style: Style | str, answer: int = 248171) -> list[tuple[str, str]]:
    """``(description, text)``: fixed malformed completions built from ``style``'s markers.

    Empty text, a lone prefix, an unclosed, empty, doubled or nested markup, closing before
    opening, a marker with nothing after it. Structure like this is found by random search
    only by luck (an unclosed box that crashed a parser turned up at one seed), so totality
    always tries every one of these.
    """
    x = str(answer)
    texts: list[tuple[str, str]] = [
        ("empty", ""),
        ("whitespace", " \n\t"),
        ("NUL", "\x00"),
        ("a period", "."),
        ("a comma", ","),
        ("a sign", "-"),
        ("bare prefix", "The answer is"),
        ("prefix and space", "The answer is "),
        ("prefix and colon", "the answer is:"),
        ("prefix and period", "The answer is."),
        ("lone backslash", "\\"),
        ("answer then NUL", x + "\x00"),
    ]
    pair, markers = style_markers(style)
    if pair is not None:
        o, c = pair
        texts += [
            ("opening marker", o),
            ("closing marker", c),
            ("empty markup", o + c),
            ("blank markup", o + " " + c),
            ("closing before opening", c + o),
            ("closing, answer, opening", c + x + o),
            ("unclosed", o + x),
            ("unclosed, then text", o + x + " and so on"),
            ("closing only", x + c),
            ("doubled opening", o + o + x + c),
            ("doubled closing", o + x + c + c),
            ("nested", o + o + x + c + c),
            ("second markup unclosed", o + x + c + o),
            ("markup inside markup", o + "1" + o + x + c + c),
        ]
    for m in markers:
        texts += [
            (f"{m!r} alone", m),
            (f"{m!r} then the answer", m + x),
            (f"the answer then {m!r}", x + m),
            (f"{m!r} twice", m + m + x),
            (f"{m!r} and space", m + " "),
        ]
    return texts
