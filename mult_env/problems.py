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
import numpy.typing as npt

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


_new_object = object.__new__
_set_a = Problem.__dict__["a"].__set__
_set_b = Problem.__dict__["b"].__set__


def _problem(a: int, b: int) -> Problem:
    """``Problem(a, b)`` without the frozen dataclass's per-field ``object.__setattr__`` calls.

    Writes the two slots through their descriptors: the same (equal, frozen, hashable) instance
    at a fraction of the cost, for the per-item hot paths below.
    """
    problem = _new_object(Problem)
    _set_a(problem, a)
    _set_b(problem, b)
    return problem


def resolve_difficulty(difficulty: Difficulty) -> tuple[int, int]:
    """Return the exact ``(digits_a, digits_b)`` of a difficulty name or pair.

    Raises ``ValueError`` naming the accepted values when the input is not one of them.
    """
    if isinstance(difficulty, str):
        if difficulty in DIFFICULTIES:
            return DIFFICULTIES[difficulty]
        if "x" in difficulty:  # "3x2", handy on command lines
            left, _, right = difficulty.partition("x")
            if left.isascii() and left.isdigit() and right.isascii() and right.isdigit():
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
        f"difficulty must be a name or a pair of digit counts in 1..{MAX_DIGITS}, "
        f"got {difficulty!r}"
    )


def _splitmix64(x: int) -> int:
    z = (x + _GAMMA) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _splitmix64_np(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return out


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
        # Whether the uint64 arithmetic of arrays() is exact: position * stride stays below
        # 2**64 (and one hash word is used) while the space has fewer than 2**31 pairs.
        self._vectorised = self._space.bit_length() <= 31

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
        return _problem(self._a_min + q, self._b_min + r)

    def _items(self, start: int, stop: int) -> list[Problem]:
        """Items ``start .. stop-1`` (already bounds-checked): ``[self[i] for i in ...]``.

        The same arithmetic as :meth:`_position` and :meth:`_problem_at`, inlined with the
        constants hoisted out of the loop. Below 2**32 problems per split (every difficulty up
        to 4x5 digits) one SplitMix64 word is enough and its steps are written out here.
        """
        if self._hash_words != 1:
            return [
                self._problem_at(self._position(i * self.num_shards + self.shard))
                for i in range(start, stop)
            ]
        key, shards, shard = self._key, self.num_shards, self.shard
        base, size, stride, offset = self._base, self._size, self._stride, self._offset
        space, nb, a_min, b_min = self._space, self._nb, self._a_min, self._b_min
        out: list[Problem] = []
        append = out.append
        for i in range(start, stop):
            # _splitmix64((key + j * _GAMMA) & _M64) with j the unsharded index
            z = (key + (i * shards + shard + 1) * _GAMMA) & _M64
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
            q, r = divmod(((base + (z ^ (z >> 31)) % size) * stride + offset) % space, nb)
            append(_problem(a_min + q, b_min + r))
        return out

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
        if type(i) is int and 0 <= i < self.length and self._hash_words == 1:
            # The common case, inlined: _problem_at(_position(j)) for one hash word.
            z = (self._key + (i * self.num_shards + self.shard + 1) * _GAMMA) & _M64
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
            position = self._base + (z ^ (z >> 31)) % self._size
            q, r = divmod((position * self._stride + self._offset) % self._space, self._nb)
            return _problem(self._a_min + q, self._b_min + r)
        if isinstance(i, slice):
            start, stop, step = i.indices(self.length)
            if step == 1:
                return self._items(start, max(start, stop))
            return [self[j] for j in range(start, stop, step)]
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
        """Items ``start .. start+n-1`` as a list.

        Large takes from problem spaces below 2**31 pairs are computed by :meth:`arrays` (the
        same uint64 arithmetic, vectorised) and wrapped into :class:`Problem` objects.
        """
        if n >= 64 and start >= 0 and self._vectorised:
            stop = min(start + n, self.length)
            if stop <= start:
                return []
            a, b = self.arrays(stop - start, start)
            return list(map(_problem, a.tolist(), b.tolist()))
        return self[start : start + n]

    def arrays(self, n: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Operands of items ``start .. start+n-1`` as two int64 arrays, vectorised.

        Equal to ``take(n, start)`` item by item, for bulk generation. Supported where the
        problem space has fewer than 2**31 pairs (up to 4x5 digits); larger ones raise.
        """
        if not self._vectorised:
            raise ValueError(
                f"arrays() supports problem spaces below 2**31 pairs, not {self.digits}"
            )
        if not (start >= 0 and n >= 0 and start + n <= self.length):
            raise IndexError("arrays() range out of bounds")
        return self._operands(np.arange(start, start + n, dtype=np.uint64))

    def _operands(self, i: npt.NDArray[np.uint64]) -> tuple[np.ndarray, np.ndarray]:
        """Operands of items ``i`` (in range; a problem space below 2**31 pairs), vectorised:
        :meth:`_position` and :meth:`_problem_at` in uint64 arithmetic, whose wrap-around is
        the ``& _M64`` of the scalar code."""
        with np.errstate(over="ignore"):
            j = i * np.uint64(self.num_shards) + np.uint64(self.shard)
            h = _splitmix64_np(np.uint64(self._key) + j * np.uint64(_GAMMA))
        position = np.uint64(self._base) + h % np.uint64(self._size)
        index = (position * np.uint64(self._stride) + np.uint64(self._offset)) % np.uint64(
            self._space
        )
        q, r = np.divmod(index, np.uint64(self._nb))
        return (q + np.uint64(self._a_min)).astype(np.int64), (r + np.uint64(self._b_min)).astype(
            np.int64
        )

    def __repr__(self) -> str:
        return (
            f"ProblemSet(difficulty={self.digits}, seed={self.seed}, split={self.split!r}, "
            f"shard={self.shard}, num_shards={self.num_shards})"
        )
