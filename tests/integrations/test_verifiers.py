"""mult_env's verifiers v1 environment, exercised through verifiers' own code (0.4.0 and 0.3.1).

No part of verifiers is mocked: the environment is loaded by id with ``vf.load_environment``,
replies are committed to real ``vf.Trace`` message graphs with verifiers' turn machinery and
scored by ``Task.score`` (what a rollout and ``vf-replay`` run), and ``vf-validate`` runs its
model-free gold and no-op checks on the installed ``mult-env-v1`` package in a subprocess.

Importing verifiers takes several seconds, so everything that does is marked ``integration``;
the unmarked tests only check what must hold without verifiers.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mult_env import Problem, ProblemSet, Scorer

needs_verifiers = pytest.mark.integration


def _verifiers_version() -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in importlib.metadata.version("verifiers").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return ()


VERIFIERS_04 = _verifiers_version() >= (0, 4)
"""verifiers 0.4 added durable task ids, ``Taskset.bounded``/``take`` and vf-validate's no-op
check; the rest of the v1 API these tests use is the same in 0.3.1."""


def test_importing_the_adapter_does_not_import_verifiers() -> None:
    code = (
        "import sys, mult_env.integrations.verifiers as m\n"
        "assert m.TASKSET_ID == 'mult-env-v1'\n"
        "assert not any(k == 'verifiers' or k.startswith('verifiers.') for k in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_missing_verifiers_is_an_import_error_naming_the_extra() -> None:
    # `sys.modules[name] = None` makes `import verifiers` fail, as on a machine without it
    # (or with a 0.1-era verifiers that has no `verifiers.v1`).
    code = (
        "import sys\n"
        "sys.modules['verifiers'] = None\n"
        "import mult_env.integrations.verifiers as m\n"
        "for use in (m.load_environment, lambda: m.MultiplicationTaskset):\n"
        "    try:\n"
        "        use()\n"
        "    except ImportError as e:\n"
        "        assert \"pip install 'verifiers>=0.3.1,<0.5'\" in str(e), e\n"
        "        assert 'mult-env[verifiers]' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unknown_attribute_is_an_attribute_error() -> None:
    import mult_env.integrations.verifiers as adapter

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        adapter.nope  # noqa: B018


# --- everything below runs verifiers ------------------------------------------------------


@pytest.fixture(scope="module")
def vf() -> Any:
    return pytest.importorskip("verifiers.v1")


def make_trace(vf: Any, task: Any, reply: str | None, reasoning: str | None = None) -> Any:
    """A trace holding the task's prompt and one sampled reply, built as a rollout builds it."""
    from verifiers.v1.graph import prepare_turn

    trace = vf.Trace(
        task=vf.TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
        agent=vf.AgentInfo(config=vf.AgentConfig()),
    )
    if reply is not None:
        response = vf.Response(
            id="resp-0",
            created=0,
            model="policy",
            message=vf.AssistantMessage(content=reply, reasoning_content=reasoning),
            finish_reason="stop",
        )
        prepare_turn(trace, list(task.data.prompt)).commit(response)
    return trace


def score(task: Any, trace: Any) -> Any:
    asyncio.run(task.score(trace))
    return trace


@pytest.fixture(scope="module")
def test_env(vf: Any) -> Any:
    from mult_env.integrations.verifiers import load_environment

    return load_environment(split="test", seed=42, num_tasks=5)


@needs_verifiers
def test_load_environment_by_id_like_verifiers_does(vf: Any) -> None:
    import mult_env_v1
    from mult_env.integrations.verifiers import MultiplicationHarness, MultiplicationTaskset

    config = vf.resolve_env_config(
        {"taskset": {"id": "mult-env-v1", "split": "test", "seed": 42, "num_tasks": 4}}
    )
    env = vf.load_environment(config)
    assert isinstance(env, vf.SingleAgentEnv)
    assert isinstance(env.taskset, MultiplicationTaskset)
    assert vf.environment_class("mult-env-v1") is vf.SingleAgentEnv
    assert mult_env_v1.__all__ == [
        "MultiplicationHarness",
        "MultiplicationTaskset",
        "load_environment",  # verifiers 0.3's legacy loader; the v1 loader takes the classes
    ]
    # the default agent gets the tool-less chat harness, not a shell that can compute a*b
    assert vf.default_harness_id("mult-env-v1") == "mult-env-v1"
    (harness_config,) = env.config.agent_harnesses().values()
    harness = vf.load_harness(harness_config)
    assert isinstance(harness, MultiplicationHarness)
    assert harness.EXECUTES_CODE is False
    tasks = list(env.taskset)
    assert [t.data.problem for t in tasks] == ProblemSet("medium", 42, "test").take(4)
    assert [t.data.idx for t in tasks] == [0, 1, 2, 3]


