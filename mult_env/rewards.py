"""Rewards: a parsed answer and the true product in, a :class:`RewardBreakdown` out.

A *correctness reward* is any callable ``(value, answer) -> float`` in ``[0, 1]`` that gives
1.0 exactly when ``value == answer``; built-ins are registered by name (:data:`REWARDS`). The
:class:`Scorer` combines a parser, a correctness reward and the format term of
tinker-cookbook's ``ProblemEnv``::

    total = format_coef * (format_ok - 1) + correctness

so a malformed completion costs ``format_coef`` and the total lies in ``[-format_coef, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any, Protocol, runtime_checkable

from mult_env.parsers import (
    _ANSWER_RE,
    MAX_ANSWER_CHARS,
    AnswerParser,
    Parser,
    ParseResult,
    _rejection_reason,
    get_parser,
)
from mult_env.problems import Problem

__all__ = [
    "REWARDS",
    "Reward",
    "RewardBreakdown",
    "ScoreColumns",
    "Scorer",
    "binary_reward",
    "get_reward",
    "leading_digits_matched",
    "register_reward",
    "shaped_reward",
]

SHAPED_MAX_PARTIAL = 0.95
"""Partial credit tops out just below an exact answer, so exactness always pays more."""


@runtime_checkable
class Reward(Protocol):
    """Correctness in ``[0, 1]`` of a parsed value (None when unparseable) against the answer."""

    def __call__(self, value: int | None, answer: int, /) -> float: ...


def leading_digits_matched(value: int | None, answer: int) -> int:
    """How many leading digits ``value`` shares with ``answer``, if both have the same length.

    Zero whenever the lengths differ or ``value`` is None or negative: a truncated answer, a
    10x answer or one with an extra digit shares no *positions* with the answer, whatever its
    prefix looks like.
    """
    if value is None or value < 0:
        return 0
    got, want = str(value), str(answer)
    if len(got) != len(want):
        return 0
    k = 0
    for g, w in zip(got, want, strict=True):
        if g != w:
            break
        k += 1
    return k


def binary_reward(value: int | None, answer: int) -> float:
    """1.0 for the exact product, 0.0 for anything else."""
    return 1.0 if value is not None and value == answer else 0.0


def shaped_reward(value: int | None, answer: int) -> float:
    """The log's improved shaped reward.

    1.0 for the exact product; otherwise ``0.95 * k / len(str(answer))`` where ``k`` counts
    correct leading digits of a same-length answer (no cap below 0.95, so the 5th and 6th digit
    of a 6-digit product still carry signal). Wrong length, negative or unparseable: 0.0.
    """
    if value is not None and value == answer:
        return 1.0
    return SHAPED_MAX_PARTIAL * leading_digits_matched(value, answer) / len(str(answer))


REWARDS: dict[str, Reward] = {}
"""Registered correctness rewards by name."""


def register_reward(name: str, reward: Reward, *, overwrite: bool = False) -> None:
    """Make ``reward`` available by ``name`` (to :func:`get_reward`, envs and the CLI)."""
    if not callable(reward):
        raise TypeError(f"reward must be callable, got {type(reward).__name__}")
    if name in REWARDS and not overwrite:
        raise ValueError(f"a reward named {name!r} is already registered")
    REWARDS[name] = reward


def get_reward(reward: Reward | Callable[[int | None, int], float] | str) -> Reward:
    """Resolve a registered name, or return a callable reward unchanged."""
    if isinstance(reward, str):
        try:
            return REWARDS[reward]
        except KeyError:
            known = ", ".join(sorted(REWARDS))
            raise ValueError(f"unknown reward {reward!r}: registered rewards are {known}") from None
    if callable(reward):
        return reward
    raise TypeError(f"reward must be a name or a callable, got {type(reward).__name__}")


register_reward("binary", binary_reward)
register_reward("shaped", shaped_reward)


@dataclass(frozen=True, slots=True)
class RewardBreakdown:
    """Every component of one scored completion, for logging and debugging."""

    total: float
    """What the policy is trained on: ``correctness + format_coef * (format_ok - 1)``."""
    correctness: float
    """The correctness reward in ``[0, 1]``."""
    format_penalty: float
    """``format_coef * (format_ok - 1)``: 0.0 or ``-format_coef``."""
    correct: bool
    """The parsed value equals the product."""
    format_ok: bool
    """The parser found the completion well-formed."""
    digits_matched: int
    """Correct leading digits of a same-length answer (see :func:`leading_digits_matched`)."""
    num_digits: int
    """Digits in the true product."""
    parsed: int | None
    """The value the parser read, or None."""
    reason: str
    """The parser's reason (``"ok"`` or why the completion was rejected)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``parsed`` becomes a decimal string so any size is exact."""
        return _row_dict(tuple(getattr(self, name) for name in _FIELDS))


