"""``check_parser`` and ``check_reward``: the library's hack-resistance properties, for your code.

Each property runs as a hypothesis search over :mod:`mult_env.testing.strategies` (plus fixed
malformed texts and ~1 MB adversarial ones); when one fails, hypothesis shrinks the
counterexample and the error names the property and the minimal example, e.g. ``reward 0.857
for '-327279' when the answer is 327279: negative answers must not earn credit``. All
properties run (one failure does not hide another) and the result is a :class:`CheckReport`
that also records what was skipped or allowed; by default a failing check raises
:class:`CheckError` (an ``AssertionError``, so pytest shows it as a test failure).

The code under test runs in a child process (forked, where the platform can fork) that the
checker watches: a call that does not return within ``hang_timeout`` seconds is killed and
reported as a ``linear_time`` violation instead of blocking the checker, and a reward whose
score depends on what it scored before is caught by scoring the same texts in two fresh
children, in opposite orders.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import numbers
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, assume, find, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure, NoSuchExample

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
    malformed_texts,
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
    "total": "returns a ParseResult (value int or None, well_formed bool, reason str) for any "
    "str: random, fixed malformed and ~1 MB adversarial text",
    "rejects_non_str": "raises TypeError for a completion that is not a str",
    "deterministic": "reads the same result from the same completion every time",
    "well_formed": "calls a completion well-formed only when it reads a value from it",
    "accepts_true_answer": "reads the true answer, well-formed, from every accepted form",
    "reads_written_value": "reads exactly the integer written in an accepted form",
    "near_misses": "reads no value from ambiguous near misses, the written value from wrong ones",
    "linear_time": "parses adversarial completions of 1 KB to 1 MB in time that grows linearly, "
    "within the budget, and never hangs",
}
"""Properties :func:`check_parser` runs, by name (names accepted by ``skip=``)."""

REWARD_PROPERTIES: dict[str, str] = {
    "total": "returns a real number (not NaN, no exception) for any completion or parsed "
    "value: random, fixed malformed and ~1 MB adversarial text",
    "bounded": "stays within bounds (correctness rewards: [0, 1]), on long texts too",
    "deterministic": "gives the same score for the same completion and answer, whatever it "
    "scored before",
    "true_answer_max": "pays the maximum for the true answer in every accepted form",
    "only_true_answer_max": "pays the maximum for nothing but the true answer",
    "near_misses": "pays no credit for near-miss families, never the maximum for any",
    "monotone": "correcting a wrong digit of a same-length answer never lowers the reward",
    "well_formed": "never counts a completion as well-formed when no answer was read from it",
    "linear_time": "scores adversarial completions of 1 KB to 1 MB in time that grows "
    "linearly, within the budget, and never hangs",
}
"""Properties :func:`check_reward` runs, by name (names accepted by ``skip=``)."""

_MAX_SHOWN = 120
_CHECK_PROBLEM = Problem(847, 293)  # the log's few-shot example, answer 248171
_HANG_TIMEOUT = 5.0
_MAX_INTERRUPTIONS = 2  # hangs or deaths of the child before the rest is not run
_SUPERLINEAR = 1.6
"""Growth exponent, from a tenth of the size to the size, at and above which time is called
superlinear. Linear code measures 1 to 1.5 (from 100 KB to 1 MB a text falls out of the CPU's
caches, more so on a busy machine); quadratic code measures about 2 once its quadratic part
dominates, which it does where it first fails the budget."""

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
    """Other facts about the run: checks that do not apply, properties not judged because the
    code under test raised or hung first."""
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
# Machinery: failures, the hypothesis search, calls into the code under test


class _Fail(Exception):
    """Raised inside a property; hypothesis shrinks the example and re-raises the minimal one."""


class _Total(_Fail):
    """The code under test raised or returned something that is not a result: a ``total``
    violation, whichever property's search met it."""


@dataclass(frozen=True)
class _Found:
    """A property's counterexample message; ``total`` when it is a totality failure."""

    message: str
    total: bool = False


def _fmt(score: float) -> str:
    """A score to three significant digits, unless that would make it look like another
    round number (0.9999995 is not 1)."""
    short = f"{score:.3g}"
    return short if float(short) == score or float(short) != round(score) else repr(score)


def _show(text: str) -> str:
    if len(text) <= _MAX_SHOWN:
        return repr(text)
    return f"{text[: _MAX_SHOWN - 20]!r}... ({len(text):,} chars)"


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

    def run(self, strategy: st.SearchStrategy[T], test: Callable[[T], object]) -> _Found | None:
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
            return _Found(str(e), isinstance(e, _Total))
        except FlakyFailure as e:  # the user's code answered differently on replay
            inner = next((x for x in e.exceptions if isinstance(x, _Fail)), e)
            message = f"{inner} (flaky: not reproducible on replay, so not minimised)"
            return _Found(message, isinstance(inner, _Total))
        return None

    def smaller(self, cap: int) -> _Config:
        """The same search with at most ``cap`` examples (for hints, not properties)."""
        return _Config(min(self.max_examples or cap, cap), self.seed)


