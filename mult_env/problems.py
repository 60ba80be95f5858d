"""Multiplication problems and reproducible, disjoint, shardable problem streams.

A difficulty is a pair of *exact* digit counts: every operand of a "3-digit" problem lies in
100..999. The problem space of a difficulty, all ``(a, b)`` pairs, is split once and for all
into a test part (``TEST_FRACTION`` of it) and a train part, independently of any seed, so that
no seed's training stream can contain a problem of any seed's test stream.

Item ``i`` of ``ProblemSet(difficulty, seed, split)`` is a pure function of
``(difficulty, seed, split, i)``, computed in O(1) with integer arithmetic only (a keyed
SplitMix64 counter hash, then a fixed bijection of the problem space), so it is identical on
every platform and Python version and can be read in any order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import gcd
from typing import Literal, overload

import numpy as np

__all__ = [
    "DIFFICULTIES",
    "MAX_DIGITS",
    "SPLITS",
    "TEST_FRACTION",
    "Difficulty",
    "Problem",
    "ProblemSet",
    "resolve_difficulty",
]

Difficulty = str | tuple[int, int]
Split = Literal["train", "test"]

DIFFICULTIES: dict[str, tuple[int, int]] = {
    "tiny": (1, 1),
    "easy": (2, 2),
    "medium": (3, 3),
    "hard": (4, 4),
    "expert": (5, 5),
}
"""Named difficulties and their exact operand digit counts (``medium`` is the log's 3x3)."""

MAX_DIGITS = 20
"""Largest operand length accepted by :func:`resolve_difficulty`."""

SPLITS: tuple[Split, ...] = ("train", "test")
TEST_FRACTION = 0.1
"""Share of each difficulty's problem space reserved for the test split."""

_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_GOLDEN = (5**0.5 - 1) / 2


@dataclass(frozen=True, slots=True)
class Problem:
    """One multiplication problem ``a * b``."""

    a: int
    b: int

    @property
    def answer(self) -> int:
        """The exact product."""
        return self.a * self.b

    def __str__(self) -> str:
        return f"{self.a} * {self.b}"


def resolve_difficulty(difficulty: Difficulty) -> tuple[int, int]:
    """Return the exact ``(digits_a, digits_b)`` of a difficulty.

    The one grammar for difficulties, in the library and on the trainer's command line: a name
    of :data:`DIFFICULTIES`, ``"AxB"`` (``"3x2"``: digit counts, any case, spaces allowed) or a
    pair of digit counts in ``1..MAX_DIGITS``. Raises ``ValueError`` naming the accepted values.
    """
    if isinstance(difficulty, str):
        text = difficulty.strip().lower()
        if text in DIFFICULTIES:
            return DIFFICULTIES[text]
        left, x, right = text.partition("x")
        left, right = left.strip(), right.strip()
        if x and left.isascii() and left.isdigit() and right.isascii() and right.isdigit():
            return resolve_difficulty((int(left), int(right)))
        names = ", ".join(DIFFICULTIES)
        raise ValueError(
            f"unknown difficulty {difficulty!r}: use one of {names}, "
            "'AxB' or a pair of digit counts"
        )
    if (
        isinstance(difficulty, tuple | list)
        and len(difficulty) == 2
        and all(type(d) is int and 1 <= d <= MAX_DIGITS for d in difficulty)
    ):
        return (difficulty[0], difficulty[1])
    raise ValueError(
        f"difficulty must be a name, 'AxB' or a pair of digit counts in 1..{MAX_DIGITS}, "
        f"got {difficulty!r}"
    )


def _splitmix64(x: int) -> int:
    z = (x + _GAMMA) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _coprime_near(n: int, target: int) -> int:
    """The integer closest to ``target`` (searching upwards) that is coprime with ``n``."""
    c = max(1, target)
    while gcd(c, n) != 1:
        c += 1
    return c % n if n > 1 else 0


class ProblemSet(Sequence[Problem]):
    """A reproducible stream of problems of one difficulty, split and shard.

    ``ProblemSet("medium", seed=42, split="test")[i]`` is the same problem on every machine
    and version. Items are drawn uniformly (with replacement) from the split's part of the
    problem space. The set behaves as a sequence of ``length`` items (default: 2**62, i.e.
    effectively unbounded); ``shard=k, num_shards=n`` keeps items ``k, k+n, k+2n, ...`` of
    the unsharded stream, so the shards of one stream partition it.
    """

    def __init__(
        self,
        difficulty: Difficulty = "medium",
        seed: int = 0,
        split: Split = "train",
        shard: int = 0,
        num_shards: int = 1,
        length: int = 1 << 62,
    ) -> None:
        self.digits = resolve_difficulty(difficulty)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if type(seed) is not int or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if type(num_shards) is not int or num_shards < 1:
            raise ValueError(f"num_shards must be a positive int, got {num_shards!r}")
        if type(shard) is not int or not 0 <= shard < num_shards:
            raise ValueError(f"shard must be an int in [0, {num_shards}), got {shard!r}")
        if type(length) is not int or length < 0:
            raise ValueError(f"length must be a non-negative int, got {length!r}")
        self.seed, self.split, self.shard, self.num_shards = seed, split, shard, num_shards
        self.length = length
        da, db = self.digits
        self._a_min: int = 10 ** (da - 1)
        self._b_min: int = 10 ** (db - 1)
        self._nb = 9 * self._b_min
        self._space = 9 * self._a_min * self._nb
        # Fixed (seed-independent) bijection of the problem space: a Weyl step coprime with
        # the space size. Positions [0, test_size) of it are the test split, the rest train.
        self._stride = _coprime_near(self._space, round(self._space * _GOLDEN))
        self._offset = self._space // 3
        self._stride_inverse: int = pow(self._stride, -1, self._space)
        test_size = max(1, round(self._space * TEST_FRACTION))
        self._base: int = 0 if split == "test" else test_size
        self._size: int = test_size if split == "test" else self._space - test_size
        key = hashlib.blake2b(
            f"mult_env/v1/{da}x{db}/{seed}/{split}".encode(), digest_size=8
        ).digest()
        self._key = int.from_bytes(key, "little")
        # Enough 64-bit words that `hash % size` has at least 32 spare bits (bias < 2**-32).
        self._hash_words = (self._size.bit_length() + 32) // 64 + 1

    @property
    def split_size(self) -> int:
        """How many distinct problems this split holds."""
        return self._size

    def _position(self, i: int) -> int:
        """Position in the space bijection of unsharded item ``i``."""
        h = 0
        for w in range(self._hash_words):
            h = (h << 64) | _splitmix64((self._key + (i * self._hash_words + w) * _GAMMA) & _M64)
        return self._base + h % self._size

    def _problem_at(self, position: int) -> Problem:
        index = (position * self._stride + self._offset) % self._space
        q, r = divmod(index, self._nb)
        return Problem(self._a_min + q, self._b_min + r)

    def contains(self, problem: Problem) -> bool:
        """Whether ``problem`` belongs to this set's difficulty and split (any seed)."""
        a, b = problem.a, problem.b
        if not (self._a_min <= a < 10 * self._a_min and self._b_min <= b < 10 * self._b_min):
            return False
        index = (a - self._a_min) * self._nb + (b - self._b_min)
        position: int = ((index - self._offset) * self._stride_inverse) % self._space
        return self._base <= position < self._base + self._size

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, i: int) -> Problem: ...
    @overload
    def __getitem__(self, i: slice) -> list[Problem]: ...
    def __getitem__(self, i: int | slice) -> Problem | list[Problem]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.length))]
        if not isinstance(i, int | np.integer):
            raise TypeError(
                f"ProblemSet indices must be integers or slices, not {type(i).__name__}"
            )
        i = int(i)
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(f"ProblemSet index {i} out of range")
        return self._problem_at(self._position(i * self.num_shards + self.shard))

    def __iter__(self) -> Iterator[Problem]:
        for i in range(self.length):
            yield self[i]

    def take(self, n: int, start: int = 0) -> list[Problem]:
        """Items ``start .. start+n-1`` as a list."""
        return self[start : start + n]

    def __repr__(self) -> str:
        return (
            f"ProblemSet(difficulty={self.digits}, seed={self.seed}, split={self.split!r}, "
            f"shard={self.shard}, num_shards={self.num_shards})"
        )
