"""The viability curriculum: a ladder of difficulties and a controller that keeps training in
the research log's best zone.

The log's most reusable finding is its RL-viability table
(:data:`mult_env.metrics.VIABILITY_ZONES`):

=========  ==========================  ==========================================
accuracy   the log's outcome           what :class:`Curriculum` does on the rung
=========  ==========================  ==========================================
0-5%       no learning (guessing)      ``floor``: below it, even a rung just climbed
                                       to is left downwards
5-20%      slow/unreliable             ``low``: below it, the rung is too hard: down
20-50%     best zone (good variance)   stay
50-80%     good, faster saturation     ``high``: at or above it, too easy: up
80%+       diminishing returns         ``ceiling``: at or above it, even a rung just
                                       come down to is left upwards
=========  ==========================  ==========================================

The rule, applied in :meth:`Curriculum.record` after each group:

1. **Window.** The decision variable is the accuracy over a window of ``window`` consecutive
   groups recorded on the current rung (all samples of those groups), like the log's
   "batches 0-9, 10-19" windows: one decision per full window, then the window starts empty
   again (so noise gets one test per window, not one per group), and a move starts a fresh
   window, so each rung is judged on its own samples only.
2. **Leave the best zone, move.** Window accuracy ``>= high`` moves one rung up (too easy:
   mostly all-good groups, little variance); ``< low`` moves one rung down (too hard: mostly
   all-bad groups).
3. **Hysteresis: reversing needs the outer zones.** Moving back the way the controller just
   came needs the stronger evidence of the table's outer zones: after a move down, going up
   again needs ``>= ceiling`` (diminishing returns here, so the rung above is worth a retry);
   after a move up, going down again needs ``< floor`` (no learning at all here). So a
   policy whose accuracy sits near a bound does not flip between two rungs on noise: for one
   at 60% on rung *k* and 2% on rung *k+1*, the controller goes up once, comes back once, and
   stays on *k* until the policy reaches 80% there; one at 60% and 10% goes up and stays on
   *k+1* (slow, but learning).
4. **Back-off.** Each reversal in a row doubles the number of groups the controller waits on
   a rung before its next decision (``window * 2**reversals``, at most ``2**max_backoff``
   windows; the decision reads the last window); a move in the same direction as the
   previous one resets it. This bounds the
   moves of a policy with a cliff between two rungs (80%+ on one, under 5% on the next) to a
   logarithm of the run length.

``mix`` (default 0: off) draws that share of problems from the neighbouring rungs (below and
above, equally; the one that exists at either end of the ladder) so the policy keeps seeing
what it learnt and previews what comes next. Those groups are counted per rung but never enter
the window: only the current rung's groups move the controller.

Everything is deterministic given the inputs: the same recorded groups give the same moves,
:meth:`Curriculum.choose` uses only the generator it is handed, and :meth:`state_dict` /
:meth:`load_state_dict` round-trip the whole state through JSON, so a resumed run continues
exactly as the uninterrupted one would.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mult_env.problems import MAX_DIGITS, Difficulty, resolve_difficulty

__all__ = [
    "DEFAULT_LADDER",
    "Curriculum",
    "make_curriculum",
    "rung_name",
]

DEFAULT_LADDER: tuple[tuple[int, int], ...] = (
    (1, 1),
    *(pair for n in range(2, MAX_DIGITS + 1) for pair in ((n, n - 1), (n, n))),
)
"""1x1, 2x1, 2x2, 3x2, 3x3, ... up to ``MAX_DIGITS`` x ``MAX_DIGITS``: each rung adds one digit
to one operand."""

_STATE_VERSION = 1


def rung_name(difficulty: tuple[int, int]) -> str:
    """``"AxB"`` for ``(A, B)``: the name used in metric keys (``env/2x1/correct``)."""
    return f"{difficulty[0]}x{difficulty[1]}"


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


class Curriculum:
    """A ladder of difficulties and the viability controller that walks it (see the module
    docstring for the rule and how it follows the log's table).

    Use: draw each problem's difficulty with :meth:`choose` (or read :attr:`difficulty`),
    sample a group for it, then :meth:`record` the group's correctness.

    Args:
        ladder: difficulties from easiest to hardest: names (``"easy"``), ``"AxB"`` strings or
            digit pairs, at least one, no repeats. Default :data:`DEFAULT_LADDER`.
        start: the rung to start on (an index into the ladder or a difficulty on it).
        window: groups per decision window (default 32: 128 samples at group size 4, a
            standard error of about 4 points on a 35% accuracy, small next to the best zone's
            30-point width).
        floor, low, high, ceiling: the zone bounds, fractions with
            ``floor <= low < high <= ceiling`` (defaults 0.05, 0.2, 0.5, 0.8: the log's table).
        mix: share of problems drawn from the neighbouring rungs (0 to 1; default 0).
        max_backoff: cap on the back-off exponent (default 6: at most 64 windows).
    """

    def __init__(
        self,
        ladder: Iterable[Difficulty] | None = None,
        *,
        start: int | Difficulty = 0,
        window: int = 32,
        floor: float = 0.05,
        low: float = 0.20,
        high: float = 0.50,
        ceiling: float = 0.80,
        mix: float = 0.0,
        max_backoff: int = 6,
    ) -> None:
        rungs = tuple(resolve_difficulty(d) for d in (DEFAULT_LADDER if ladder is None else ladder))
        if not rungs:
            raise ValueError("a curriculum ladder needs at least one difficulty")
        if len(set(rungs)) != len(rungs):
            raise ValueError(f"ladder has repeated difficulties: {[rung_name(r) for r in rungs]}")
        self.ladder: tuple[tuple[int, int], ...] = rungs
        if type(window) is not int or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        if type(max_backoff) is not int or not 0 <= max_backoff <= 30:
            raise ValueError(f"max_backoff must be an int in [0, 30], got {max_backoff!r}")
        self.window = window
        self.max_backoff = max_backoff
        self.floor = _fraction("floor", floor)
        self.low = _fraction("low", low)
        self.high = _fraction("high", high)
        self.ceiling = _fraction("ceiling", ceiling)
        if not self.floor <= self.low < self.high <= self.ceiling:
            raise ValueError(
                "zone bounds must satisfy floor <= low < high <= ceiling, got "
                f"{self.floor}, {self.low}, {self.high}, {self.ceiling}"
            )
        self.mix = _fraction("mix", mix)
        self.rung = self._index(start)
        """Index of the current rung in :attr:`ladder`."""
        self.last_move = 0
        """Direction of the latest move: +1 up, -1 down, 0 none yet."""
        self.reversals = 0
        """Reversals in a row (the back-off exponent)."""
        self.on_rung = 0
        """Groups recorded on the current rung since the controller arrived there."""
        self.groups = 0
        """Groups recorded in all (every rung, mixed ones included)."""
        self._window: deque[tuple[int, int]] = deque(maxlen=window)
        self.totals: dict[str, list[int]] = {}
        """Per rung name: ``[groups, samples, correct samples]`` recorded on it."""
        self.reached: list[int] = [self.rung]
        """Rung indices the controller has been on, in the order first reached."""
        self.moves: list[dict[str, Any]] = []
        """Every move: ``{"group", "from", "to", "accuracy"}`` (rung names; ``group`` is the
        count of groups recorded when it happened)."""

    # ------------------------------------------------------------------ reading
    def _index(self, rung: int | Difficulty) -> int:
        if isinstance(rung, int):
            if type(rung) is not int or not 0 <= rung < len(self.ladder):
                raise ValueError(f"rung index {rung} is not in [0, {len(self.ladder)})")
            return rung
        digits = resolve_difficulty(rung)
        if digits not in self.ladder:
            raise ValueError(f"{rung_name(digits)} is not on the ladder")
        return self.ladder.index(digits)

    @property
    def difficulty(self) -> tuple[int, int]:
        """The current rung's ``(digits_a, digits_b)``."""
        return self.ladder[self.rung]

    @property
    def name(self) -> str:
        """The current rung's name, ``"AxB"``."""
        return rung_name(self.difficulty)

    @property
    def window_accuracy(self) -> float | None:
        """Accuracy over the current window (None while it is empty)."""
        n = sum(s for _, s in self._window)
        return sum(c for c, _ in self._window) / n if n else None

    def _neighbours(self) -> list[int]:
        return [i for i in (self.rung - 1, self.rung + 1) if 0 <= i < len(self.ladder)]

    def choose(self, rng: np.random.Generator) -> tuple[int, int]:
        """The difficulty of the next problem: the current rung, or with probability ``mix`` a
        neighbouring one. Draws from ``rng`` only when ``mix > 0`` and a neighbour exists, so
        without mixing it consumes no randomness."""
        neighbours = self._neighbours()
        if self.mix == 0.0 or not neighbours:
            return self.difficulty
        u = float(rng.random())
        if u >= self.mix:
            return self.difficulty
        pick = min(int(u / self.mix * len(neighbours)), len(neighbours) - 1)
        return self.ladder[neighbours[pick]]

    # ------------------------------------------------------------------ the controller
    def record(
        self, correct_G: Sequence[bool | float], difficulty: Difficulty | None = None
    ) -> int:
        """Record one group's correctness (one problem, ``G`` samples) and update the rung.

        ``correct_G`` holds one bool (or 0/1) per sample. ``difficulty`` is the rung the
        problem came from (default: the current one); a group from another rung (a mixed one,
        or one sampled before the latest move) is counted in :attr:`totals` but does not enter
        the window. Returns the move it caused: +1, -1 or 0.
        """
        values = list(correct_G)
        if not values:
            raise ValueError("a group needs at least one sample")
        for v in values:
            if isinstance(v, str | bytes) or v not in (0, 1):
                raise ValueError(f"correctness values must be bools or 0/1, got {v!r}")
        correct = sum(1 for v in values if v)
        digits = self.difficulty if difficulty is None else resolve_difficulty(difficulty)
        total = self.totals.setdefault(rung_name(digits), [0, 0, 0])
        total[0] += 1
        total[1] += len(values)
        total[2] += correct
        self.groups += 1
        if digits != self.difficulty:
            return 0
        self._window.append((correct, len(values)))
        self.on_rung += 1
        return self._decide()

    def _decide(self) -> int:
        if len(self._window) < self.window:
            return 0
        accuracy = self.window_accuracy
        assert accuracy is not None
        self._window.clear()  # windows are consecutive, not sliding: one decision per window
        if self.on_rung < self.window * 2 ** min(self.reversals, self.max_backoff):
            return 0
        up_bar = self.ceiling if self.last_move < 0 else self.high
        down_bar = self.floor if self.last_move > 0 else self.low
        if accuracy >= up_bar and self.rung + 1 < len(self.ladder):
            move = 1
        elif accuracy < down_bar and self.rung > 0:
            move = -1
        else:
            return 0
        self.reversals = self.reversals + 1 if move == -self.last_move else 0
        self.moves.append(
            {
                "group": self.groups,
                "from": self.name,
                "to": rung_name(self.ladder[self.rung + move]),
                "accuracy": accuracy,
            }
        )
        self.rung += move
        self.last_move = move
        self.on_rung = 0
        if self.rung not in self.reached:
            self.reached.append(self.rung)
        return move

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The whole state (settings included) as JSON-serialisable data."""
        return {
            "version": _STATE_VERSION,
            "ladder": [list(r) for r in self.ladder],
            "window": self.window,
            "floor": self.floor,
            "low": self.low,
            "high": self.high,
            "ceiling": self.ceiling,
            "mix": self.mix,
            "max_backoff": self.max_backoff,
            "rung": self.rung,
            "last_move": self.last_move,
            "reversals": self.reversals,
            "on_rung": self.on_rung,
            "groups": self.groups,
            "recent": [list(w) for w in self._window],
            "totals": {k: list(v) for k, v in self.totals.items()},
            "reached": list(self.reached),
            "moves": [dict(m) for m in self.moves],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (settings included); raises ``ValueError`` on a state
        of another version or an inconsistent one."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported curriculum state version {state.get('version')!r}")
        fresh = Curriculum(
            [tuple(r) for r in state["ladder"]],
            start=int(state["rung"]),
            window=state["window"],
            floor=state["floor"],
            low=state["low"],
            high=state["high"],
            ceiling=state["ceiling"],
            mix=state["mix"],
            max_backoff=state["max_backoff"],
        )
        recent = [(int(c), int(n)) for c, n in state["recent"]]
        if len(recent) > fresh.window or any(not 0 <= c <= n for c, n in recent):
            raise ValueError("curriculum state has an invalid window")
        if state["last_move"] not in (-1, 0, 1):
            raise ValueError(f"invalid last_move {state['last_move']!r}")
        fresh.last_move = int(state["last_move"])
        fresh.reversals = int(state["reversals"])
        fresh.on_rung = int(state["on_rung"])
        fresh.groups = int(state["groups"])
        fresh._window.extend(recent)
        fresh.totals = {str(k): [int(x) for x in v] for k, v in state["totals"].items()}
        fresh.reached = [fresh._index(int(i)) for i in state["reached"]]
        fresh.moves = [dict(m) for m in state["moves"]]
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> Curriculum:
        """A curriculum in the given state."""
        out = cls()
        out.load_state_dict(state)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Curriculum) and self.state_dict() == other.state_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        acc = self.window_accuracy
        shown = "-" if acc is None else f"{acc:.0%}"
        return (
            f"Curriculum(rung={self.name}, {self.rung + 1}/{len(self.ladder)}, "
            f"window {len(self._window)}/{self.window} at {shown}, groups={self.groups})"
        )


_SETTINGS: dict[str, type] = {
    "window": int,
    "max_backoff": int,
    "floor": float,
    "low": float,
    "high": float,
    "ceiling": float,
    "mix": float,
}


def make_curriculum(spec: Curriculum | str | Mapping[str, Any] | None) -> Curriculum | None:
    """A :class:`Curriculum` from what a user (or ``gym.make``, which deep-copies kwargs) passes.

    ``None`` or ``""``: no curriculum. ``"viability"``: the default ladder and rule. A
    comma-separated ladder such as ``"1x1,2x1,2x2"``: the rule on that ladder. Either may add
    ``key=value`` settings, for command lines: ``"viability,window=16,mix=0.1"``. A mapping: the
    constructor's keyword arguments (``{"ladder": ["1x1", "2x1"], "window": 16}``), or a
    :meth:`Curriculum.state_dict` (recognised by its ``version`` key). A :class:`Curriculum` is
    returned as is.
    """
    if spec is None or isinstance(spec, Curriculum):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            return None
        parts = [part.strip() for part in text.split(",")]
        settings: dict[str, Any] = {}
        for part in (p for p in parts if "=" in p):
            key, _, value = part.partition("=")
            key, value = key.strip(), value.strip()
            kind = _SETTINGS.get(key)
            if kind is None:
                raise ValueError(f"unknown curriculum setting {key!r}; use {sorted(_SETTINGS)}")
            try:
                settings[key] = kind(value)
            except ValueError:
                raise ValueError(
                    f"curriculum setting {key} needs a number, got {value!r}"
                ) from None
        rungs = [p for p in parts if "=" not in p]
        ladder = None if rungs == ["viability"] else rungs
        return Curriculum(ladder, **settings)
    if isinstance(spec, Mapping):
        if "version" in spec:
            return Curriculum.from_state_dict(spec)
        return Curriculum(**spec)
    raise TypeError(
        "curriculum must be a Curriculum, 'viability', a comma-separated ladder, a mapping of "
        f"Curriculum arguments or None, got {type(spec).__name__}"
    )