@needs_verifiers
def test_train_and_eval_environments_use_disjoint_splits(vf: Any) -> None:
    from mult_env.integrations.verifiers import load_environment

    train = load_environment(difficulty="easy", num_tasks=300)
    held_out = load_environment(difficulty="easy", split="test", num_tasks=300)
    train_problems = {t.data.problem for t in train.taskset}
    test_problems = {t.data.problem for t in held_out.taskset}
    assert test_problems and train_problems
    assert not train_problems & test_problems
    test_split = ProblemSet("easy", split="test")
    assert all(test_split.contains(p) for p in test_problems)
    assert not any(test_split.contains(p) for p in train_problems)


@needs_verifiers
def test_default_taskset_is_an_unbounded_stream(vf: Any) -> None:
    from mult_env.integrations.verifiers import load_environment

    taskset = load_environment().taskset
    assert taskset.INFINITE
    if VERIFIERS_04:
        assert not taskset.bounded
        assert len(list(taskset.take(3))) == 3
    else:
        assert len(list(taskset.head(3))) == 3
    with pytest.raises(ValueError, match="infinite"):
        taskset.shuffle()


@needs_verifiers
def test_task_data_is_the_problem_and_its_prompt(test_env: Any) -> None:
    task = next(iter(test_env.taskset))
    data = task.data
    assert int(data.a) * int(data.b) == int(data.answer)
    assert data.idx == 0
    if VERIFIERS_04:  # 0.3.1's TaskData has no durable id field
        assert data.id == "mult_env/3x3/test/42/0"
    assert (data.difficulty, data.split, data.seed, data.index) == ("3x3", "test", 42, 0)
    roles = [m.role for m in data.prompt]
    assert roles == ["user", "assistant"] * 3 + ["user"]
    assert f"What is {data.a} * {data.b}?" in data.prompt[-1].content
    # the trace record is JSON and round-trips to the same, validated task data
    record = json.loads(data.model_dump_json())
    assert type(data).model_validate(record) == data


@needs_verifiers
@pytest.mark.parametrize(
    "reply",
    [
        "The answer is {answer}.",
        "{answer}",
        "{comma}",
        "The answer is {near}.",
        "12*15=180 so {answer}",
        "-{answer}",
        "{answer}0",
        "",
    ],
)
def test_score_rollout_through_verifiers_equals_scorer(vf: Any, test_env: Any, reply: str) -> None:
    task = next(iter(test_env.taskset))
    answer = int(task.data.answer)
    text = reply.format(answer=answer, comma=f"{answer:,}", near=answer + 1)
    trace = score(task, make_trace(vf, task, text))
    expected = Scorer("answer", "shaped", 0.1).score(text, task.data.problem)
    assert set(trace.rewards) == {"correctness", "format_penalty"}
    assert trace.rewards["correctness"].score == pytest.approx(expected.correctness)
    assert trace.rewards["format_penalty"].score == pytest.approx(expected.format_penalty)
    assert trace.reward == pytest.approx(expected.total)
    assert trace.metrics == {
        "correct": float(expected.correct),
        "format_ok": float(expected.format_ok),
        "digits_matched": float(expected.digits_matched),
        "num_digits": float(expected.num_digits),
    }


@needs_verifiers
def test_only_the_sampled_reply_is_scored(vf: Any, test_env: Any) -> None:
    task = next(iter(test_env.taskset))
    # The prompt's few-shot turns end with "The answer is 248171."; without a reply the task
    # must not score them: an untouched rollout earns only the format penalty.
    untouched = score(task, make_trace(vf, task, None))
    assert untouched.reward == pytest.approx(-0.1)
    # Reasoning travels apart from the content, and only the content is the answer.
    reasoned = make_trace(vf, task, f"The answer is {task.data.answer}.", reasoning="7*5=35...")
    assert score(task, reasoned).reward == 1.0


