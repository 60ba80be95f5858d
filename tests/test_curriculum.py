"""mult_env.curriculum: the viability controller on simulated policies, its state, the env wiring.

A simulated policy gives each rung a known accuracy. *Exact* policies answer a running share
of exactly ``p`` of their samples correctly (error diffusion), so every window's accuracy is
``p`` to within one sample: the controller's rule is then checked with no noise at all.
*Noisy* policies draw each sample from Bernoulli(``p``), as a real model does.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st

from mult_env import ENV_ID, MultiplicationEnv
from mult_env.curriculum import DEFAULT_LADDER, Curriculum, make_curriculum, rung_name
from mult_env.problems import MAX_DIGITS

LADDER = ("1x1", "2x1", "2x2", "3x2", "3x3", "4x3")
G = 4


class ExactPolicy:
    """Correct on exactly a share ``accuracy(rung, t)`` of samples (error diffusion)."""

    def __init__(self, accuracy: Callable[[int, int], float]) -> None:
        self.accuracy = accuracy
        self.credit: dict[int, float] = {}

    def group(self, rung: int, t: int) -> list[bool]:
        out = []
        for _ in range(G):
            c = self.credit.get(rung, 0.0) + self.accuracy(rung, t)
            hit = c >= 1.0 - 1e-9
            self.credit[rung] = c - 1.0 if hit else c
            out.append(hit)
        return out


def simulate(
    curriculum: Curriculum, policy: Callable[[int, int], list[bool]], groups: int
) -> list[int]:
    """Feed ``groups`` groups from the current rung; returns the rung before each group."""
    course = []
    for t in range(groups):
        rung = curriculum.rung
        course.append(rung)
        curriculum.record(policy(rung, t))
    return course


def noisy(p: Sequence[float], seed: int) -> Callable[[int, int], list[bool]]:
    rng = np.random.default_rng(seed)
    return lambda rung, t: list(rng.random(G) < p[rung])


def reversals(curriculum: Curriculum) -> int:
    names = [rung_name(r) for r in curriculum.ladder]
    steps = [names.index(m["to"]) - names.index(m["from"]) for m in curriculum.moves]
    return sum(1 for a, b in itertools.pairwise(steps) if a != b)


# ---------------------------------------------------------------------------- the ladder
def test_default_ladder_adds_one_digit_at_a_time_up_to_the_library_limit() -> None:
    names = [rung_name(r) for r in DEFAULT_LADDER]
    assert names[:9] == ["1x1", "2x1", "2x2", "3x2", "3x3", "4x3", "4x4", "5x4", "5x5"]
    assert DEFAULT_LADDER[-1] == (MAX_DIGITS, MAX_DIGITS) and len(set(names)) == len(names)
    for (a0, b0), (a1, b1) in itertools.pairwise(DEFAULT_LADDER):
        assert (a1 + b1) - (a0 + b0) == 1
    assert Curriculum().ladder == DEFAULT_LADDER and Curriculum().difficulty == (1, 1)


def test_any_list_of_names_or_digit_pairs_is_a_ladder() -> None:
    c = Curriculum(["tiny", (2, 1), "easy", "3x2"], start="easy")
    assert c.ladder == ((1, 1), (2, 1), (2, 2), (3, 2)) and c.difficulty == (2, 2)
    assert c.name == "2x2" and Curriculum([(3, 3)]).difficulty == (3, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ladder": []}, "at least one"),
        ({"ladder": ["1x1", "tiny"]}, "repeated"),
        ({"ladder": ["1x0"]}, "difficulty"),
        ({"start": 99}, "rung index"),
        ({"start": "3x3", "ladder": ["1x1"]}, "not on the ladder"),
        ({"window": 0}, "window"),
        ({"low": 0.6}, "floor <= low < high <= ceiling"),
        ({"mix": 1.5}, "mix"),
        ({"floor": True}, "floor"),
        ({"max_backoff": -1}, "max_backoff"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Curriculum(**kwargs)  # type: ignore[arg-type]


def test_record_rejects_empty_groups_and_non_boolean_values() -> None:
    c = Curriculum()
    with pytest.raises(ValueError, match="at least one"):
        c.record([])
    for bad in ([0.5], ["1"], [None], [2]):
        with pytest.raises(ValueError, match="bools or 0/1"):
            c.record(bad)  # type: ignore[arg-type]
    c.record([np.True_, 1, 0.0, False])
    assert c.totals == {"1x1": [1, 4, 2]}


def test_make_curriculum_accepts_what_users_and_gym_make_pass() -> None:
    assert make_curriculum(None) is None and make_curriculum("") is None
    assert make_curriculum("viability") == Curriculum()
    assert make_curriculum("1x1, 2x1,2x2").ladder == ((1, 1), (2, 1), (2, 2))  # type: ignore[union-attr]
    made = make_curriculum({"ladder": ["1x1", "2x1"], "window": 8})
    assert made is not None and made.window == 8
    c = Curriculum(window=4)
    assert make_curriculum(c) is c
    assert make_curriculum(c.state_dict()) == c
    with pytest.raises(TypeError, match="curriculum must be"):
        make_curriculum(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- the rule
def test_no_decision_before_a_full_window_then_one_per_window() -> None:
    c = Curriculum(LADDER, window=8)
    for _ in range(7):
        assert c.record([True] * G) == 0
    assert c.record([True] * G) == 1 and c.name == "2x1" and c.window_accuracy is None
    assert c.moves == [{"group": 8, "from": "1x1", "to": "2x1", "accuracy": 1.0}]


def test_groups_from_other_rungs_are_counted_but_do_not_move_the_controller() -> None:
    c = Curriculum(LADDER, window=2)
    for _ in range(10):
        c.record([True] * G, "2x2")
    assert c.rung == 0 and c.totals == {"2x2": [10, 40, 40]} and c.groups == 10


@settings(max_examples=40, deadline=None)
@given(
    zone=st.integers(0, len(LADDER) - 1),
    easy=st.floats(0.55, 1.0),
    good=st.floats(0.25, 0.45),
    hard=st.floats(0.0, 0.15),
    start=st.integers(0, len(LADDER) - 1),
)
def test_settles_on_the_rung_in_the_zone(
    zone: int, easy: float, good: float, hard: float, start: int
) -> None:
    """Easier rungs below the zone's rung, harder ones above it (each at least 5 points, more
    than one sample of a window, from the bounds): from any start, the controller reaches
    the zone's rung and stays there."""

    def accuracy(rung: int, t: int) -> float:
        return easy if rung < zone else good if rung == zone else hard

    c = Curriculum(LADDER, start=start, window=8)
    course = simulate(c, ExactPolicy(accuracy).group, 8 * 3 * len(LADDER))
    assert c.rung == zone
    arrived = course.index(zone)
    assert set(course[arrived:]) == {zone}


