"""``check_parser`` and ``check_reward``: the library's hack-resistance properties, for your code.

Each property runs as a hypothesis search over :mod:`mult_env.testing.strategies`; when one
fails, hypothesis shrinks the counterexample and the error names the property and the minimal
example, e.g. ``reward 0.857 for '-327279' when the answer is 327279: negative answers must
not earn credit``. All properties run (one failure does not hide another) and the result is a
:class:`CheckReport` that also records what was skipped or allowed; by default a failing check
raises :class:`CheckError` (an ``AssertionError``, so pytest shows it as a test failure).
"""

from __future__ import annotations

import functools
import math
import numbers
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from mult_env.parsers import Parser, ParseResult, get_parser
from mult_env.problems import Difficulty, Problem, resolve_difficulty
from mult_env.rewards import Scorer, get_reward
from mult_env.testing.strategies import (
    FAMILIES,
    STYLES,
    NearMiss,
    Style,
    adversarial_texts,
    arbitrary_text,
    draw_near_miss,
    draw_near_miss_value,
    draw_surface_form,
    get_style,
    problems,
)

__all__ = [
    "PARSER_PROPERTIES",
    "REWARD_PROPERTIES",
    "CheckError",
    "CheckReport",
    "Violation",
    "check_parser",
    "check_reward",
]

PARSER_PROPERTIES: dict[str, str] = {
    "total": "returns a ParseResult (value int or None, well_formed bool, reason str) for any str",
    "rejects_non_str": "raises TypeError for a completion that is not a str",
    "accepts_true_answer": "reads the true answer, well-formed, from every accepted form",
    "reads_written_value": "reads exactly the integer written in an accepted form",
    "near_misses": "reads no value from ambiguous near misses, the written value from wrong ones",
    "linear_time": "parses adversarial ~1 MB completions within the time limit",
}
"""Properties :func:`check_parser` runs, by name (names accepted by ``skip=``)."""

REWARD_PROPERTIES: dict[str, str] = {
    "total": "returns a real number (not NaN) for any completion or parsed value",
    "bounded": "stays within bounds (correctness rewards: [0, 1])",
    "true_answer_max": "pays the maximum for the true answer in every accepted form",
    "only_true_answer_max": "pays the maximum for nothing but the true answer",
    "near_misses": "pays no credit for near-miss families, never the maximum for any",
    "monotone": "correcting a wrong digit of a same-length answer never lowers the reward",
    "linear_time": "scores adversarial ~1 MB completions within the time limit",
}
"""Properties :func:`check_reward` runs, by name (names accepted by ``skip=``)."""

_MAX_SHOWN = 120
_CHECK_PROBLEM = Problem(847, 293)  # the log's few-shot example, answer 248171

T = TypeVar("T")

_PROBLEMS = problems()
_ARBITRARY = arbitrary_text()
_FAMILY_NAMES = st.sampled_from(list(FAMILIES))
_WHICH = st.integers(0, 2)
_ANY_NUMBER = st.integers(0, 10**40)
_ANY_VALUE = st.one_of(st.none(), st.integers(-(10**45), 10**45))
_VALUE_FAMILY_NAMES = st.sampled_from([f for f in FAMILIES if FAMILIES[f].value_level])


def _composite(draw_case: Callable[[st.DrawFn], T]) -> st.SearchStrategy[T]:
    return st.composite(draw_case)()


def _draw_any_text(draw: st.DrawFn, p: Problem, style: Style) -> str:
    """Arbitrary text, an accepted form or a near miss: everything a check must survive."""
    which = draw(_WHICH)
    if which == 0:
        return draw(_ARBITRARY)
    if which == 1:
        return draw_surface_form(draw, p.answer, style)
    return draw_near_miss(draw, p, style, draw(_FAMILY_NAMES)).text


@dataclass(frozen=True)
class Violation:
    """A property that failed, with hypothesis's minimal counterexample in the message."""

    property: str
    message: str
    family: str | None = None

    def __str__(self) -> str:
        where = f"{self.property}/{self.family}" if self.family else self.property
        return f"[{where}] {self.message}"


