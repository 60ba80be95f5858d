"""Answer parsers: untrusted completion text in, a structured :class:`ParseResult` out.

Completions come from a policy that is being optimised to earn reward, so a parser is a
security boundary. Every built-in parser here is

* **total**: any ``str`` gives a result (never an exception); a non-``str`` raises
  ``TypeError`` naming the type, because that is a bug in the caller, not a bad answer;
* **linear-time and bounded**: no regular expression with nested quantifiers, long inputs are
  rejected by length before any number is converted (CPython refuses ``int()`` of more than
  4300 digits anyway);
* **strict about what counts as one answer**: the default ``answer`` parser matches the *whole*
  completion, so "12*15=180 so 999" or "248171 or 248172" is malformed instead of scoring its
  last or first number; only ASCII digits count (``\\d`` with ``int()`` would accept Tamil or
  Arabic-Indic digits); a minus sign is malformed (products of positive operands are positive).

A parser is any callable ``(completion: str) -> ParseResult``. Built-ins are registered by name
(:data:`PARSERS`); :func:`get_parser` resolves a name or passes a callable through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "PARSERS",
    "AnswerParser",
    "BoxedParser",
    "LastNumberParser",
    "ParseResult",
    "Parser",
    "ThinkStripped",
    "get_parser",
    "register_parser",
]

MAX_ANSWER_CHARS = 160
"""Longest stripped completion (or box content) the strict parsers will look at.

Generous for any answer up to 40 digits with separators and the prefix; anything longer is not
"just the answer" and is rejected without running a regular expression over it."""

MAX_NUMBER_DIGITS = 100
"""Longest digit run :class:`LastNumberParser` converts; longer runs are unparseable."""

# A non-negative integer in canonical form: no leading zeros, and either no separators or
# correctly placed thousands separators (1-3 leading digits, then groups of exactly 3).
_NUMBER = r"(?:0|[1-9][0-9]*|[1-9][0-9]{0,2}(?:,[0-9]{3})+)"
_ANSWER_RE = re.compile(rf"(?:[Tt]he answer is:?\s+)?({_NUMBER})\.?", re.ASCII)
_NUMBER_RE = re.compile(_NUMBER, re.ASCII)
_DIGIT_RUN_RE = re.compile(r"[0-9](?:[0-9,]*[0-9])?", re.ASCII)
_SIGNED_RE = re.compile(r"[+-][\s+-]*[0-9]", re.ASCII)
_SEPARATED_RE = re.compile(r"[,_]*[0-9][0-9,_]*", re.ASCII)
_DECIMAL_RE = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+|(?:\.[0-9]+)?[eE][+-]?[0-9]+)", re.ASCII)
_PREFIXES = ("The answer is", "the answer is")


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a parser read from a completion."""

    value: int | None
    """The answer as an integer, or None when no answer could be read."""
    well_formed: bool
    """Whether the completion follows the expected format (drives the format term)."""
    reason: str
    """Short human-readable explanation: ``"ok"`` or why the text was rejected."""


@runtime_checkable
class Parser(Protocol):
    """Anything that turns a completion into a :class:`ParseResult`."""

    def __call__(self, completion: str, /) -> ParseResult: ...


def _require_str(completion: object) -> str:
    if not isinstance(completion, str):
        raise TypeError(f"completion must be a str, got {type(completion).__name__}")
    return completion


def _malformed(reason: str) -> ParseResult:
    return ParseResult(None, False, reason)


def _strict_number(text: str) -> ParseResult:
    """Parse text that must be exactly one canonical number (box content)."""
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        return _malformed("too long")
    if _NUMBER_RE.fullmatch(text):
        return ParseResult(int(text.replace(",", "")), True, "ok")
    return _malformed(_why_not_a_number(text))


def _why_not_a_number(text: str) -> str:
    """What is wrong with stripped text (at most ``MAX_ANSWER_CHARS`` long) that should be
    exactly one canonical non-negative integer."""
    if not text:
        return "empty"
    if _SIGNED_RE.match(text):
        return "negative or signed number"
    if not text.isascii() and any(ch.isdigit() and not ch.isascii() for ch in text):
        return "non-ASCII digits"
    if text[0] == "0" and text.isascii() and text.isdigit():
        return "leading zeros"
    if _SEPARATED_RE.fullmatch(text):
        return "invalid thousands separators"
    if _DECIMAL_RE.fullmatch(text):
        return "not an integer"
    runs = len(_DIGIT_RUN_RE.findall(text))
    if runs == 0:
        return "no number"
    return "several numbers" if runs > 1 else "text around the number"


def _why_not_an_answer(text: str) -> str:
    """What is wrong with stripped text (at most ``MAX_ANSWER_CHARS`` long) that
    :class:`AnswerParser` rejects: the spacing after the prefix, or what follows it."""
    body = text
    if body[:13] in _PREFIXES:
        rest = body[13:].removeprefix(":")
        body = rest.lstrip()
        if _NUMBER_RE.fullmatch(body.removesuffix(".")):
            return "no ASCII space after 'The answer is'"
    return _why_not_a_number(body.removesuffix("."))