def _fixed(cases: Iterable[tuple[str, str]], test: Callable[[str], object]) -> _Found | None:
    """Run ``test`` on each fixed ``(description, text)``; the first failure, if any."""
    for desc, text in cases:
        try:
            test(text)
        except _Fail as e:
            return _Found(f"{e} (fixed case: {desc})", isinstance(e, _Total))
    return None


def _score(raw: object, what: str) -> float:
    """``raw`` as a float, or :class:`_Total` when it is not a real number."""
    if not isinstance(raw, numbers.Real):
        raise _Total(f"{what} returned {type(raw).__name__} {raw!r}, not a real number")
    value = float(raw)
    if math.isnan(value):
        raise _Total(f"{what} returned NaN")
    return value


def _call(fn: Callable[..., T], what: str, *args: object) -> T:
    try:
        return fn(*args)
    except _Fail:
        raise
    except Exception as e:
        raise _Total(f"{what} raised {type(e).__name__}: {e}") from None


def _ascii_digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def _check_result(result: object, what: str) -> ParseResult:
    if not isinstance(result, ParseResult):
        raise _Total(f"{what} returned {type(result).__name__}, expected ParseResult")
    if result.value is not None and (type(result.value) is not int):
        raise _Total(f"{what} returned value {result.value!r}, expected an int or None")
    if type(result.well_formed) is not bool:
        raise _Total(f"{what} returned well_formed {result.well_formed!r}, expected a bool")
    if not isinstance(result.reason, str):
        raise _Total(f"{what} returned reason {result.reason!r}, expected a str")
    return result


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


def _style_hint(pays: Callable[[Style], bool], sty: Style, what: str) -> str:
    """When the true answer failed: if no form of the style works at all, say which built-in
    style does (the reward or parser probably expects another format)."""
    if pays(sty):
        return ""
    others = [name for name, s in STYLES.items() if s.name != sty.name and pays(s)]
    head = (
        f"; {what} the true answer in none of the {sty.name!r} forms tried, so it may expect "
        "a different answer style"
    )
    if others:
        names = " or ".join(repr(n) for n in others)
        return f"{head}: it does in the {names} style (pass style={others[0]!r}, or --style)"
    return f"{head} (none of the built-in styles works either: describe it with a Style)"


# --------------------------------------------------------------------------------------------
# The child process: the code under test runs there, watched for hangs


class _Channel:
    """Where the code under test reports progress: a pipe to the watching parent, or nothing.

    ``beat`` is called before every call into the code under test, so the parent knows which
    text a hung call was given; ``send`` carries results."""

    def __init__(self) -> None:
        self.send: Callable[[tuple[Any, ...]], None] = _ignore
        self.desc: str | None = None
        """The adversarial text being scored, if any (for the hang message)."""

    def beat(self, text: str) -> None:
        self.send(("call", _show(text), len(text), self.desc))


def _ignore(event: tuple[Any, ...]) -> None:
    return None


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _in_child(
    job: Callable[[Callable[[tuple[Any, ...]], None]], None],
    on_event: Callable[[tuple[Any, ...]], None],
    channel: _Channel,
    timeout: float,
) -> tuple[str, tuple[Any, ...] | None, int | None] | None:
    """Run ``job(send)`` in a forked child, passing its events to ``on_event``.

    Returns None when the job finished, else ``(why, last call event, exit code)`` with
    ``why`` ``"hang"`` (no event for ``timeout`` seconds: the child is killed) or ``"died"``.
    Without fork (Windows) the job runs here, with no time limit.
    """
    if not _can_fork():
        channel.send = lambda event: None if event[0] == "call" else on_event(event)
        job(channel.send)
        return None
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def target() -> None:
        channel.send = sender.send
        try:
            job(sender.send)
            sender.send(("done",))
        except Exception:
            sender.send(("error", traceback.format_exc()))

    with warnings.catch_warnings():  # Python 3.12+ warns about forking a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        child = ctx.Process(target=target, name="mult_env.testing check")
        child.start()
    sender.close()
    last: tuple[Any, ...] | None = None
    try:
        while True:
            if not receiver.poll(timeout):
                return "hang", last, None
            try:
                event = receiver.recv()
            except EOFError:
                child.join()
                return "died", last, child.exitcode
            if event[0] == "call":
                last = event
            elif event[0] == "done":
                return None
            elif event[0] == "error":
                raise RuntimeError(f"mult_env.testing failed in its child process:\n{event[1]}")
            else:
                on_event(event)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()


_Unit = tuple[str, Callable[[], list[tuple[str, _Found | None]]]]
"""A piece of a check: its label and a function returning ``(label, result)`` pairs (a
property or family label, and its counterexample or None)."""