_Row = tuple[float, float, float, bool, bool, int, int, "int | None", str]
"""The fields of a :class:`RewardBreakdown`, in order, as a plain tuple (the scorer's hot paths
build these and only wrap them when a breakdown object is asked for)."""

_new_object = object.__new__
_FIELDS = tuple(f.name for f in fields(RewardBreakdown))
"""Field names in order: the layout of a ``_Row`` and of :class:`ScoreColumns`."""
_BREAKDOWN_SETTERS = tuple(RewardBreakdown.__dict__[name].__set__ for name in _FIELDS)


def _breakdown(row: _Row) -> RewardBreakdown:
    """``RewardBreakdown(*row)`` at about a third of the cost.

    The frozen dataclass's generated ``__init__`` stores each of the nine fields through
    ``object.__setattr__``; writing the slots through their descriptors builds the very same
    (equal, frozen, hashable) instance without that per-field overhead.
    """
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = _BREAKDOWN_SETTERS
    b = _new_object(RewardBreakdown)
    s0(b, row[0])
    s1(b, row[1])
    s2(b, row[2])
    s3(b, row[3])
    s4(b, row[4])
    s5(b, row[5])
    s6(b, row[6])
    s7(b, row[7])
    s8(b, row[8])
    return b


def _row_dict(row: _Row) -> dict[str, Any]:
    """:meth:`RewardBreakdown.to_dict` of the breakdown with these fields."""
    parsed = row[7]
    return {
        "total": row[0],
        "correctness": row[1],
        "format_penalty": row[2],
        "correct": row[3],
        "format_ok": row[4],
        "digits_matched": row[5],
        "num_digits": row[6],
        "parsed": None if parsed is None else str(parsed),
        "reason": row[8],
    }


@dataclass(frozen=True, slots=True)
class ScoreColumns:
    """Many scored completions in columns: field ``f`` holds ``breakdown.f`` of every item.

    Returned by :meth:`Scorer.score_columns`, the cheapest batch path: no per-item object is
    built, and ``total`` is ready for ``numpy.asarray`` to compute group-relative advantages.
    Item ``i`` of every column equals the field of ``Scorer.score(completions[i], ...)``;
    :meth:`rows` rebuilds those breakdowns.
    """

    total: tuple[float, ...]
    correctness: tuple[float, ...]
    format_penalty: tuple[float, ...]
    correct: tuple[bool, ...]
    format_ok: tuple[bool, ...]
    digits_matched: tuple[int, ...]
    num_digits: tuple[int, ...]
    parsed: tuple[int | None, ...]
    reason: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.total)

    def rows(self) -> list[RewardBreakdown]:
        """The per-item breakdowns, as :meth:`Scorer.score_group` / ``score_many`` return."""
        columns = (getattr(self, name) for name in _FIELDS)
        return [_breakdown(row) for row in zip(*columns, strict=True)]


_COLUMN_SETTERS = tuple(ScoreColumns.__dict__[name].__set__ for name in _FIELDS)


_UNSET = object()
_EMPTY_ROW: _Row = (0.0, 0.0, 0.0, False, False, 0, 0, None, "")

_AnswerFacts = tuple[str, int, _Row, tuple[str, ...]]


def _answer_facts(answer: int) -> _AnswerFacts:
    """What the inline scoring route needs about an ``int`` answer ``A``, computed once per
    answer: ``str(A)``, its length, the row of an exact answer, and the commonest exact
    completions, ``The answer is A.`` and ``A``, which the ``answer`` parser reads as ``A``
    (when ``A >= 0`` and they are within its length limit), so that they need no regex."""
    want = str(answer)
    n = len(want)
    exact = (1.0, 1.0, 0.0, True, True, n, n, answer, "ok")
    if answer < 0 or n > MAX_ANSWER_CHARS - 15:  # len("The answer is A.") = n + 15
        return want, n, exact, ()
    return want, n, exact, (f"The answer is {want}.", want)