@needs_verifiers
def test_binary_reward_and_format_coef_are_configurable(vf: Any) -> None:
    from mult_env.integrations.verifiers import load_environment

    env = load_environment(difficulty="medium", reward="binary", format_coef=0.25, num_tasks=1)
    task = next(iter(env.taskset))
    near = str(int(task.data.answer) + 1)
    assert score(task, make_trace(vf, task, near)).reward == 0.0
    assert score(task, make_trace(vf, task, "I think " + near)).reward == -0.25


@needs_verifiers
def test_rescoring_a_saved_trace_like_vf_replay(vf: Any, test_env: Any) -> None:
    from mult_env.integrations.verifiers import MultiplicationData, MultiplicationTask

    task = next(iter(test_env.taskset))
    trace = score(task, make_trace(vf, task, f"The answer is {task.data.answer}."))
    saved = json.loads(json.dumps(trace.to_record()))
    loaded = vf.Trace[MultiplicationData, vf.State, vf.AgentConfig].model_validate(saved)
    loaded.rewards, loaded.metrics = {}, {}
    rescorer = MultiplicationTask(MultiplicationData.model_validate(saved["task"]["data"]))
    asyncio.run(rescorer.score(loaded))
    assert loaded.reward == trace.reward == 1.0


@needs_verifiers
def test_validate_is_the_gold_check(test_env: Any) -> None:
    from mult_env.integrations.verifiers import MultiplicationTask, MultiplicationTaskConfig

    task = next(iter(test_env.taskset))
    assert asyncio.run(task.validate()) is True
    boxed = MultiplicationTask(task.data, MultiplicationTaskConfig(parser="boxed"))
    assert asyncio.run(boxed.validate()) is False


@needs_verifiers
def test_bad_configs_and_tampered_data_are_rejected(vf: Any) -> None:
    from pydantic import ValidationError

    from mult_env.integrations.verifiers import (
        MultiplicationData,
        MultiplicationTaskConfig,
        load_environment,
    )

    with pytest.raises(ValidationError, match="unknown parser"):
        MultiplicationTaskConfig(parser="nope")
    with pytest.raises(ValidationError):
        load_environment(difficulty="galactic")
    with pytest.raises(ValidationError, match="format_coef"):
        load_environment(format_coef=3.0)
    fields = dict(difficulty="3x3", split="test", seed=0, index=0, a="847", b="293")
    assert MultiplicationData(answer="248171", **fields).problem == Problem(847, 293)
    with pytest.raises(ValidationError, match="is not 847 \\* 293"):
        MultiplicationData(answer="248172", **fields)
    with pytest.raises(ValidationError, match="canonical"):
        MultiplicationData(answer="0248171", **fields)


def run_vf_validate(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / "validate"
    command = [
        sys.executable,
        "-W",
        "error",
        "-m",
        "verifiers.v1.cli.validate",
        "mult-env-v1",
        "-n",
        "3",
        "--runtime.type",
        "subprocess",
        "--rich",
        "false",
        "--output-dir",
        str(out),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (results,) = out.glob("*/results.jsonl")
    return [json.loads(line) for line in results.read_text().splitlines()]


@needs_verifiers
def test_vf_validate_cli_passes_gold_and_noop_checks(vf: Any, tmp_path: Path) -> None:
    rows = run_vf_validate(tmp_path)
    assert len(rows) == 3
    for row in rows:
        assert row["reason"] == "valid", row
        assert row["gold"]["valid"] is True
        if VERIFIERS_04:  # 0.3.1's vf-validate has no no-op check
            assert row["noop"]["reward"] == pytest.approx(-0.1)


@needs_verifiers
def test_vf_validate_cli_catches_a_parser_the_prompt_cannot_satisfy(
    vf: Any, tmp_path: Path
) -> None:
    rows = run_vf_validate(tmp_path, "--only-gold", "--taskset.task.parser", "boxed")
    assert [row["reason"] for row in rows] == ["invalid"] * 3


@needs_verifiers
def test_doc_examples_run_as_written(vf: Any, capsys: pytest.CaptureFixture[str]) -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "verifiers.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {"__name__": "docs.integrations.verifiers"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    assert namespace["trace"].reward == 1.0
    assert capsys.readouterr().out.startswith("765 * 595 = 455175\n1.0 {'correct': 1.0")