@settings(max_examples=30, deadline=None)
@given(
    step_every=st.integers(2, 6),
    mastered=st.floats(0.55, 1.0),
    learning=st.floats(0.1, 0.45),
    unreached=st.floats(0.0, 0.04),
)
def test_climbs_as_the_policy_improves(
    step_every: int, mastered: float, learning: float, unreached: float
) -> None:
    """A policy that masters one more rung every ``step_every`` windows: the controller
    follows it up, never down, and is on the frontier at the end."""
    window = 8

    def skill(t: int) -> int:
        return min(t // (window * step_every), len(LADDER) - 1)

    def accuracy(rung: int, t: int) -> float:
        s = skill(t)
        return mastered if rung < s else learning if rung == s else unreached

    c = Curriculum(LADDER, window=window)
    groups = window * step_every * len(LADDER) + 4 * window
    course = simulate(c, ExactPolicy(accuracy).group, groups)
    assert all(b >= a for a, b in itertools.pairwise(course))
    assert c.rung == len(LADDER) - 1 and all(m["to"] != "1x1" for m in c.moves)


@settings(max_examples=60, deadline=None)
@given(
    ladder_size=st.integers(1, 5),
    start=st.integers(0, 4),
    groups=st.lists(st.lists(st.booleans(), min_size=1, max_size=6), max_size=300),
    window=st.integers(1, 6),
    mix=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_never_leaves_the_ladder(
    ladder_size: int, start: int, groups: list[list[bool]], window: int, mix: float
) -> None:
    """Whatever the groups (adversarial ones included), rung and draws stay on the ladder."""
    c = Curriculum(LADDER[:ladder_size], start=min(start, ladder_size - 1), window=window, mix=mix)
    rng = np.random.default_rng(0)
    for group in groups:
        assert c.choose(rng) in c.ladder
        c.record(group, c.choose(rng))
        assert 0 <= c.rung < ladder_size and c.difficulty in c.ladder
    assert all(0 <= r < ladder_size for r in c.reached)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    bound=st.sampled_from(["low", "high"]),
    rung=st.integers(1, len(LADDER) - 2),
    start_below=st.booleans(),
)
def test_does_not_oscillate_on_a_policy_sitting_on_a_boundary(
    seed: int, bound: str, rung: int, start_below: bool
) -> None:
    """Noisy policy exactly on a zone bound on one rung (so half its windows fall on each
    side), easier below, harder above: at most one excursion and back, over 120 windows."""
    c = Curriculum(LADDER, start=rung - 1 if start_below else rung + 1)
    p = [0.0] * len(LADDER)
    for k in range(len(LADDER)):
        if k < rung:
            p[k] = 0.65
        elif k == rung:
            p[k] = c.low if bound == "low" else c.high
        else:
            p[k] = 0.1
    simulate(c, noisy(p, seed), 120 * c.window)
    assert reversals(c) <= 1 and len(c.moves) <= 3


def test_a_naive_rule_would_oscillate_where_hysteresis_does_not() -> None:
    """60% on 1x1 and 2% on 2x1 (exact): up once, back once, then stays on 1x1, because
    going up again after a move down needs the 80% of "diminishing returns"."""
    p = [0.6, 0.02, 0.0]
    c = Curriculum(LADDER[:3], window=8)
    simulate(c, ExactPolicy(lambda r, t: p[r]).group, 8 * 100)
    assert [(m["from"], m["to"]) for m in c.moves] == [("1x1", "2x1"), ("2x1", "1x1")]
    assert c.name == "1x1"


def test_a_cliff_between_rungs_backs_off_exponentially() -> None:
    """90% on 1x1, 1% on 2x1 (exact): each reversal in a row doubles the wait, so the moves
    over T groups grow like log2(T / window), up to the max_backoff cap."""
    p = [0.9, 0.01]
    window, backoff = 8, 10
    c = Curriculum(LADDER[:2], window=window, max_backoff=backoff)
    groups = window * 2**backoff
    simulate(c, ExactPolicy(lambda r, t: p[r]).group, groups)
    assert 3 <= len(c.moves) <= math.log2(groups / window) + 2
    gaps = [b["group"] - a["group"] for a, b in zip(c.moves, c.moves[1:], strict=False)]
    assert all(later >= 2 * earlier - window for earlier, later in itertools.pairwise(gaps))


def test_mix_draws_the_neighbouring_rungs_in_the_given_share() -> None:
    c = Curriculum(LADDER, start="2x2", mix=0.3)
    rng = np.random.default_rng(1)
    draws = [rung_name(c.choose(rng)) for _ in range(20_000)]
    assert set(draws) == {"2x1", "2x2", "3x2"}
    assert draws.count("2x2") / len(draws) == pytest.approx(0.7, abs=0.02)
    assert draws.count("2x1") / len(draws) == pytest.approx(0.15, abs=0.02)
    edge = Curriculum(LADDER, mix=0.3)
    assert {rung_name(edge.choose(rng)) for _ in range(1000)} == {"1x1", "2x1"}
    # without mixing, choose consumes no randomness
    state = rng.bit_generator.state
    Curriculum(LADDER).choose(rng)
    assert rng.bit_generator.state == state


# ---------------------------------------------------------------------------- state
@settings(max_examples=40, deadline=None)
@given(
    groups=st.lists(st.lists(st.booleans(), min_size=1, max_size=4), max_size=200),
    cut=st.integers(0, 200),
    mix=st.sampled_from([0.0, 0.25]),
)
def test_state_dict_round_trips_through_json_and_resumes_identically(
    groups: list[list[bool]], cut: int, mix: float
) -> None:
    cut = min(cut, len(groups))
    whole = Curriculum(LADDER, window=3, mix=mix)
    rng_whole = np.random.default_rng(7)
    for g in groups[:cut]:
        whole.record(g, whole.choose(rng_whole))
    saved = json.loads(json.dumps(whole.state_dict()))
    resumed = Curriculum.from_state_dict(saved)
    assert resumed.state_dict() == whole.state_dict() == saved
    rng_resumed = np.random.default_rng(rng_whole.bit_generator.state["state"]["state"])
    rng_whole = np.random.default_rng(rng_whole.bit_generator.state["state"]["state"])
    for g in groups[cut:]:
        assert whole.choose(rng_whole) == resumed.choose(rng_resumed)
        assert whole.record(g) == resumed.record(g)
    assert resumed == whole


def test_load_state_dict_rejects_other_versions_and_broken_states() -> None:
    c = Curriculum(window=2)
    state = c.state_dict()
    with pytest.raises(ValueError, match="version"):
        c.load_state_dict({**state, "version": 99})
    with pytest.raises(ValueError, match="window"):
        c.load_state_dict({**state, "recent": [[3, 2]]})
    with pytest.raises(ValueError, match="rung index"):
        c.load_state_dict({**state, "rung": 99})


# ---------------------------------------------------------------------------- the env
def solve(env: gym.Env[str, str], steps: int) -> list[tuple[int, int]]:
    """Answer ``steps`` episodes correctly; returns each episode's info difficulty."""
    seen = []
    for _ in range(steps):
        _, info = env.reset()
        problem = info["problem"]
        assert info["difficulty"] == (len(str(problem.a)), len(str(problem.b)))
        _, _, _, _, step_info = env.step(f"The answer is {problem.answer}.")
        assert step_info["difficulty"] == info["difficulty"]
        seen.append(info["difficulty"])
    return seen


def test_env_by_id_draws_from_the_rung_and_records_every_step() -> None:
    env = gym.make(ENV_ID, curriculum={"ladder": ["1x1", "2x1", "2x2"], "window": 4})
    env.reset(seed=0)
    seen = solve(env, 12)
    assert seen == [(1, 1)] * 4 + [(2, 1)] * 4 + [(2, 2)] * 4
    curriculum = env.unwrapped.curriculum  # type: ignore[attr-defined]
    assert curriculum.groups == 12 and curriculum.name == "2x2"
    mine = Curriculum(["1x1", "2x1"], window=1)
    live = gym.make(ENV_ID, curriculum=mine)  # make passes the caller's object itself
    live.reset(seed=0)
    solve(live, 1)
    assert live.unwrapped.curriculum is mine and mine.name == "2x1"  # type: ignore[attr-defined]


def test_env_with_a_curriculum_passes_check_env_and_its_space_covers_every_rung() -> None:
    env = gym.make(ENV_ID, curriculum="1x1,3x3", few_shot=False).unwrapped
    check_env(env)
    env.curriculum.rung = 1  # type: ignore[attr-defined]
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs) and env.problem.a >= 100  # type: ignore[attr-defined]