@dataclass
class CheckReport:
    """What a check ran, what it skipped or allowed, and what failed."""

    target: str
    """repr of the parser or reward checked."""
    kind: Literal["parser", "reward"]
    style: str
    """The answer style accepted forms and near misses were written in."""
    max_examples: int | None
    """Hypothesis examples per property (None: the active hypothesis profile's default)."""
    passed: list[str] = field(default_factory=list)
    """Properties (``near_misses/<family>`` per family) that held."""
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Properties not run because the caller asked (``skip=``)."""
    allowed: list[str] = field(default_factory=list)
    """Near-miss families not checked because the caller allowed them (``allow=``)."""
    notes: list[str] = field(default_factory=list)
    """Other facts about the run, e.g. checks that do not apply to this kind of reward."""
    difficulty: str = "any"
    """The problems drawn (``difficulty=``)."""

    @property
    def ok(self) -> bool:
        """True when no property was violated."""
        return not self.violations

    def summary(self) -> str:
        """A multi-line human-readable account, the text the CLI prints."""
        status = "PASSED" if self.ok else f"FAILED ({len(self.violations)} violated)"
        examples = "profile default" if self.max_examples is None else str(self.max_examples)
        lines = [
            f"check_{self.kind}({self.target}): {status}",
            f"  style: {self.style}; problems: {self.difficulty}; examples per property: "
            f"{examples}",
            f"  passed: {', '.join(self.passed) or '-'}",
        ]
        if self.skipped:
            lines.append(f"  skipped (by request): {', '.join(self.skipped)}")
        if self.allowed:
            lines.append(f"  allowed families (not checked): {', '.join(self.allowed)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(f"  VIOLATED {v}" for v in self.violations)
        return "\n".join(lines)


class CheckError(AssertionError):
    """A parser or reward violated at least one property; ``report`` has the full account."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        first = report.violations[0]
        more = "".join(f"\n{v}" for v in report.violations[1:])
        super().__init__(f"{first}{more}\n\n{report.summary()}")


# --------------------------------------------------------------------------------------------
# Machinery


class _Fail(Exception):
    """Raised inside a property; hypothesis shrinks the example and re-raises the minimal one."""


def _show(text: str) -> str:
    if len(text) <= _MAX_SHOWN:
        return repr(text)
    return f"{text[: _MAX_SHOWN - 20]!r}... ({len(text)} chars)"


def _name(obj: object) -> str:
    """``module.function`` for functions, the repr (or ``Class()``) for callable objects."""
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{getattr(obj, '__module__', '?')}.{qualname}"
    cls = type(obj)
    if cls.__repr__ is not object.__repr__:
        return repr(obj)
    return f"{cls.__module__}.{cls.__qualname__}()"


