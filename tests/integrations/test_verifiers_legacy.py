"""The legacy verifiers API (verifiers 0.3.x): ``vf.load_environment("mult-env-v1", ...)``.

verifiers 0.3.1 ships both its v1 API (``tests/integrations/test_verifiers.py``) and the legacy
one, where an environment module exposes ``load_environment(**kwargs)`` returning a
``vf.Environment``. These tests run verifiers' own legacy loader and its ``Rubric`` scoring path
(``score_rollout``, what a rollout runs after sampling); they skip on verifiers 0.4, which has no
legacy API, where the last test checks the error a legacy call gets instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from typing import Any

import pytest

from mult_env import Problem, ProblemSet, Scorer

pytestmark = pytest.mark.integration


def _has_legacy() -> bool:
    try:
        return importlib.util.find_spec("verifiers.legacy") is not None
    except ImportError:
        return False


needs_legacy = pytest.mark.skipif(not _has_legacy(), reason="verifiers without the legacy API")


@pytest.fixture(scope="module")
def vf() -> Any:
    if not _has_legacy():
        pytest.skip("verifiers without the legacy API")
    import verifiers

    return verifiers


@pytest.fixture(scope="module")
def env(vf: Any) -> Any:
    # Exactly what a verifiers 0.3 user writes: the id, and keyword arguments.
    return vf.load_environment("mult-env-v1", difficulty="medium", num_train=6, num_test=4)


def state(vf: Any, row: dict[str, Any], completion: Any) -> Any:
    """A legacy rollout state after sampling: the dataset row's fields and the completion."""
    return vf.State(
        prompt=row["prompt"],
        completion=completion,
        answer=row["answer"],
        info=row["info"],
        trajectory=[{"completion": completion}],  # what verifiers' turn monitor counts
    )


def scored(env: Any, state: Any) -> Any:
    asyncio.run(env.rubric.score_rollout(state))
    return state


@needs_legacy
def test_legacy_load_by_id_gives_a_single_turn_env_with_disjoint_splits(vf: Any, env: Any) -> None:
    assert isinstance(env, vf.SingleTurnEnv)
    assert env.env_id == "mult-env-v1"
    train, test = env.get_dataset(), env.get_eval_dataset()
    assert (len(train), len(test)) == (6, 4)
    train_problems = [Problem(int(r["info"]["a"]), int(r["info"]["b"])) for r in train]
    test_problems = [Problem(int(r["info"]["a"]), int(r["info"]["b"])) for r in test]
    assert train_problems == ProblemSet("medium", 0, "train").take(6)
    assert test_problems == ProblemSet("medium", 42, "test").take(4)  # the log's eval seed
    assert [r["answer"] for r in test] == [str(p.answer) for p in test_problems]
    assert [m["role"] for m in test[0]["prompt"]] == ["user", "assistant"] * 3 + ["user"]


@needs_legacy
@pytest.mark.parametrize(
    "reply", ["The answer is {answer:,}.", "{answer}", "{near}", "The answer is maybe {answer}", ""]
)
def test_rubric_scores_equal_the_scorer(vf: Any, env: Any, reply: str) -> None:
    row = env.get_eval_dataset()[0]
    problem = Problem(int(row["info"]["a"]), int(row["info"]["b"]))
    text = reply.format(answer=problem.answer, near=problem.answer + 1)
    expected = Scorer().score(text, problem)
    completion = [vf.AssistantMessage(content=text)]
    result = scored(env, state(vf, row, completion))
    assert result["reward"] == pytest.approx(expected.total)
    assert result["metrics"] == {
        "correctness": expected.correctness,
        "format_penalty": expected.format_penalty,
        "correct": float(expected.correct),
        "num_turns": 1.0,  # verifiers' own monitor rubric, added to every multi-turn env
    }


@needs_legacy
def test_only_the_last_assistant_message_is_scored_and_none_is_empty(vf: Any, env: Any) -> None:
    row = env.get_eval_dataset()[1]
    answer = row["answer"]
    completion = [
        vf.AssistantMessage(content=f"The answer is {answer}."),
        vf.AssistantMessage(content=None),  # a later turn without content: the empty reply
    ]
    assert scored(env, state(vf, row, completion))["reward"] == pytest.approx(-0.1)
    parts = [{"type": "text", "text": f"The answer is {answer}."}]
    completion = [vf.AssistantMessage(content=parts)]
    assert scored(env, state(vf, row, completion))["reward"] == 1.0


@needs_legacy
def test_tampered_rows_and_bad_names_fail(vf: Any, env: Any) -> None:
    row = dict(env.get_eval_dataset()[0])
    (rubric,) = [r for r in getattr(env.rubric, "rubrics", [env.rubric]) if hasattr(r, "scorer")]
    reply = [{"role": "assistant", "content": f"The answer is {row['answer']}."}]
    row["answer"] = str(int(row["answer"]) + 1)
    with pytest.raises(ValueError, match="is not"):
        rubric.breakdown(reply, row["answer"], row["info"])
    with pytest.raises(TypeError, match="not bytes"):
        rubric.breakdown([{"role": "assistant", "content": b"6"}], "6", {"a": "2", "b": "3"})
    with pytest.raises(RuntimeError, match="unknown parser"):  # verifiers wraps the ValueError
        vf.load_environment("mult-env-v1", parser="nope", num_train=1, num_test=1)


def test_legacy_call_without_the_legacy_api_says_what_to_use() -> None:
    if _has_legacy():
        pytest.skip("this verifiers has the legacy API")
    code = (
        "import mult_env_v1\n"
        "try:\n"
        "    mult_env_v1.load_environment()\n"
        "except ImportError as e:\n"
        "    assert 'verifiers 0.3.x' in str(e) and 'resolve_env_config' in str(e), e\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@needs_legacy
def test_doc_example_runs_as_written(vf: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "verifiers.md"
    (block,) = re.findall(r"```py\n(.*?)```", page.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "docs.integrations.verifiers.legacy"}
    exec(compile(block, str(page), "exec"), namespace)
    assert namespace["state"]["reward"] == 1.0
    assert capsys.readouterr().out.startswith("1.0 {'correctness': 1.0, 'format_penalty': 0.0")