def test_env_reset_is_reproducible_and_given_problems_are_not_recorded() -> None:
    a = MultiplicationEnv(curriculum="1x1,2x1")
    b = MultiplicationEnv(curriculum="1x1,2x1")
    assert [a.reset(seed=3)[1]["problem"]] == [b.reset(seed=3)[1]["problem"]]
    a.reset(options={"problem": (12, 34)})
    a.step("The answer is 408.")
    assert a.curriculum is not None and a.curriculum.groups == 0
    _, info = a.reset(options={"index": 5})
    assert info["problem"] == a._rungs[(1, 1)][5]


def test_vector_envs_one_curriculum_per_copy_or_one_shared() -> None:
    spec = {"ladder": ["1x1", "2x1"], "window": 2}
    own = SyncVectorEnv(
        [lambda: gym.make(ENV_ID, curriculum=spec)] * 2, autoreset_mode=AutoresetMode.SAME_STEP
    )
    shared_curriculum = Curriculum(**spec)  # type: ignore[arg-type]
    shared = SyncVectorEnv(
        [lambda: MultiplicationEnv(curriculum=shared_curriculum)] * 2,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    for envs in (own, shared):
        _, infos = envs.reset(seed=0)
        for _ in range(2):
            answers = [f"The answer is {p.answer}." for p in infos["problem"]]
            _, _, _, _, infos = envs.step(answers)
    copies = own.get_attr("curriculum")
    assert copies[0] is not copies[1] and [c.groups for c in copies] == [2, 2]
    assert all(c.name == "2x1" for c in copies)
    assert all(c is shared_curriculum for c in shared.get_attr("curriculum"))
    assert shared_curriculum.groups == 4 and shared_curriculum.name == "2x1"
    assert [tuple(d) for d in infos["difficulty"]] == [(2, 1), (2, 1)]
    # make_vec (sync) passes one object to every copy: shared; a spec builds one per copy
    one = Curriculum(**spec)  # type: ignore[arg-type]
    assert all(c is one for c in gym.make_vec(ENV_ID, 2, curriculum=one).get_attr("curriculum"))
    separate = gym.make_vec(ENV_ID, 2, curriculum=spec).get_attr("curriculum")
    assert separate[0] is not separate[1]


def test_async_vector_env_workers_each_own_a_curriculum() -> None:
    envs = AsyncVectorEnv(
        [lambda: gym.make(ENV_ID, curriculum={"ladder": ["1x1", "2x1"], "window": 1})] * 2,
        shared_memory=False,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    try:
        _, infos = envs.reset(seed=0)
        envs.step([f"The answer is {p.answer}." for p in infos["problem"]])
        copies = envs.get_attr("curriculum")
        assert [c.groups for c in copies] == [1, 1] and [c.name for c in copies] == ["2x1"] * 2
    finally:
        envs.close()