def _run_units(
    units: list[_Unit],
    labels: list[str],
    report: CheckReport,
    channel: _Channel,
    timeout: float,
    what: str,
) -> None:
    """Run the units in a watched child and fill ``report`` with their results, in the order
    of ``labels``; crashes are filed under ``total``, hangs under ``linear_time``."""
    results: dict[str, _Found | None] = {}
    timings: dict[tuple[str, int], float] = {}
    unjudged: list[str] = []
    not_run: list[str] = []
    interrupted: list[tuple[str, _Found]] = []

    def record(label: str, found: _Found | None) -> None:
        if label not in labels:
            return  # e.g. a long-text result for a property the caller skipped
        if found is not None and found.total and label != "total" and "total" in labels:
            unjudged.append(label)
            label, found = "total", _Found(f"{found.message} (found while checking {label})")
        if results.get(label) is None:
            results[label] = found

    pending = list(units)
    current: list[str] = []

    def on_event(event: tuple[Any, ...]) -> None:
        if event[0] == "start":
            current[:] = [event[1]]
        elif event[0] == "result":
            for label, found in event[1]:
                record(label, found)
            pending.pop(0)
        elif event[0] == "timing":
            timings[(event[1], event[2])] = event[3]

    def job(send: Callable[[tuple[Any, ...]], None]) -> None:
        for label, unit in list(pending):
            send(("start", label))
            send(("result", unit()))

    while pending:
        current[:] = []
        stopped = _in_child(job, on_event, channel, timeout)
        if stopped is None:
            break
        why, last, code = stopped
        label = current[0] if current else pending[0][0]
        pending.pop(0)
        shown, length, desc = (last[1], last[2], last[3]) if last else ("?", 0, None)
        where = "" if label == "linear_time" else f" (while checking {label})"
        if why == "hang":
            before = [
                f"{t:.3g} s on {n:,} chars" for (d, n), t in sorted(timings.items()) if d == desc
            ]
            earlier = f"; it took {', '.join(before)}" if before else ""
            on = f"{desc} ({length:,} chars)" if desc else shown
            interrupted.append(
                (
                    "linear_time" if "linear_time" in labels else "total",
                    _Found(
                        f"{what} did not return within {timeout:g} s on {on} and was killed"
                        f"{earlier}: a hang, e.g. a regular expression with catastrophic "
                        f"backtracking; {what} must be linear-time{where}"
                    ),
                )
            )
        else:
            interrupted.append(
                (
                    "total",
                    _Found(
                        f"the process running the {what} died (exit code {code}) on {shown}: "
                        f"any str must give a result{where}"
                    ),
                )
            )
        unjudged.append(label)
        if len(interrupted) >= _MAX_INTERRUPTIONS and pending:
            report.notes.append(
                "not run (the check stopped after repeated hangs): "
                + ", ".join(label for label, _ in pending)
            )
            not_run = [label for label, _ in pending]
            break
    for label, found in interrupted:
        if label in labels and results.get(label) is None:
            results[label] = found
    judged_unjudged = [u for u in dict.fromkeys(unjudged) if results.get(u) is None]
    if judged_unjudged:
        report.notes.append(
            "not judged (the code raised, hung or died on an example first; see total and "
            "linear_time): " + ", ".join(judged_unjudged)
        )
    for label in labels:
        if label not in results:
            if label not in unjudged and label not in not_run:
                report.notes.append(f"{label}: not run")  # pragma: no cover - a checker bug
            continue
        result = results[label]
        name, _, family = label.partition("/")
        if result is None:
            if label not in unjudged:
                report.passed.append(label)
        else:
            report.violations.append(Violation(name, result.message, family or None))


# --------------------------------------------------------------------------------------------
# Long adversarial texts: totality, bounds and growth of time with size


@functools.lru_cache(maxsize=8)
def _adversarial(size: int, style: Style | None) -> dict[str, str]:
    return dict(adversarial_texts(size, style))