@dataclass(frozen=True)
class _Config:
    max_examples: int | None
    seed: int | None

    def run(self, strategy: st.SearchStrategy[T], test: Callable[[T], object]) -> str | None:
        """Search ``strategy`` for an example where ``test`` raises :class:`_Fail`."""
        options: dict[str, Any] = {
            "database": None,  # a check is not a test suite: leave no .hypothesis/ behind
            "deadline": None,  # user code may be slow on its first call
            "verbosity": Verbosity.quiet,
            "report_multiple_bugs": False,  # one minimal counterexample per property
            # No "explain" phase: its replays cost ~100 calls per failure and its notes are
            # not part of our message (the minimal example is).
            "phases": [p for p in Phase if p is not Phase.explain],
            "suppress_health_check": [
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        }
        if self.max_examples is not None:
            options["max_examples"] = self.max_examples

        @settings(**options)
        @given(strategy)
        def search(case: T) -> None:
            test(case)

        if self.seed is not None:
            search = hypothesis_seed(self.seed)(search)
        try:
            search()
        except _Fail as e:
            return str(e)
        except FlakyFailure as e:  # the user's code answered differently on replay
            inner = next((x for x in e.exceptions if isinstance(x, _Fail)), e)
            return f"{inner} (flaky: not reproducible on replay, so not minimised)"
        return None


def _score(raw: object, what: str) -> float:
    """``raw`` as a float, or :class:`_Fail` when it is not a real number."""
    if not isinstance(raw, numbers.Real):
        raise _Fail(f"{what} returned {type(raw).__name__} {raw!r}, not a real number")
    value = float(raw)
    if math.isnan(value):
        raise _Fail(f"{what} returned NaN")
    return value


def _call(fn: Callable[..., T], what: str, *args: object) -> T:
    try:
        return fn(*args)
    except _Fail:
        raise
    except Exception as e:
        raise _Fail(f"{what} raised {type(e).__name__}: {e}") from None


def _ascii_digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


@functools.lru_cache(maxsize=3)
def _adversarial(size: int) -> list[tuple[str, str]]:
    return adversarial_texts(size)


def _check_time(fn: Callable[[str], object], limit: float, size: int, what: str) -> str | None:
    """Time ``fn`` on adversarial texts of growing size; a superlinear one fails early.

    Each size has a budget proportional to its length (at least 2 ms), and an over-budget time
    is re-measured twice (best of three) so a busy machine does not fail a linear parser.
    Caveat: a parser with exponential backtracking may hang here rather than fail.
    """
    for n in sorted({min(size, 1000), min(size, 30_000), size}):
        budget = max(limit * n / size, 0.002)
        for desc, text in _adversarial(n):
            best = math.inf
            for _ in range(3):
                start = time.perf_counter()
                try:
                    fn(text)
                except Exception as e:
                    error = str(e) if isinstance(e, _Fail) else f"{type(e).__name__}: {e}"
                    return (
                        f"{what} failed on {desc} ({len(text):,} chars): {error}; any str, "
                        "however long, must give a result"
                    )
                best = min(best, time.perf_counter() - start)
                if best <= budget:
                    break
            if best > budget:
                return (
                    f"{what} took {best:.3f} s on {desc} ({len(text):,} chars), over the "
                    f"{budget:.3f} s budget for that size: parsing must be linear-time "
                    "(a policy can emit very long completions)"
                )
    return None


def _normalise(names: Iterable[str], known: Iterable[str], what: str) -> list[str]:
    names = [names] if isinstance(names, str) else list(names)
    known = list(known)
    for name in names:
        if name not in known:
            raise ValueError(f"unknown {what} {name!r}: use one of {', '.join(known)}")
    return names


def _problems(difficulty: Difficulty | None) -> st.SearchStrategy[Problem]:
    return _PROBLEMS if difficulty is None else problems(difficulty=difficulty)


def _describe(difficulty: Difficulty | None) -> str:
    if difficulty is None:
        return "any (operands of 1 to 20 digits)"
    da, db = resolve_difficulty(difficulty)
    return f"{difficulty} ({da}x{db} digits)" if isinstance(difficulty, str) else f"{da}x{db}"


def _default_style(parser: object) -> str:
    name = getattr(parser, "name", None)
    return name if isinstance(name, str) and name in STYLES else "answer"


# --------------------------------------------------------------------------------------------
# check_parser


def _check_result(result: object, what: str) -> ParseResult:
    if not isinstance(result, ParseResult):
        raise _Fail(f"{what} returned {type(result).__name__}, expected ParseResult")
    if result.value is not None and (type(result.value) is not int):
        raise _Fail(f"{what} returned value {result.value!r}, expected an int or None")
    if type(result.well_formed) is not bool:
        raise _Fail(f"{what} returned well_formed {result.well_formed!r}, expected a bool")
    if not isinstance(result.reason, str):
        raise _Fail(f"{what} returned reason {result.reason!r}, expected a str")
    return result


def check_parser(
    parser: Parser | Callable[[str], ParseResult] | str,
    *,
    style: Style | str | None = None,
    allow: Iterable[str] = (),
    skip: Iterable[str] = (),
    difficulty: Difficulty | None = None,
    max_examples: int | None = None,
    time_limit: float = 0.1,
    size: int = 1_000_000,
    seed: int | None = None,
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check an answer parser against :data:`PARSER_PROPERTIES`.

    Args:
        parser: a callable ``(completion: str) -> ParseResult`` or a registered parser name.
        style: where the parser expects the answer (a :data:`~mult_env.testing.STYLES` name or a
            :class:`~mult_env.testing.Style`); by default the style named like the parser, else
            ``"answer"``. Accepted forms and near misses are written in it.
        allow: near-miss families (:data:`~mult_env.testing.FAMILIES`) not to check, e.g.
            ``["decimal"]`` for a parser that deliberately reads ``248171.0``.
        skip: properties not to run, e.g. ``["rejects_non_str"]``.
        difficulty: draw problems of this difficulty only (a name such as ``"medium"`` or a
            pair of digit counts); by default any operands of 1 to 20 digits.
        max_examples: hypothesis examples per property (None: the hypothesis profile's
            default, 100 unless a profile says otherwise).
        time_limit: seconds allowed for a ``size``-character completion (smaller sizes get a
            proportional budget, so superlinear parsers fail before the big input).
        size: length of the largest adversarial completion.
        seed: make the hypothesis search reproducible.
        raise_on_failure: raise :class:`CheckError` if a property fails (else just report).

    Returns:
        The :class:`CheckReport`; with ``raise_on_failure`` it is only returned when all ran
        properties held.
    """
    fn = get_parser(parser)
    sty = get_style(style if style is not None else _default_style(fn))
    allowed = _normalise(allow, FAMILIES, "near-miss family")
    skipped = _normalise(skip, PARSER_PROPERTIES, "parser property")
    cfg = _Config(max_examples, seed)
    probs = _problems(difficulty)
    report = CheckReport(_name(fn), "parser", sty.name, max_examples, skipped=skipped)
    report.difficulty = _describe(difficulty)
    report.allowed = allowed
    checked = [f for f in FAMILIES if f not in allowed]

    def parse(text: str, answer: int) -> ParseResult:
        what = f"parser on {_show(text)} (answer {answer})"
        return _check_result(_call(fn, what, text), what)

    def prop(name: str, message: str | None, family: str | None = None) -> None:
        label = f"{name}/{family}" if family else name
        if message is None:
            report.passed.append(label)
        else:
            report.violations.append(Violation(name, message, family))

    if "total" not in skipped:

        def draw_total(draw: st.DrawFn) -> tuple[Problem, str]:
            p = draw(probs)
            return p, _draw_any_text(draw, p, sty)

        prop("total", cfg.run(_composite(draw_total), lambda c: parse(c[1], c[0].answer)))

    if "rejects_non_str" not in skipped:
        message = None
        for bad in (None, 248171, 248171.0, b"248171", ["248171"]):
            try:
                fn(bad)  # type: ignore[arg-type]
            except TypeError:
                continue
            except Exception as e:
                message = f"parser raised {type(e).__name__} for {bad!r}, expected TypeError"
            else:
                message = f"parser accepted {bad!r}; a non-str completion must raise TypeError"
            break
        prop("rejects_non_str", message)

    if "accepts_true_answer" not in skipped:

        def accepts(case: tuple[Problem, str]) -> None:
            p, text = case
            r = parse(text, p.answer)
            if r.value != p.answer or not r.well_formed:
                raise _Fail(
                    f"parser read {r.value!r} (well_formed={r.well_formed}, {r.reason!r}) from "
                    f"{_show(text)} when the answer is {p.answer}: the true answer in every "
                    f"accepted form of the {sty.name!r} style must be read, well-formed"
                )

        def draw_form(draw: st.DrawFn) -> tuple[Problem, str]:
            p = draw(probs)
            return p, draw_surface_form(draw, p.answer, sty)

        prop("accepts_true_answer", cfg.run(_composite(draw_form), accepts))

    def reads_written(case: tuple[Problem, NearMiss]) -> None:
        p, miss = case
        r = parse(miss.text, p.answer)
        if r.value != miss.value or not r.well_formed:
            fam = FAMILIES.get(miss.family)
            rule = f": {fam.rule}" if fam and r.value == p.answer else ""
            raise _Fail(
                f"parser read {r.value!r} (well_formed={r.well_formed}) from {_show(miss.text)}, "
                f"which writes {miss.value}, when the answer is {p.answer}: a parser must read "
                f"exactly the number written{rule}"
            )

    if "reads_written_value" not in skipped:

        def draw_written(draw: st.DrawFn) -> tuple[Problem, NearMiss]:
            p, v = draw(probs), draw(_ANY_NUMBER)
            return p, NearMiss("value", draw_surface_form(draw, v, sty), v)

        prop("reads_written_value", cfg.run(_composite(draw_written), reads_written))

    if "near_misses" not in skipped:

        def rejects(case: tuple[Problem, NearMiss]) -> None:
            p, miss = case
            if miss.value is not None:
                reads_written(case)
                return
            r = parse(miss.text, p.answer)
            if r.value is not None:
                raise _Fail(
                    f"parser read {r.value!r} from {_show(miss.text)} when the answer is "
                    f"{p.answer}; it must read no value: {FAMILIES[miss.family].rule}"
                )

        for family in checked:

            def draw_miss(draw: st.DrawFn, family: str = family) -> tuple[Problem, NearMiss]:
                p = draw(probs)
                return p, draw_near_miss(draw, p, sty, family)

            prop("near_misses", cfg.run(_composite(draw_miss), rejects), family)

    if "linear_time" not in skipped:
        prop("linear_time", _check_time(fn, time_limit, size, "parser"))

    if report.violations and raise_on_failure:
        raise CheckError(report)
    return report


# --------------------------------------------------------------------------------------------
# check_reward


@dataclass(frozen=True)
class _RewardUnderTest:
    """A uniform view of the three kinds of reward :func:`check_reward` accepts."""

    text: Callable[[str, Problem], tuple[float, str]]
    """Score a completion: (score, how it was read, for messages)."""
    value: Callable[[int | None, int], float] | None
    """Score a parsed value, when the reward is a correctness reward."""
    bounds: tuple[float, float]
    name: str


def _reward_under_test(
    reward: Any, parser: Parser | str | None, bounds: tuple[float, float] | None
) -> _RewardUnderTest:
    if isinstance(reward, Scorer):
        scorer = reward

        def score_scorer(text: str, p: Problem) -> tuple[float, str]:
            # score_group is the batch path trainers use (with its own fast path), so check it.
            (b,) = _call(scorer.score_group, f"scorer on {_show(text)}", [text], p)
            return _score(b.total, "scorer"), f"parsed as {b.parsed!r}"

        lo = -scorer.format_coef
        return _RewardUnderTest(
            score_scorer, _value_fn(scorer.reward), bounds or (lo, 1.0), repr(scorer)
        )
    if parser is None:
        if not callable(reward):
            raise TypeError(f"reward must be callable, got {type(reward).__name__}")
        text_reward = reward

        def score_text(text: str, p: Problem) -> tuple[float, str]:
            what = f"reward on {_show(text)} (answer {p.answer})"
            return _score(_call(text_reward, what, text, p.answer), what), ""

        return _RewardUnderTest(score_text, None, bounds or (0.0, 1.0), _name(reward))
    value_reward = _value_fn(get_reward(reward))
    parse = get_parser(parser)

    def score_parsed(text: str, p: Problem) -> tuple[float, str]:
        result = _call(parse, f"parser on {_show(text)}", text)
        value = getattr(result, "value", None)
        return value_reward(value, p.answer), f"parsed as {value!r}"

    name = f"{_name(value_reward.__wrapped__)}, parser={_name(parse)}"  # type: ignore[attr-defined]
    return _RewardUnderTest(score_parsed, value_reward, bounds or (0.0, 1.0), name)


def _value_fn(reward: Callable[[int | None, int], float]) -> Callable[[int | None, int], float]:
    @functools.wraps(reward)
    def value_reward(value: int | None, answer: int) -> float:
        what = f"reward for value {value!r} (answer {answer})"
        return _score(_call(reward, what, value, answer), what)

    return value_reward


_PLACEHOLDER = "\ue000"  # a private-use character where monotone checks put the number


def _draw_monotone_pair(draw: st.DrawFn, answer: int) -> tuple[int, int]:
    """(worse, better): ``better`` is ``worse`` with one more digit of ``answer`` corrected."""
    s = str(answer)
    wrong = sorted(draw(st.sets(st.integers(0, len(s) - 1), min_size=1)))
    digits = list(s)
    for i in wrong:
        choices = [d for d in "0123456789" if d != s[i] and not (i == 0 and d == "0")]
        digits[i] = draw(st.sampled_from(choices))
    fix = draw(st.sampled_from(wrong))
    worse = int("".join(digits))
    digits[fix] = s[fix]
    return worse, int("".join(digits))


def check_reward(
    reward: Any,
    *,
    parser: Parser | str | None = "answer",
    style: Style | str | None = None,
    allow: Iterable[str] = (),
    skip: Iterable[str] = (),
    bounds: tuple[float, float] | None = None,
    difficulty: Difficulty | None = None,
    max_examples: int | None = None,
    time_limit: float = 0.1,
    size: int = 1_000_000,
    seed: int | None = None,
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check a reward against :data:`REWARD_PROPERTIES`.

    Three kinds of reward are accepted:

    * a **correctness reward** ``(value: int | None, answer: int) -> float`` (or a registered
      name such as ``"shaped"``), checked both on integers directly (it must be safe whatever
      parser feeds it) and on completions read by ``parser``;
    * a **completion reward** ``(completion: str, answer: int) -> float`` that reads the text
      itself: pass ``parser=None``;
    * a :class:`~mult_env.rewards.Scorer`, checked on its ``total`` (bounds
      ``[-format_coef, 1]``) and on its correctness reward; ``parser`` is then ignored.

    The maximum is ``bounds[1]``; a score above ``max(bounds[0], 0)`` counts as credit.

    Args:
        reward: the reward, as above.
        parser: the parser completions go through (a callable or registered name), or None.
        style: answer style of accepted forms and near misses (default: the parser's, else
            ``"answer"``).
        allow: near-miss families (:data:`~mult_env.testing.FAMILIES`) not to check.
        skip: properties not to run, e.g. ``["monotone"]`` for a reward shaped another way.
        bounds: ``(lowest, highest)`` score (default ``(0, 1)``; Scorer ``(-format_coef, 1)``).
        difficulty, max_examples, time_limit, size, seed, raise_on_failure: as for
            :func:`check_parser`.
    """
    target = _reward_under_test(reward, parser, bounds)
    parser_for_style = reward.parser if isinstance(reward, Scorer) else parser
    if style is None:
        style = _default_style(get_parser(parser_for_style)) if parser_for_style else "answer"
    sty = get_style(style)
    lo, hi = target.bounds
    if not lo < hi:
        raise ValueError(f"bounds must be (low, high) with low < high, got {target.bounds}")
    no_credit = max(lo, 0.0)
    allowed = _normalise(allow, FAMILIES, "near-miss family")
    skipped = _normalise(skip, REWARD_PROPERTIES, "reward property")
    cfg = _Config(max_examples, seed)
    probs = _problems(difficulty)
    report = CheckReport(target.name, "reward", sty.name, max_examples, skipped=skipped)
    report.difficulty = _describe(difficulty)
    report.allowed = allowed
    value_fn = target.value
    if value_fn is None:
        report.notes.append("value-level checks not run: the reward reads completions itself")
    if isinstance(reward, Scorer) and reward.assistant_prefix:
        report.notes.append(
            f"the scorer prepends {reward.assistant_prefix!r}: completions are its continuation, "
            "so pass a style= whose forms continue it"
        )
    checked = [f for f in FAMILIES if f not in allowed]

    def prop(name: str, message: str | None, family: str | None = None) -> None:
        label = f"{name}/{family}" if family else name
        if message is None:
            report.passed.append(label)
        else:
            report.violations.append(Violation(name, message, family))

    def text_case(p: Problem, text: str) -> tuple[float, str]:
        score, how = target.text(text, p)
        return score, f"reward {score:.3g} for {_show(text)}{f' ({how})' if how else ''}"

    def value_case(p: Problem, v: int | None) -> tuple[float, str]:
        assert value_fn is not None
        score = value_fn(v, p.answer)
        return score, f"reward {score:.3g} for value {v!r}"

    # A case is (problem, ("text", completion) | ("value", parsed value)).
    Case = tuple[Problem, tuple[str, Any]]
    DrawOne = Callable[[st.DrawFn, Problem], Any]

    def evaluate(case: Case) -> tuple[float, str]:
        p, (kind, x) = case
        return text_case(p, x) if kind == "text" else value_case(p, x)

    def cases(texts: DrawOne, values: DrawOne) -> st.SearchStrategy[Case]:
        """Cases drawing a completion, or (half the time, if value-level) a parsed value."""

        def draw_case(draw: st.DrawFn) -> Case:
            p = draw(probs)
            if value_fn is not None and draw(st.booleans()):
                return p, ("value", values(draw, p))
            return p, ("text", texts(draw, p))

        return _composite(draw_case)

    def any_value(draw: st.DrawFn, p: Problem) -> int | None:
        if draw(st.booleans()):
            return draw(_ANY_VALUE)
        family = draw(_VALUE_FAMILY_NAMES)
        return draw_near_miss_value(draw, p.answer, family).value

    def any_text(draw: st.DrawFn, p: Problem) -> str:
        return _draw_any_text(draw, p, sty)

    if "total" not in skipped:
        prop("total", cfg.run(cases(any_text, any_value), evaluate))

    if "bounded" not in skipped:

        def bounded(case: Case) -> None:
            score, shown = evaluate(case)
            if not lo <= score <= hi:
                raise _Fail(
                    f"{shown} when the answer is {case[0].answer}: "
                    f"scores must lie in [{lo:g}, {hi:g}]"
                )

        prop("bounded", cfg.run(cases(any_text, any_value), bounded))

    if "true_answer_max" not in skipped:

        def pays_max(case: Case) -> None:
            score, shown = evaluate(case)
            if score != hi:
                raise _Fail(
                    f"{shown} when the answer is {case[0].answer}: the true answer in every "
                    f"accepted form of the {sty.name!r} style must score the maximum {hi:g}"
                )

        def true_text(draw: st.DrawFn, p: Problem) -> str:
            return draw_surface_form(draw, p.answer, sty)

        prop("true_answer_max", cfg.run(cases(true_text, lambda d, p: p.answer), pays_max))

    if "only_true_answer_max" not in skipped:

        def only_true(case: Case) -> None:
            p, (kind, x) = case
            if kind == "value" and x == p.answer:
                return
            if kind == "text" and str(p.answer) in _ascii_digits(x):
                return  # might legitimately state the answer
            score, shown = evaluate(case)
            if score >= hi:
                raise _Fail(
                    f"{shown} when the answer is {p.answer}: nothing but the true answer may "
                    f"score the maximum {hi:g}"
                )

        def wrong_text(draw: st.DrawFn, p: Problem) -> str:
            if draw(st.booleans()):
                return draw(_ARBITRARY)
            return draw_surface_form(draw, draw(_ANY_NUMBER), sty)

        prop("only_true_answer_max", cfg.run(cases(wrong_text, any_value), only_true))

    if "near_misses" not in skipped:

        def no_credit_for(case: Case) -> None:
            p, (kind, miss) = case
            fam = FAMILIES[miss.family]
            score, shown = evaluate((p, (kind, miss.value if kind == "value" else miss.text)))
            limit = no_credit if fam.credit == "none" else None
            if (limit is not None and score > limit) or score >= hi:
                raise _Fail(f"{shown} when the answer is {p.answer}: {fam.rule}")

        for family in checked:

            def miss_text(draw: st.DrawFn, p: Problem, family: str = family) -> NearMiss:
                return draw_near_miss(draw, p, sty, family)

            def miss_value(draw: st.DrawFn, p: Problem, family: str = family) -> NearMiss:
                return draw_near_miss_value(draw, p.answer, family)

            values: DrawOne = miss_value if FAMILIES[family].value_level else miss_text
            prop("near_misses", cfg.run(cases(miss_text, values), no_credit_for), family)

    if "monotone" not in skipped:

        def monotone(case: tuple[Problem, tuple[int, int], str]) -> None:
            p, (worse, better), frame = case
            if value_fn is not None:
                (w, w_shown), (b, b_shown) = value_case(p, worse), value_case(p, better)
            else:
                (w, w_shown), (b, b_shown) = (
                    text_case(p, frame.replace(_PLACEHOLDER, str(worse))),
                    text_case(p, frame.replace(_PLACEHOLDER, str(better))),
                )
            if b < w:
                raise _Fail(
                    f"{b_shown} but {w_shown} when the answer is {p.answer}: correcting a "
                    "wrong digit of a same-length answer must never lower the reward"
                )

        def draw_pair(draw: st.DrawFn) -> tuple[Problem, tuple[int, int], str]:
            p = draw(probs)
            frame = sty.draw_form(draw, _PLACEHOLDER)
            assume(frame.count(_PLACEHOLDER) == 1)
            return p, _draw_monotone_pair(draw, p.answer), frame

        prop("monotone", cfg.run(_composite(draw_pair), monotone))

    if "linear_time" not in skipped:
        prop(
            "linear_time",
            _check_time(
                lambda text: target.text(text, _CHECK_PROBLEM), time_limit, size, "scoring"
            ),
        )

    if report.violations and raise_on_failure:
        raise CheckError(report)
    return report