def _inline_row(text: str, facts: _AnswerFacts, shaped: bool, bad_format: float) -> _Row:
    """The row of ``text`` (assistant prefix + completion) by the inline route: the built-in
    ``answer`` parser's steps and the ``shaped`` (else ``binary``) reward, computed directly.

    * the parser's steps, minus the call and the :class:`ParseResult`: strip, then (the
      commonest completions) equality with the exact texts of :func:`_answer_facts`, else
      the length limit, ``_ANSWER_RE``, and for what it rejects the parser's rejection
      reason; a read value is always well-formed, a rejected text never;
    * correctness and leading digits are then string comparisons of the value's canonical
      digits with the answer's, the shaped credit is the expression of
      :func:`shaped_reward`, and an unparsed value earns 0.0 from both rewards and 0 digits,
      exactly as those functions return for ``None``.
    """
    want, n, exact_row, exact_texts = facts
    got = text.strip()
    if got in exact_texts:
        return exact_row
    match = _ANSWER_RE.fullmatch(got) if len(got) <= MAX_ANSWER_CHARS else None
    if match is None:
        return _rejected_row(got, n, bad_format)
    digits = match[1]
    if "," in digits:
        digits = digits.replace(",", "")  # now canonical: str(int(digits)) == digits
    if digits == want:
        return exact_row
    k = 0
    if len(digits) == n:
        while digits[k] == want[k]:  # ends: same length, and digits != want
            k += 1
    correctness = SHAPED_MAX_PARTIAL * k / n if shaped else 0.0
    return (correctness, correctness, 0.0, False, True, k, n, int(digits), "ok")


def _rejected_row(text: str, n: int, bad_format: float) -> _Row:
    """The row of a stripped completion the ``answer`` parser rejects (``n``: answer digits)."""
    reason = "too long" if len(text) > MAX_ANSWER_CHARS else _rejection_reason(text)
    return (0.0 + bad_format, 0.0, bad_format, False, False, 0, n, None, reason)


