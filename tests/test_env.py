from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

import mult_env
from mult_env.env import ENV_ID, AnyText, MultiplicationEnv


@pytest.mark.parametrize("env_id", [i for i in gym.registry if i.startswith("mult_env/")])
def test_check_env_passes_for_every_registered_id(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(env_id).unwrapped)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"difficulty": "tiny", "few_shot": False},
        {"difficulty": (20, 20), "system_prompt": "Réponds en chiffres ✓"},
        {"parser": "boxed", "reward": "binary", "split": "test"},
        {"assistant_prefix": "The answer is", "render_mode": "ansi"},
    ],
)
def test_check_env_passes_for_configurations(kwargs: dict[str, object]) -> None:
    check_env(gym.make(ENV_ID, **kwargs).unwrapped)


def test_registered_on_import() -> None:
    assert ENV_ID in gym.registry
    assert gym.registry[ENV_ID].entry_point == "mult_env.env:MultiplicationEnv"
    assert gym.registry[ENV_ID].max_episode_steps is None  # TimeLimit would mark truncated


def test_reset_and_step_contract() -> None:
    env = gym.make(ENV_ID, difficulty="medium")
    obs, info = env.reset(seed=123)
    assert env.observation_space.contains(obs)
    problem = info["problem"]
    assert (problem.a, problem.b, problem.answer) == (problem.a, problem.b, problem.a * problem.b)
    assert info["messages"][-1]["role"] == "user"
    assert str(problem) in info["messages"][-1]["content"]
    obs2, reward, terminated, truncated, step_info = env.step(f"The answer is {problem.answer:,}.")
    assert obs2 == obs
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert type(reward) is float and truncated is False
    assert step_info["correct"] is True and step_info["format_ok"] is True
    assert step_info["parsed"] == str(problem.answer)
    assert step_info["problem"] == problem


def test_reward_components_for_a_wrong_answer() -> None:
    env = MultiplicationEnv(difficulty="medium")
    env.reset(options={"problem": (847, 293)})
    _, reward, *_, info = env.step("248100")
    assert info["digits_matched"] == 4 and info["num_digits"] == 6
    assert reward == pytest.approx(0.95 * 4 / 6)
    env.reset(options={"problem": (847, 293)})
    _, reward, *_, info = env.step("I think 248171")
    assert (reward, info["format_ok"], info["parsed"]) == (-0.1, False, None)


def test_reset_is_deterministic_and_options_select_problems() -> None:
    env = MultiplicationEnv()
    assert env.reset(seed=5)[0] == env.reset(seed=5)[0]
    _, info = env.reset(options={"index": 3})
    assert info["problem"] == env.problems[3] and info["index"] == 3
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"idx": 3})


def test_step_needs_a_fresh_episode_and_a_string() -> None:
    env = MultiplicationEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step("1")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="str"):
        env.step(248171)  # type: ignore[arg-type]
    env.step("1")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("1")


def test_score_group_matches_step() -> None:
    env = MultiplicationEnv(difficulty="easy")
    completions = ["The answer is 10.", "12", "-5", "x"]
    env.reset(seed=1)
    group = env.score_group(completions)
    for completion, breakdown in zip(completions, group, strict=True):
        env.reset(seed=1)
        assert env.step(completion)[1] == breakdown.total


def test_render_ansi_shows_prompt_and_completion() -> None:
    env = MultiplicationEnv(render_mode="ansi", few_shot=False)
    obs, _ = env.reset(seed=0)
    env.step(" 42")
    assert env.render() == obs + " 42"


def test_any_text_space() -> None:
    space = AnyText(seed=0)
    samples = [space.sample() for _ in range(200)]
    assert all(space.contains(s) for s in samples)
    assert any(ch.isdigit() and not ch.isascii() for s in samples for ch in s)
    assert not space.contains(b"123") and space.contains("")


def _run_vector(vec: gym.vector.VectorEnv, completions: list[str]) -> tuple:
    obs, _ = vec.reset(seed=[10, 11, 12, 13])
    out = vec.step(completions)
    result = (list(obs), out[1].tolist(), out[2].tolist(), out[3].tolist(), list(out[0]))
    vec.close()
    return result


def test_async_vector_env_equals_sync() -> None:
    completions = ["The answer is 1.", "x", "-3", "The answer is 99,999."]
    kwargs = {"difficulty": "easy"}
    sync = SyncVectorEnv(
        [lambda: gym.make(ENV_ID, **kwargs)] * 4, autoreset_mode=AutoresetMode.SAME_STEP
    )
    asyn = AsyncVectorEnv(
        [lambda: gym.make(ENV_ID, **kwargs)] * 4,
        shared_memory=False,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    assert _run_vector(sync, completions) == _run_vector(asyn, completions)


def test_vector_infos_batch_without_errors() -> None:
    vec = SyncVectorEnv(
        [lambda: gym.make(ENV_ID, difficulty=(20, 20))] * 3,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    _, infos = vec.reset(seed=0)
    answers = [p.answer for p in infos["problem"]]
    _, rewards, terminated, truncated, infos = vec.step(
        [f"The answer is {answers[0]}.", "nonsense", str(answers[2] + 1)]
    )
    assert terminated.all() and not truncated.any()
    assert rewards.dtype == np.float64 and rewards[0] == 1.0 and rewards[1] == -0.1
    # SAME_STEP autoreset: the step's infos move to final_info, the reset's are on top.
    final = infos["final_info"]
    assert final["correctness"].dtype == np.float64 and final["total"].tolist() == list(rewards)
    assert final["parsed"][1] is None and final["parsed"][0] == str(answers[0])
    assert [p.answer for p in final["problem"]] == answers
    assert all(isinstance(o, str) for o in infos["final_obs"])
    assert all(isinstance(p, mult_env.Problem) for p in infos["problem"])
    vec.close()


def test_package_exports_env() -> None:
    assert mult_env.MultiplicationEnv is MultiplicationEnv