class AnswerParser:
    """The log's unified regex: the whole completion is the answer.

    Accepted (after stripping surrounding whitespace): an optional "The answer is" (or "the
    answer is", optionally followed by a colon), then one non-negative integer written either
    plainly (``248171``) or with valid thousands separators (``248,171``), then an optional
    final period. Format check and extraction are the same ``fullmatch``, so what is rewarded
    for format is exactly what is read as the answer.
    """

    name = "answer"

    def __call__(self, completion: str) -> ParseResult:
        text = _require_str(completion).strip()
        if len(text) > MAX_ANSWER_CHARS:
            return _malformed("too long")
        match = _ANSWER_RE.fullmatch(text)
        if match:
            return ParseResult(int(match[1].replace(",", "")), True, "ok")
        return _malformed(_why_not_an_answer(text))


class BoxedParser:
    """Exactly one ``\\boxed{N}`` anywhere in the completion, N a canonical integer.

    Text around the box (reasoning) is allowed; two or more boxes are malformed, so a policy
    cannot hedge by boxing several candidates.
    """

    name = "boxed"
    _OPEN = "\\boxed{"

    def __call__(self, completion: str) -> ParseResult:
        text = _require_str(completion)
        count = text.count(self._OPEN)
        if count == 0:
            return _malformed("no \\boxed{}")
        if count > 1:
            return _malformed("several \\boxed{}")
        start = text.index(self._OPEN) + len(self._OPEN)
        end = text.find("}", start)
        if end < 0:
            return _malformed("unclosed \\boxed{")
        return _strict_number(text[start:end])


class LastNumberParser:
    """The last run of ASCII digits (commas inside it ignored) anywhere in the text.

    **Exploitable, for comparison only.** This is the "last number wins" rule that the research
    log found rewarding junk: "12*15=180 so 248171" scores 248171, "-248171" scores 248171,
    and a policy can list candidates and put its best guess last. Any text containing a digit
    counts as well-formed.
    """

    name = "last_number"

    def __call__(self, completion: str) -> ParseResult:
        text = _require_str(completion)
        match = _DIGIT_RUN_RE.search(text[::-1])  # first run of the reversed text = last run
        if match is None:
            return _malformed("no number")
        digits = match.group(0)[::-1].replace(",", "")
        if len(digits) > MAX_NUMBER_DIGITS:
            return _malformed("number too long")
        return ParseResult(int(digits), True, "ok")


class ThinkStripped:
    """Wraps a parser for reasoning models: drop the ``<think>…</think>`` block first.

    Everything up to the last ``</think>`` is reasoning and is removed (this also handles
    templates that pre-fill the opening tag); the rest is parsed by ``inner``. An opening
    ``<think>`` that is never closed is malformed: the answer was never given.
    """

    def __init__(self, inner: Parser | str) -> None:
        self.inner = get_parser(inner)
        self.name = f"think_{getattr(self.inner, 'name', type(self.inner).__name__)}"

    def __call__(self, completion: str) -> ParseResult:
        text = _require_str(completion)
        close = text.rfind("</think>")
        if close >= 0:
            text = text[close + len("</think>") :]
        if "<think>" in text:
            return _malformed("unterminated <think>")
        return self.inner(text)

    def __repr__(self) -> str:
        return f"ThinkStripped({self.inner!r})"


PARSERS: dict[str, Parser] = {}
"""Registered parsers by name."""


def register_parser(name: str, parser: Parser, *, overwrite: bool = False) -> None:
    """Make ``parser`` available by ``name`` (to :func:`get_parser`, envs and the CLI)."""
    if not callable(parser):
        raise TypeError(f"parser must be callable, got {type(parser).__name__}")
    if name in PARSERS and not overwrite:
        raise ValueError(f"a parser named {name!r} is already registered")
    PARSERS[name] = parser


def get_parser(parser: Parser | Callable[[str], ParseResult] | str) -> Parser:
    """Resolve a registered name, or return a callable parser unchanged."""
    if isinstance(parser, str):
        try:
            return PARSERS[parser]
        except KeyError:
            known = ", ".join(sorted(PARSERS))
            raise ValueError(f"unknown parser {parser!r}: registered parsers are {known}") from None
    if callable(parser):
        return parser
    raise TypeError(f"parser must be a name or a callable, got {type(parser).__name__}")


for _parser in (AnswerParser(), BoxedParser(), LastNumberParser()):
    register_parser(_parser.name, _parser)
for _inner in ("answer", "boxed"):
    _wrapped = ThinkStripped(_inner)
    register_parser(_wrapped.name, _wrapped)
