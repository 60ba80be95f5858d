from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mult_env.problems import (
    DIFFICULTIES,
    MAX_DIGITS,
    TEST_FRACTION,
    Problem,
    ProblemSet,
    Split,
    resolve_difficulty,
)

# Pinned: "100 random problems, seed=42" must mean the same problems on every machine and
# every version. Changing these is a breaking change to every published result.
PINNED = {
    "train": [(891, 852), (218, 796), (832, 819), (889, 102), (304, 391)],
    "test": [(765, 595), (148, 114), (807, 611), (953, 939), (698, 418)],
}


@pytest.mark.parametrize("split", ["train", "test"])
def test_medium_seed_42_is_pinned(split: str) -> None:
    got = [(p.a, p.b) for p in ProblemSet("medium", seed=42, split=split).take(5)]
    assert got == PINNED[split]


def test_problem_answer_and_str() -> None:
    p = Problem(847, 293)
    assert p.answer == 248171
    assert str(p) == "847 * 293"


@pytest.mark.parametrize("name", sorted(DIFFICULTIES))
@pytest.mark.parametrize("split", ["train", "test"])
def test_exact_digit_counts(name: str, split: str) -> None:
    da, db = DIFFICULTIES[name]
    for p in ProblemSet(name, seed=3, split=split).take(300):
        assert (len(str(p.a)), len(str(p.b))) == (da, db)


def test_named_difficulties() -> None:
    assert DIFFICULTIES["tiny"] == (1, 1)
    assert DIFFICULTIES["easy"] == (2, 2)
    assert DIFFICULTIES["medium"] == (3, 3)
    assert DIFFICULTIES["hard"] == (4, 4)


@given(st.integers(1, MAX_DIGITS), st.integers(1, MAX_DIGITS), st.integers(0, 2**40))
def test_any_digit_pair_up_to_20(da: int, db: int, i: int) -> None:
    p = ProblemSet((da, db), seed=1)[i]
    assert (len(str(p.a)), len(str(p.b))) == (da, db)


@pytest.mark.parametrize("bad", ["impossible", (0, 3), (3, 21), (3,), ("3", 3), "3x0", 3])
def test_bad_difficulty_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ValueError, match="difficulty"):
        resolve_difficulty(bad)  # type: ignore[arg-type]


def test_axb_string() -> None:
    assert resolve_difficulty("2x1") == (2, 1)
    assert resolve_difficulty(" 3 X 2 ") == resolve_difficulty("3x2") == (3, 2)
    assert resolve_difficulty("Medium") == (3, 3)


@given(st.integers(0, 2**32), st.integers(0, 2**62 - 1))
def test_item_is_a_pure_function_of_seed_split_index(seed: int, i: int) -> None:
    a = ProblemSet("hard", seed=seed)[i]
    b = ProblemSet("hard", seed=seed)[i]
    assert a == b


def test_neighbouring_seeds_are_not_shifted_copies() -> None:
    # random.Random(seed + i) would make seed s item i+1 equal seed s+1 item i.
    s0 = ProblemSet("medium", seed=0).take(50)
    s1 = ProblemSet("medium", seed=1).take(50)
    assert sum(x == y for x, y in zip(s0[1:], s1[:-1], strict=True)) <= 1


@pytest.mark.parametrize("difficulty", ["tiny", "easy", (2, 1)])
def test_splits_partition_the_whole_space(difficulty: object) -> None:
    """Small spaces: enumerate everything; every pair is in exactly one split, for any seed."""
    train = ProblemSet(difficulty, seed=5, split="train")  # type: ignore[arg-type]
    test = ProblemSet(difficulty, seed=9, split="test")  # type: ignore[arg-type]
    da, db = train.digits
    space = [
        Problem(a, b) for a in range(10 ** (da - 1), 10**da) for b in range(10 ** (db - 1), 10**db)
    ]
    in_test = {p for p in space if test.contains(p)}
    assert all(train.contains(p) != test.contains(p) for p in space)
    assert len(in_test) == test.split_size == max(1, round(len(space) * TEST_FRACTION))
    seen_train = set(train.take(5000))
    seen_test = set(test.take(5000))
    assert not seen_train & seen_test
    assert seen_test <= in_test
    if test.split_size <= 100:
        assert seen_test == in_test  # the stream reaches the whole test split


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_medium_train_never_yields_a_test_problem(seed_train: int, seed_test: int) -> None:
    train = ProblemSet("medium", seed=seed_train, split="train")
    test = ProblemSet("medium", seed=seed_test, split="test")
    assert not any(test.contains(p) for p in train.take(200))
    assert all(test.contains(p) for p in test.take(50))


def test_shards_partition_the_stream() -> None:
    full = ProblemSet("medium", seed=7).take(60)
    shards = [ProblemSet("medium", seed=7, shard=k, num_shards=3).take(20) for k in range(3)]
    for k in range(3):
        assert shards[k] == full[k::3]


