"""Rewards: a parsed answer and the true product in, a :class:`RewardBreakdown` out.

A *correctness reward* is any callable ``(value, answer) -> float`` in ``[0, 1]`` that gives
1.0 exactly when ``value == answer``; built-ins are registered by name (:data:`REWARDS`). The
:class:`Scorer` combines a parser, a correctness reward and the format term of
tinker-cookbook's ``ProblemEnv``::

    total = format_coef * (format_ok - 1) + correctness

so a malformed completion costs ``format_coef`` and the total lies in ``[-format_coef, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mult_env.parsers import Parser, ParseResult, get_parser
from mult_env.problems import Problem

__all__ = [
    "REWARDS",
    "Reward",
    "RewardBreakdown",
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
        return {
            "total": self.total,
            "correctness": self.correctness,
            "format_penalty": self.format_penalty,
            "correct": self.correct,
            "format_ok": self.format_ok,
            "digits_matched": self.digits_matched,
            "num_digits": self.num_digits,
            "parsed": None if self.parsed is None else str(self.parsed),
            "reason": self.reason,
        }


class Scorer:
    """Parser + correctness reward + format term: completions in, breakdowns out.

    Trainers score with this directly (no Gymnasium overhead): :meth:`score_group` scores a
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
        answer = problem.answer
        parsed = self.parse(completion)
        correctness = float(self.reward(parsed.value, answer))
        if not 0.0 <= correctness <= 1.0:  # also rejects NaN
            raise ValueError(
                f"reward {self.reward!r} returned {correctness} for {parsed.value!r}; "
                "correctness must lie in [0, 1]"
            )
        penalty = 0.0 if parsed.well_formed else -self.format_coef
        return RewardBreakdown(
            total=correctness + penalty,
            correctness=correctness,
            format_penalty=penalty,
            correct=parsed.value is not None and parsed.value == answer,
            format_ok=parsed.well_formed,
            digits_matched=leading_digits_matched(parsed.value, answer),
            num_digits=len(str(answer)),
            parsed=parsed.value,
            reason=parsed.reason,
        )

    def score_group(self, completions: Sequence[str], problem: Problem) -> list[RewardBreakdown]:
        """Score many completions of one problem (a GRPO group)."""
        return [self.score(completion, problem) for completion in completions]

    def score_many(
        self, completions: Sequence[str], problems: Sequence[Problem]
    ) -> list[RewardBreakdown]:
        """Score ``completions[i]`` against ``problems[i]``."""
        if len(completions) != len(problems):
            raise ValueError(
                f"got {len(completions)} completions for {len(problems)} problems; "
                "they must pair up one to one"
            )
        return [self.score(c, p) for c, p in zip(completions, problems, strict=True)]

    def __repr__(self) -> str:
        return (
            f"Scorer(parser={self.parser!r}, reward={self.reward!r}, "
            f"format_coef={self.format_coef}, assistant_prefix={self.assistant_prefix!r})"
        )