def _growth(
    call: Callable[[str], object],
    channel: _Channel,
    style: Style,
    desc: str,
    text: str,
    best: float,
) -> tuple[float, int, float, float]:
    """How time grows from a tenth of ``text``'s size to its size: ``(time, small size, small
    time, exponent)``; the exponent is about 1 for linear code, 2 for quadratic.

    The two sizes are timed in alternation, best of several each, so that a burst of load on a
    shared machine inflates neither more than the other."""
    small_text = _adversarial(max(1, len(text) // 10), style).get(desc, text[: len(text) // 10])
    t_small = math.inf
    # a call of 0.2 s or more is hardly moved by a burst of load: then time only the small one
    probes = [small_text, small_text, text] * 3 if best < 0.2 else [small_text] * 3
    for probe in probes:
        channel.beat(probe)
        start = time.perf_counter()
        try:
            call(probe)
        except _Fail:
            return best, len(small_text), math.nan, math.nan
        elapsed = time.perf_counter() - start
        if probe is text:
            best = min(best, elapsed)
        else:
            t_small = min(t_small, elapsed)
    ratio = len(text) / max(1, len(small_text))
    exponent = math.log(max(best, 1e-9) / max(t_small, 1e-9)) / math.log(ratio)
    return best, len(small_text), t_small, exponent


def _sizes(size: int, timed: bool) -> list[int]:
    """The adversarial sizes: 1 KB, 30 KB and ``size`` (only up to 30 KB when not timed)."""
    return sorted({min(size, 1000), min(size, 30_000), size if timed else min(size, 30_000)})


def _prepare(size: int, timed: bool, style: Style) -> None:
    """Build the adversarial texts here, before the child starts: building 1 MB of them takes
    a moment, which the watched child would otherwise spend without a heartbeat."""
    for n in _sizes(size, timed):
        _adversarial(n, style)


def _check_timeouts(time_limit: float, hang_timeout: float, size: int) -> None:
    if not time_limit > 0 or not hang_timeout > 0 or size < 1:
        raise ValueError(
            "time_limit and hang_timeout must be positive and size at least 1, got "
            f"{time_limit}, {hang_timeout}, {size}"
        )


def _long_pass(
    call: Callable[[str], object],
    judge: Callable[[str, str, Any], list[tuple[str, str]]],
    channel: _Channel,
    *,
    style: Style,
    timed: bool,
    limit: float,
    size: int,
    what: str,
) -> list[tuple[str, _Found | None]]:
    """Call ``call`` on adversarial texts of growing size (best of three, timed), ``judge``
    each result, and when a size is over its budget measure at a tenth of it to tell a slow
    linear function from a superlinear one."""
    found: dict[str, _Found] = {}
    sizes = _sizes(size, timed)
    for n in sizes:
        budget = max(limit * n / size, 0.002)
        texts = _adversarial(n, style)
        for desc, text in texts.items():
            best, result = math.inf, None
            channel.desc = desc
            try:
                for _ in range(3 if timed else 1):
                    channel.beat(text)
                    start = time.perf_counter()
                    result = call(text)
                    best = min(best, time.perf_counter() - start)
                    if best <= budget or best > 10 * budget:  # clear either way
                        break
            except _Fail as e:
                message = (
                    f"{what} failed on {desc} ({len(text):,} chars): {e}; any str, however "
                    "long, must give a result"
                )
                found.setdefault("total", _Found(message))
                continue
            channel.send(("timing", desc, len(text), best))
            for label, message in judge(desc, text, result):
                found.setdefault(label, _Found(f"{message} (on {desc}, {len(text):,} chars)"))
            if timed and best > budget:
                best, small, t_small, k = _growth(call, channel, style, desc, text, best)
                per_mb = best / len(text) * 1e6
                measured = (
                    f"{what} took {best:.3g} s on {desc} ({len(text):,} chars) and "
                    f"{t_small:.3g} s on {small:,} chars"
                )
                if math.isnan(k):
                    message = f"{measured}: over the budget of {limit:g} s per {size:,} chars"
                elif k >= _SUPERLINEAR:
                    message = (
                        f"{measured}: time grows as size^{k:.1f}, superlinear; {what} must be "
                        "linear-time (a policy can emit very long completions)"
                    )
                else:
                    message = (
                        f"{measured}: slow but not superlinear (time grows as size^{k:.1f}), "
                        f"{per_mb:.3g} s per MB, over the budget of {limit:g} s per "
                        f"{size:,} chars; pass a larger time_limit= if that is acceptable"
                    )
                found["linear_time"] = _Found(message)
                channel.desc = None
                return _results(found, timed)
    channel.desc = None
    return _results(found, timed)


def _results(found: dict[str, _Found], timed: bool) -> list[tuple[str, _Found | None]]:
    labels = ["total", "bounded", "only_true_answer_max", "well_formed"]
    if timed:
        labels.append("linear_time")
    return [(label, found.get(label)) for label in labels]


# --------------------------------------------------------------------------------------------
# check_parser


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
    hang_timeout: float = _HANG_TIMEOUT,
    seed: int | None = None,
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check an answer parser against :data:`PARSER_PROPERTIES`.

    Args:
        parser: a callable ``(completion: str) -> ParseResult`` or a registered parser name.
        style: where the parser expects the answer (a :data:`~mult_env.testing.STYLES` name or a
            :class:`~mult_env.testing.Style`); by default the style named like the parser, else
            ``"answer"``. Accepted forms, near misses and adversarial texts are written in it.
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
        hang_timeout: seconds one call may take before it counts as a hang: the child process
            running the checks is killed and the hang reported under ``linear_time``.
        seed: make the hypothesis search reproducible.
        raise_on_failure: raise :class:`CheckError` if a property fails (else just report).

    Returns:
        The :class:`CheckReport`; with ``raise_on_failure`` it is only returned when all ran
        properties held.
    """
    _check_timeouts(time_limit, hang_timeout, size)
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
    channel = _Channel()
    malformed = malformed_texts(sty, _CHECK_PROBLEM.answer)
    units: list[_Unit] = []

    def unit(label: str, body: Callable[[], _Found | None]) -> None:
        units.append((label, lambda: [(label, body())]))

    def parse(text: str, answer: int) -> ParseResult:
        what = f"parser on {_show(text)} (answer {answer})"
        channel.beat(text)
        return _check_result(_call(fn, what, text), what)

    def any_text(draw: st.DrawFn) -> tuple[Problem, str]:
        p = draw(probs)
        return p, _draw_any_text(draw, p, sty)

    def fixed_then(test: Callable[[tuple[Problem, str]], None]) -> _Found | None:
        return _fixed(malformed, lambda t: test((_CHECK_PROBLEM, t))) or cfg.run(
            _composite(any_text), test
        )

    def parses(case: tuple[Problem, str]) -> None:
        parse(case[1], case[0].answer)

    if "total" not in skipped:
        unit("total", lambda: fixed_then(parses))

    if "rejects_non_str" not in skipped:

        def rejects_non_str() -> _Found | None:
            for bad in (None, 248171, 248171.0, b"248171", ["248171"]):
                try:
                    fn(bad)  # type: ignore[arg-type]
                except TypeError:
                    continue
                except Exception as e:
                    return _Found(
                        f"parser raised {type(e).__name__} for {bad!r}, expected TypeError"
                    )
                return _Found(f"parser accepted {bad!r}; a non-str completion must raise TypeError")
            return None

        unit("rejects_non_str", rejects_non_str)

    if "deterministic" not in skipped:

        def same_twice(case: tuple[Problem, str]) -> None:
            p, text = case
            first, second = parse(text, p.answer), parse(text, p.answer)
            if (first.value, first.well_formed) != (second.value, second.well_formed):
                raise _Fail(
                    f"parser read {first.value!r} (well_formed={first.well_formed}) from "
                    f"{_show(text)}, then {second.value!r} (well_formed={second.well_formed}) "
                    "from the same text: parsing must be deterministic (no randomness or "
                    "hidden state)"
                )

        unit("deterministic", lambda: cfg.run(_composite(any_text), same_twice))

    def well_formed_test(case: tuple[Problem, str]) -> None:
        p, text = case
        r = parse(text, p.answer)
        if r.value is None and r.well_formed:
            raise _Fail(
                f"parser read no value ({r.reason!r}) from {_show(text)} but called it "
                "well-formed: a completion with no answer must be malformed, or the format "
                "term never penalises it"
            )

    if "well_formed" not in skipped:
        unit("well_formed", lambda: fixed_then(well_formed_test))

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

        def forms_of(style_: Style) -> st.SearchStrategy[tuple[Problem, str]]:
            def draw_form(draw: st.DrawFn) -> tuple[Problem, str]:
                p = draw(probs)
                return p, draw_surface_form(draw, p.answer, style_)

            return _composite(draw_form)

        def reads_some(style_: Style) -> bool:
            def reads(case: tuple[Problem, str]) -> None:
                r = parse(case[1], case[0].answer)
                if r.value == case[0].answer and r.well_formed:
                    raise _Fail("read")

            found = cfg.smaller(30).run(forms_of(style_), reads)
            return found is not None and not found.total

        def accepts_true_answer() -> _Found | None:
            found = cfg.run(forms_of(sty), accepts)
            if found is None or found.total:
                return found
            return _Found(found.message + _style_hint(reads_some, sty, "the parser reads"))

        unit("accepts_true_answer", accepts_true_answer)

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

        unit("reads_written_value", lambda: cfg.run(_composite(draw_written), reads_written))

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

            def family_unit(draw_miss: Callable[[st.DrawFn], Any] = draw_miss) -> _Found | None:
                return cfg.run(_composite(draw_miss), rejects)

            unit(f"near_misses/{family}", family_unit)

    def judge(desc: str, text: str, result: Any) -> list[tuple[str, str]]:
        r: ParseResult = result
        if r.value is None and r.well_formed:
            return [
                (
                    "well_formed",
                    f"parser read no value ({r.reason!r}) from {_show(text)} but called it "
                    "well-formed: a completion with no answer must be malformed",
                )
            ]
        return []

    def long_call(text: str) -> ParseResult:
        what = f"parser on {_show(text)}"
        return _check_result(_call(fn, what, text), what)

    if {"total", "well_formed", "linear_time"} - set(skipped):
        units.append(
            (
                "linear_time",
                lambda: _long_pass(
                    long_call,
                    judge,
                    channel,
                    style=sty,
                    timed="linear_time" not in skipped,
                    limit=time_limit,
                    size=size,
                    what="parsing",
                ),
            )
        )
    labels = [
        label
        for name in PARSER_PROPERTIES
        if name not in skipped
        for label in ([f"near_misses/{f}" for f in checked] if name == "near_misses" else [name])
    ]
    if not _can_fork():
        report.notes.append("no hard time limit: this platform cannot fork, so a hang blocks")
    _prepare(size, "linear_time" not in skipped, sty)
    _run_units(units, labels, report, channel, hang_timeout, "parsing")
    report.violations.sort(key=lambda v: list(PARSER_PROPERTIES).index(v.property))
    if report.violations and raise_on_failure:
        raise CheckError(report)
    return report


# --------------------------------------------------------------------------------------------
# check_reward


@dataclass(frozen=True)
class _RewardUnderTest:
    """A uniform view of the three kinds of reward :func:`check_reward` accepts."""

    text: Callable[[str, Problem], tuple[float, str, tuple[int | None, bool] | None]]
    """Score a completion: (score, how it was read, for messages, and (value, well_formed)
    when a parser read it)."""
    value: Callable[[int | None, int], float] | None
    """Score a parsed value, when the reward is a correctness reward."""
    bounds: tuple[float, float]
    name: str


def _reward_under_test(
    reward: Any, parser: Parser | str | None, bounds: tuple[float, float] | None, channel: _Channel
) -> _RewardUnderTest:
    if isinstance(reward, Scorer):
        scorer = reward

        def score_scorer(text: str, p: Problem) -> tuple[float, str, tuple[int | None, bool]]:
            # score_group is the batch path trainers use (with its own fast path), so check it.
            channel.beat(text)
            (b,) = _call(scorer.score_group, f"scorer on {_show(text)}", [text], p)
            return _score(b.total, "scorer"), f"parsed as {b.parsed!r}", (b.parsed, b.format_ok)

        lo = -scorer.format_coef
        return _RewardUnderTest(
            score_scorer, _value_fn(scorer.reward, channel), bounds or (lo, 1.0), repr(scorer)
        )
    if parser is None:
        if not callable(reward):
            raise TypeError(f"reward must be callable, got {type(reward).__name__}")
        text_reward = reward

        def score_text(text: str, p: Problem) -> tuple[float, str, None]:
            what = f"reward on {_show(text)} (answer {p.answer})"
            channel.beat(text)
            return _score(_call(text_reward, what, text, p.answer), what), "", None

        return _RewardUnderTest(score_text, None, bounds or (0.0, 1.0), _name(reward))
    value_reward = _value_fn(get_reward(reward), channel)
    parse = get_parser(parser)

    def score_parsed(text: str, p: Problem) -> tuple[float, str, tuple[int | None, bool]]:
        what = f"parser on {_show(text)}"
        channel.beat(text)
        result = _check_result(_call(parse, what, text), what)
        score = value_reward(result.value, p.answer)
        return score, f"parsed as {result.value!r}", (result.value, result.well_formed)

    name = f"{_name(value_reward.__wrapped__)}, parser={_name(parse)}"  # type: ignore[attr-defined]
    return _RewardUnderTest(score_parsed, value_reward, bounds or (0.0, 1.0), name)


def _value_fn(
    reward: Callable[[int | None, int], float], channel: _Channel
) -> Callable[[int | None, int], float]:
    @functools.wraps(reward)
    def value_reward(value: int | None, answer: int) -> float:
        what = f"reward for value {value!r} (answer {answer})"
        channel.beat(str(value)[:_MAX_SHOWN])
        return _score(_call(reward, what, value, answer), what)

    return value_reward


_PLACEHOLDER = "\ue000"  # a private-use character where monotone checks put the number
_ORDER_PROBLEMS = (Problem(1, 1), Problem(1, 2), Problem(12, 15))


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


def _simplest_form(style: Style, answer: int) -> str:
    """The minimal accepted form of ``answer`` in ``style`` (plain digits, no filler)."""
    try:
        form: str = find(
            style.forms(str(answer)),
            lambda _: True,
            settings=settings(
                database=None, max_examples=10, phases=[Phase.generate, Phase.shrink]
            ),
        )
    except NoSuchExample:  # a custom style whose frame rejects every draw
        return style.mark(str(answer))
    return form


def _order_dependence(
    target: _RewardUnderTest, style: Style, channel: _Channel, timeout: float
) -> _Found | None:
    """Score the true answer of a few problems against each problem in two fresh children, in
    opposite orders; a score that differs between them depends on what was scored before."""
    texts = [_simplest_form(style, p.answer) for p in _ORDER_PROBLEMS]
    cases = [(t, p) for t in texts for p in _ORDER_PROBLEMS]
    reverse = [(t, p) for t in texts for p in reversed(_ORDER_PROBLEMS)]
    runs: list[dict[tuple[str, int], float | None]] = []
    for order in (cases, reverse):
        scores: dict[tuple[str, int], float | None] = {}

        def job(send: Callable[[tuple[Any, ...]], None], order: list[Any] = order) -> None:
            out: list[tuple[str, int, float | None]] = []
            for t, p in order:
                try:
                    out.append((t, p.answer, target.text(t, p)[0]))
                except _Fail:
                    out.append((t, p.answer, None))  # a crash: total reports it
            send(("scores", out))

        def on_event(event: tuple[Any, ...], scores: dict[Any, Any] = scores) -> None:
            for t, answer, score in event[1]:
                scores[(t, answer)] = score

        if _in_child(job, on_event, channel, timeout) is not None:
            return None  # a hang or death: linear_time and total report it
        runs.append(scores)
    first, second = runs
    for t, p in cases:
        a, b = first.get((t, p.answer)), second.get((t, p.answer))
        if a is not None and b is not None and a != b:
            before_a = [q.answer for q in _ORDER_PROBLEMS[: _ORDER_PROBLEMS.index(p)]]
            before_b = [q.answer for q in reversed(_ORDER_PROBLEMS[_ORDER_PROBLEMS.index(p) + 1 :])]

            def after(answers: list[int]) -> str:
                if not answers:
                    return "when it is the first text scored"
                return f"after scoring the same text for answer {' and '.join(map(str, answers))}"

            return _Found(
                f"reward {_fmt(a)} for {_show(t)} when the answer is {p.answer} {after(before_a)}, "
                f"but {_fmt(b)} {after(before_b)}: a score must depend only on the completion and "
                "the answer, not on what was scored before (hidden state, e.g. a cache keyed by "
                "the completion text alone)"
            )
    return None


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
    hang_timeout: float = _HANG_TIMEOUT,
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
        difficulty, max_examples, time_limit, size, hang_timeout, seed, raise_on_failure: as
            for :func:`check_parser`.
    """
    _check_timeouts(time_limit, hang_timeout, size)
    channel = _Channel()
    target = _reward_under_test(reward, parser, bounds, channel)
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
    reads = parser is not None or isinstance(reward, Scorer)
    if value_fn is None:
        report.notes.append("value-level checks not run: the reward reads completions itself")
    if not reads and "well_formed" not in skipped:
        report.notes.append("well_formed not checked: the reward reports no parse to check")
    if isinstance(reward, Scorer) and reward.assistant_prefix:
        report.notes.append(
            f"the scorer prepends {reward.assistant_prefix!r}: completions are its continuation, "
            "so pass a style= whose forms continue it"
        )
    checked = [f for f in FAMILIES if f not in allowed]
    malformed = malformed_texts(sty, _CHECK_PROBLEM.answer)
    units: list[_Unit] = []

    def unit(label: str, body: Callable[[], _Found | None]) -> None:
        units.append((label, lambda: [(label, body())]))

    def text_case(p: Problem, text: str) -> tuple[float, str]:
        score, how, _ = target.text(text, p)
        return score, f"reward {_fmt(score)} for {_show(text)}{f' ({how})' if how else ''}"

    def value_case(p: Problem, v: int | None) -> tuple[float, str]:
        assert value_fn is not None
        score = value_fn(v, p.answer)
        return score, f"reward {_fmt(score)} for value {v!r}"

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

    def fixed_then(test: Callable[[Case], object], strategy: st.SearchStrategy[Case]) -> Any:
        return _fixed(malformed, lambda t: test((_CHECK_PROBLEM, ("text", t)))) or cfg.run(
            strategy, test
        )

    if "total" not in skipped:
        unit("total", lambda: fixed_then(evaluate, cases(any_text, any_value)))

    if "bounded" not in skipped:

        def bounded(case: Case) -> None:
            score, shown = evaluate(case)
            if not lo <= score <= hi:
                raise _Fail(
                    f"{shown} when the answer is {case[0].answer}: "
                    f"scores must lie in [{lo:g}, {hi:g}]"
                )

        unit("bounded", lambda: fixed_then(bounded, cases(any_text, any_value)))

    if "deterministic" not in skipped:

        def deterministic(case: tuple[Problem, Problem, str]) -> None:
            p, other, text = case
            first, shown = text_case(p, text)
            again, _ = text_case(p, text)
            if again != first:
                raise _Fail(
                    f"{shown}, then {_fmt(again)} for the same text, when the answer is "
                    f"{p.answer}: scores must be deterministic (no randomness or hidden state)"
                )
            text_case(other, text)
            later, _ = text_case(p, text)
            if later != first:
                raise _Fail(
                    f"{shown} when the answer is {p.answer}, but {_fmt(later)} after the same text "
                    f"was scored for answer {other.answer}: a score must not depend on what was "
                    "scored before (hidden state)"
                )

        def draw_deterministic(draw: st.DrawFn) -> tuple[Problem, Problem, str]:
            p, other = draw(probs), draw(probs)
            return p, other, _draw_any_text(draw, p, sty)

        unit("deterministic", lambda: cfg.run(_composite(draw_deterministic), deterministic))

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

        def pays_some(style_: Style) -> bool:
            def paid(case: tuple[Problem, str]) -> None:
                if text_case(case[0], case[1])[0] == hi:
                    raise _Fail("paid")

            def draw_form(draw: st.DrawFn) -> tuple[Problem, str]:
                p = draw(probs)
                return p, draw_surface_form(draw, p.answer, style_)

            found = cfg.smaller(30).run(_composite(draw_form), paid)
            return found is not None and not found.total

        def true_answer_max() -> _Found | None:
            found = cfg.run(cases(true_text, lambda d, p: p.answer), pays_max)
            if found is None or found.total:
                return found
            return _Found(found.message + _style_hint(pays_some, sty, "the reward pays"))

        unit("true_answer_max", true_answer_max)

    def is_only_true(case: Case) -> None:
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

    if "only_true_answer_max" not in skipped:

        def wrong_text(draw: st.DrawFn, p: Problem) -> str:
            if draw(st.booleans()):
                return draw(_ARBITRARY)
            return draw_surface_form(draw, draw(_ANY_NUMBER), sty)

        unit(
            "only_true_answer_max",
            lambda: fixed_then(is_only_true, cases(wrong_text, any_value)),
        )

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

            def family_unit(texts: DrawOne = miss_text, values: DrawOne = values) -> _Found | None:
                return cfg.run(cases(texts, values), no_credit_for)

            unit(f"near_misses/{family}", family_unit)

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

        unit("monotone", lambda: cfg.run(_composite(draw_pair), monotone))

    def formats_test(case: Case) -> None:
        p, (_, text) = case
        score, how, read = target.text(text, p)
        if read is not None and read[0] is None and read[1]:
            raise _Fail(
                f"reward {_fmt(score)} for {_show(text)} ({how}), counted as well-formed though no "
                f"answer was read, when the answer is {p.answer}: a completion with no answer "
                "must be malformed, or the format term never penalises it"
            )

    if reads and "well_formed" not in skipped:

        def text_only(draw: st.DrawFn) -> Case:
            p = draw(probs)
            return p, ("text", _draw_any_text(draw, p, sty))

        unit("well_formed", lambda: fixed_then(formats_test, _composite(text_only)))

    answer = _CHECK_PROBLEM.answer

    def judge(desc: str, text: str, result: Any) -> list[tuple[str, str]]:
        score, how, read = result
        shown = f"reward {_fmt(score)} for {_show(text)}{f' ({how})' if how else ''}"
        out = []
        if not lo <= score <= hi:
            out.append(("bounded", f"{shown}: scores must lie in [{lo:g}, {hi:g}]"))
        if score >= hi and str(answer) not in _ascii_digits(text):
            out.append(
                (
                    "only_true_answer_max",
                    f"{shown} when the answer is {answer}: nothing but the true answer may "
                    f"score the maximum {hi:g}",
                )
            )
        if read is not None and read[0] is None and read[1]:
            out.append(
                (
                    "well_formed",
                    f"{shown}, counted as well-formed though no answer was read: a completion "
                    "with no answer must be malformed",
                )
            )
        return out

    if {"total", "bounded", "only_true_answer_max", "well_formed", "linear_time"} - set(skipped):
        units.append(
            (
                "linear_time",
                lambda: _long_pass(
                    lambda text: target.text(text, _CHECK_PROBLEM),
                    judge,
                    channel,
                    style=sty,
                    timed="linear_time" not in skipped,
                    limit=time_limit,
                    size=size,
                    what="scoring",
                ),
            )
        )
    labels = [
        label
        for name in REWARD_PROPERTIES
        if name not in skipped and (name != "well_formed" or reads)
        for label in ([f"near_misses/{f}" for f in checked] if name == "near_misses" else [name])
    ]
    order_found: _Found | None = None
    if "deterministic" not in skipped:
        if _can_fork():
            order_found = _order_dependence(target, sty, channel, hang_timeout)
        else:
            report.notes.append(
                "deterministic checked in one process only: this platform cannot fork, so a "
                "score that depends on what was scored before may go unnoticed"
            )
    if not _can_fork():
        report.notes.append("no hard time limit: this platform cannot fork, so a hang blocks")
    _prepare(size, "linear_time" not in skipped, sty)
    _run_units(units, labels, report, channel, hang_timeout, "scoring")
    if order_found is not None:
        report.passed = [label for label in report.passed if label != "deterministic"]
        if not any(v.property == "deterministic" for v in report.violations):
            report.violations.append(Violation("deterministic", order_found.message))
    if any(v.property == "deterministic" for v in report.violations):
        report.notes.append(
            "the reward is not deterministic: other violations may be artefacts of its hidden "
            "state; fix that first"
        )
    order = {name: i for i, name in enumerate(REWARD_PROPERTIES)}
    report.violations.sort(key=lambda v: order[v.property])
    if report.violations and raise_on_failure:
        raise CheckError(report)
    return report