@pytest.mark.parametrize(
    ("difficulty", "split", "shard", "num_shards", "digest"),
    [
        ("tiny", "train", 0, 1, "367b269642f61ea4"),
        ("tiny", "train", 2, 3, "25cd9e323ea3f571"),
        ("tiny", "train", 999999, 1000003, "421b698404084455"),
        ("tiny", "test", 0, 1, "076afc7a637b820f"),
        ("tiny", "test", 2, 3, "d7e570f6c9325d2f"),
        ("tiny", "test", 999999, 1000003, "251526ff631fd309"),
        ("easy", "train", 0, 1, "c603559eb76ebbcc"),
        ("easy", "train", 2, 3, "3b21c6789ada5a14"),
        ("easy", "train", 999999, 1000003, "a385a33e8ac38452"),
        ("easy", "test", 0, 1, "54235ca9515cfe2a"),
        ("easy", "test", 2, 3, "e0eb92d88589abac"),
        ("easy", "test", 999999, 1000003, "57d6dd1014dc8095"),
        ("medium", "train", 0, 1, "1cc1a76bf9c3b816"),
        ("medium", "train", 2, 3, "3cdd1a2a883d7c18"),
        ("medium", "train", 999999, 1000003, "0be4f539f7c1caf7"),
        ("medium", "test", 0, 1, "e9ac9459018c2327"),
        ("medium", "test", 2, 3, "eb94dda827b27eec"),
        ("medium", "test", 999999, 1000003, "33e4b4993f6669b6"),
        ("hard", "train", 0, 1, "4777b5f9f58cc492"),
        ("hard", "train", 2, 3, "717a3a5fa2c919b6"),
        ("hard", "train", 999999, 1000003, "3f72c1c69b4b61c9"),
        ("hard", "test", 0, 1, "841b4020f3d90ce6"),
        ("hard", "test", 2, 3, "6738f926e0a88ea0"),
        ("hard", "test", 999999, 1000003, "d0d5eed4b7cc1dd8"),
        ("4x5", "train", 0, 1, "ff2ecbc9b67ca3e2"),
        ("4x5", "train", 2, 3, "55d903bbbb0f8c2a"),
        ("4x5", "train", 999999, 1000003, "dd77dc6d5cbfd2a9"),
        ("4x5", "test", 0, 1, "af5d3acea4b29950"),
        ("4x5", "test", 2, 3, "6a30f77018198394"),
        ("4x5", "test", 999999, 1000003, "8bc807f38238bb80"),
        ("5x5", "train", 0, 1, "c026a123e63b3253"),
        ("5x5", "train", 2, 3, "7d35f0fdd421cf14"),
        ("5x5", "train", 999999, 1000003, "03d06953462313e3"),
        ("5x5", "test", 0, 1, "b09773f93d37ebc3"),
        ("5x5", "test", 2, 3, "6d77ca8c90fd1e0c"),
        ("5x5", "test", 999999, 1000003, "4775c3b1e7d6f56b"),
        ("10x12", "train", 0, 1, "36c272ad66fc59ee"),
        ("10x12", "train", 2, 3, "687fe3019bad5f53"),
        ("10x12", "train", 999999, 1000003, "2d5706ea4bfc8e9e"),
        ("10x12", "test", 0, 1, "93b52c8c20f4e5b6"),
        ("10x12", "test", 2, 3, "b84e13b302cd58f1"),
        ("10x12", "test", 999999, 1000003, "e02b3d8aef276ae1"),
        ("20x20", "train", 0, 1, "5d9a6d77feeb27c7"),
        ("20x20", "train", 2, 3, "5a65094eb61a5d7d"),
        ("20x20", "train", 999999, 1000003, "215c00ba73046a10"),
        ("20x20", "test", 0, 1, "512c99d0c6a06368"),
        ("20x20", "test", 2, 3, "caf2435a0997d410"),
        ("20x20", "test", 999999, 1000003, "c44068f548da2827"),
    ],
)
def test_streams_are_pinned(
    difficulty: str, split: Split, shard: int, num_shards: int, digest: str
) -> None:
    """300 items (at the start, at 2**40 and at the end) of many streams, as recorded: problem
    streams never change across versions."""
    ps = ProblemSet(difficulty, seed=7, split=split, shard=shard, num_shards=num_shards)
    items = [p for start in (0, 2**40, ps.length - 100) for p in ps.take(100, start)]
    got = hashlib.sha256(repr([(p.a, p.b) for p in items]).encode()).hexdigest()[:16]
    assert got == digest


def test_sequence_protocol() -> None:
    ps = ProblemSet("easy", seed=2, length=10)
    assert len(ps) == 10
    assert list(ps) == ps.take(10) == ps[:]
    assert ps[-1] == ps[9]
    with pytest.raises(IndexError):
        ps[10]
    with pytest.raises(TypeError, match="integers or slices"):
        ps["0"]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"split": "validation"},
        {"seed": -1},
        {"seed": 1.5},
        {"num_shards": 0},
        {"shard": 3, "num_shards": 3},
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ProblemSet("medium", **kwargs)  # type: ignore[arg-type]


def test_roughly_uniform_operands() -> None:
    problems = ProblemSet("medium", seed=0).take(90_000)
    counts_a = [sum(lo <= p.a < lo + 100 for p in problems) for lo in range(100, 1000, 100)]
    assert min(counts_a) > 0.9 * 10_000 and max(counts_a) < 1.1 * 10_000
    assert abs(sum(p.b for p in problems) / len(problems) - 549.5) < 5