class Scorer:
    """Parser + correctness reward + format term: completions in, breakdowns out.

    This is the fast path trainers use (no Gymnasium overhead): :meth:`score_group` scores a
    GRPO group (one problem, many completions) and :meth:`score_many` pairs problems with
    completions. ``assistant_prefix`` is prepended to every completion before parsing, for
    prompts whose assistant turn was pre-filled.
    """

    def __init__(
        self,
        parser: Parser | str = "answer",
        reward: Reward | str = "shaped",
        format_coef: float = 0.1,
        assistant_prefix: str = "",
    ) -> None:
        if not isinstance(format_coef, int | float) or not 0.0 <= format_coef <= 1.0:
            raise ValueError(f"format_coef must be a number in [0, 1], got {format_coef!r}")
        if not isinstance(assistant_prefix, str):
            raise TypeError("assistant_prefix must be a str")
        self.parser = get_parser(parser)
        self.reward = get_reward(reward)
        self.format_coef = float(format_coef)
        self.assistant_prefix = assistant_prefix

    def parse(self, completion: str) -> ParseResult:
        """Run the parser on ``assistant_prefix + completion`` and check what it returned."""
        if not isinstance(completion, str):
            raise TypeError(f"completion must be a str, got {type(completion).__name__}")
        result = self.parser(self.assistant_prefix + completion)
        if not isinstance(result, ParseResult):
            raise TypeError(
                f"parser {self.parser!r} returned {type(result).__name__}, expected ParseResult"
            )
        return result

    def score(self, completion: str, problem: Problem) -> RewardBreakdown:
        """Score one completion of one problem."""
        return _breakdown(self._score_one(completion, problem.answer))

    def score_group(self, completions: Sequence[str], problem: Problem) -> list[RewardBreakdown]:
        """Score many completions of one problem (a GRPO group)."""
        return [_breakdown(row) for row in self._score_rows(completions, repeat(problem))]

    def score_many(
        self, completions: Sequence[str], problems: Sequence[Problem]
    ) -> list[RewardBreakdown]:
        """Score ``completions[i]`` against ``problems[i]``."""
        self._check_pairs(completions, problems)
        return [_breakdown(row) for row in self._score_rows(completions, problems)]

    def score_columns(
        self, completions: Sequence[str], problems: Problem | Sequence[Problem]
    ) -> ScoreColumns:
        """Score a batch into columns: a GRPO group (``problems`` one :class:`Problem`) or
        ``completions[i]`` against ``problems[i]``.

        The same scores as :meth:`score_group` / :meth:`score_many`, without building one
        :class:`RewardBreakdown` per completion (the cheapest path for trainers that only need
        the columns, e.g. ``total`` for advantages and ``correct`` for accuracy).
        """
        if isinstance(problems, Problem):
            items: Iterable[Problem] = repeat(problems)
        else:
            self._check_pairs(completions, problems)
            items = problems
        rows = self._score_rows(completions, items)
        columns = _new_object(ScoreColumns)
        for setter, column in zip(
            _COLUMN_SETTERS, zip(*rows, strict=True) if rows else ((),) * 9, strict=True
        ):
            setter(columns, column)  # a frozen dataclass, filled through its slot descriptors
        return columns

    @staticmethod
    def _check_pairs(completions: Sequence[str], problems: Sequence[Problem]) -> None:
        if len(completions) != len(problems):
            raise ValueError(
                f"got {len(completions)} completions for {len(problems)} problems; "
                "they must pair up one to one"
            )

    def _score_row(self, completion: str, answer: int) -> _Row:
        """The general path: the fields of the breakdown of ``completion`` against ``answer``."""
        parsed = self.parse(completion)
        correctness = float(self.reward(parsed.value, answer))
        if not 0.0 <= correctness <= 1.0:  # also rejects NaN
            raise ValueError(
                f"reward {self.reward!r} returned {correctness} for {parsed.value!r}; "
                "correctness must lie in [0, 1]"
            )
        penalty = 0.0 if parsed.well_formed else -self.format_coef
        return (
            correctness + penalty,
            correctness,
            penalty,
            parsed.value is not None and parsed.value == answer,
            parsed.well_formed,
            leading_digits_matched(parsed.value, answer),
            len(str(answer)),
            parsed.value,
            parsed.reason,
        )

    def _fast(self) -> bool:
        """Whether the inline route applies: the built-in answer parser, shaped/binary reward."""
        reward = self.reward
        return type(self.parser) is AnswerParser and (
            reward is shaped_reward or reward is binary_reward
        )

    def _score_one(self, completion: str, answer: int) -> _Row:
        """:meth:`_score_row` of one completion, by :func:`_inline_row` where it applies."""
        if type(completion) is str and type(answer) is int and self._fast():
            return _inline_row(
                self.assistant_prefix + completion,
                _answer_facts(answer),
                self.reward is shaped_reward,
                -self.format_coef,
            )
        return self._score_row(completion, answer)

    def _score_rows(self, completions: Sequence[str], problems: Iterable[Problem]) -> list[_Row]:
        """:meth:`_score_one` of each completion against its problem's answer.

        With the built-in ``answer`` parser and the built-in ``shaped`` or ``binary`` reward
        (the defaults) every ``str`` completion takes the inline route (:func:`_inline_row`,
        written out in the loop), with the facts of each answer computed once per run of
        equal problems; anything else goes through the general :meth:`_score_row`. Both
        routes give identical rows; ``tests/test_fast_paths.py`` asserts it.
        """
        if not self._fast():
            return [
                self._score_row(c, p.answer) for c, p in zip(completions, problems, strict=False)
            ]
        if not isinstance(completions, list | tuple):
            completions = list(completions)  # read twice below
        prefix = self.assistant_prefix
        try:
            texts = list(
                map(str.strip, map(prefix.__add__, completions) if prefix else completions)
            )
        except TypeError:  # a non-str completion: the general path raises the clear error
            return [
                self._score_row(c, p.answer) for c, p in zip(completions, problems, strict=False)
            ]
        shaped = self.reward is shaped_reward
        bad_format = -self.format_coef
        fullmatch = _ANSWER_RE.fullmatch
        rows: list[_Row] = []
        append = rows.append
        last_problem: object = _UNSET  # not None: a None problem must fail like score() does
        facts: _AnswerFacts = ("", 0, _EMPTY_ROW, ())
        want: str | None = None
        n = 0
        exact_row = _EMPTY_ROW
        exact_texts: tuple[str, ...] = ()
        answer = 0
        # The steps of _inline_row, with its commonest outcomes (an exact text, a read value
        # that is the answer or a plain number that is not) written out: a call per item
        # would cost about as much as the regex match.
        for text, completion, problem in zip(texts, completions, problems, strict=False):
            if problem is not last_problem:  # a GRPO batch repeats each Problem object
                last_problem, answer = problem, problem.answer
                if type(answer) is int:
                    facts = _answer_facts(answer)
                    want, n, exact_row, exact_texts = facts
                else:  # rejections score alike; a read value takes the general path
                    want, n, exact_texts = None, len(str(answer)), ()
            if text in exact_texts:
                append(exact_row)
                continue
            match = fullmatch(text) if len(text) <= MAX_ANSWER_CHARS else None
            if match is None:
                append(_rejected_row(text, n, bad_format))
                continue
            digits = match[1]
            if digits == want:
                append(exact_row)
            elif want is None:
                append(self._score_row(completion, answer))
            elif "," in digits:
                append(_inline_row(text, facts, shaped, bad_format))
            else:  # as in _inline_row, for a plain number that is not the answer
                k = 0
                if len(digits) == n:
                    while digits[k] == want[k]:
                        k += 1
                correctness = SHAPED_MAX_PARTIAL * k / n if shaped else 0.0
                append((correctness, correctness, 0.0, False, True, k, n, int(digits), "ok"))
        return rows

    def __repr__(self) -> str:
        return (
            f"Scorer(parser={self.parser!r}, reward={self.reward!r}, "
            f"format_coef={self.format_coef}, assistant_prefix={self.assistant_prefix!r})"
        )
