"""trainers.train with ``curriculum=``: batches from the controller, per-rung metrics and
evaluations, the report's curriculum section, and resume restoring the controller exactly.

The controller only moves when a policy gets answers right, which the tiny random model never
does; so the wiring runs against an *oracle* backend that answers correctly exactly the problems
with at most ``skill`` operand digits in all (scored by the real scorer), and the real local
backend runs the same path on the tiny model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from trainers import train
from trainers.backend import PromptSpec, Sample
from trainers.config import ConfigError, parse_args

QUESTION = re.compile(r"What is (\d+) \* (\d+)\?")

ORACLE = [
    "model_name=oracle",
    "batch_size=2",
    "group_size=2",
    "n_batches=6",
    "eval_n=4",
    "save_every=2",
    "progress=false",
    "time_limit_min=0",
    "curriculum=1x1,2x1,2x2,window=2",
]


class OracleBackend:
    """Answers ``a * b`` correctly when ``a`` and ``b`` have at most ``skill`` digits in all."""

    def __init__(self, skill: int = 3, fail_at_batch: int = -1) -> None:
        self.skill = skill
        self.fail_at = fail_at_batch
        self.batches = 0
        self.loaded: list[str] = []

    def sample(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> list[list[Sample]]:
        if temperature > 0:  # a training batch (evaluations are greedy)
            if self.batches == self.fail_at:
                raise KeyboardInterrupt
            self.batches += 1
        out = []
        for prompt in prompts:
            match = QUESTION.search(prompt.messages[-1]["content"])
            assert match is not None
            a, b = match.groups()
            reply = int(a) * int(b) + (0 if len(a) + len(b) <= self.skill else 1)
            out.append([Sample([1], [2], [-0.5], f" {reply}.") for _ in range(num_samples)])
        return out

    def base_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        return [[-0.5] for _ in samples]

    def train_step(
        self, samples: Sequence[Sample], advantages: Sequence[Sequence[float]]
    ) -> dict[str, float]:
        return {"optim/loss": 0.0}

    def save_state(self, name: str) -> str:
        return name

    def load_state(self, path: str) -> None:
        self.loaded.append(path)

    def save_final(self, name: str) -> str:
        return name


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _course(run_dir: Path) -> list[str]:
    return [r["curriculum/difficulty"] for r in _jsonl(run_dir / "metrics.jsonl")]


def test_batches_follow_the_curriculum_and_every_rung_reached_is_evaluated(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    backend = OracleBackend(skill=3)
    summary = train.run(parse_args([*ORACLE, f"log_path={run_dir}"]), backend=backend)
    # window = 2 groups = one batch. 1x1 and 2x1 are solved: up, up. 2x2 is all wrong: below
    # the floor, so back down. Going up again is a reversal: it waits twice the window.
    assert _course(run_dir) == ["1x1", "2x1", "2x2", "2x1", "2x1", "2x2"]
    rows = _jsonl(run_dir / "metrics.jsonl")
    assert [r["curriculum/move"] for r in rows] == [1.0, 1.0, -1.0, 0.0, 1.0, 0.0]
    assert rows[0]["env/1x1/correct"] == 1.0 and rows[2]["env/2x2/correct"] == 0.0
    assert rows[2]["env/2x2/groups"] == 2.0 and "env/1x1/correct" not in rows[2]
    state = summary["curriculum"]
    assert [(m["from"], m["to"]) for m in state["moves"]] == [
        ("1x1", "2x1"),
        ("2x1", "2x2"),
        ("2x2", "2x1"),
        ("2x1", "2x2"),
    ]
    rungs = json.loads((run_dir / "eval_rungs.json").read_text())
    assert list(rungs) == ["1x1", "2x1", "2x2"]
    assert [rungs[r]["final"]["accuracy"] for r in rungs] == [1.0, 1.0, 0.0]
    assert [rungs[r]["base"]["accuracy"] for r in rungs] == [1.0, 1.0, 0.0]
    assert rungs["2x1"]["final"]["n"] == 4
    # the base model is the batch-0 checkpoint; the last checkpoint is loaded back after
    assert backend.loaded == ["000000", "000006"]
    ckpts = [c for c in _jsonl(run_dir / "checkpoints.jsonl") if "state_path" in c]
    assert [c["batch"] for c in ckpts] == [0, 2, 4, 6]
    assert all("curriculum" in c for c in ckpts)
    report = (run_dir / "report.md").read_text()
    assert "## Curriculum" in report and "| 2x2 | 2x1 | 0.0% |" in report
    assert "| 2x1 | 3 | 100.0% | 100.0% | 100.0% | +0.0% |" in report
    assert (run_dir / "curriculum.png").read_bytes()[:4] == b"\x89PNG"
    from mult_env.rollouts import read_rollouts

    batches = read_rollouts(run_dir).batches  # each rollout names its rung
    assert [batches[b][0].difficulty for b in sorted(batches)] == _course(run_dir)


def test_resume_restores_the_curriculum_exactly(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    train.run(parse_args([*ORACLE, f"log_path={reference}"]), backend=OracleBackend())
    run_dir = tmp_path / "run"
    args = [*ORACLE, f"log_path={run_dir}"]
    with pytest.raises(KeyboardInterrupt):  # batch 3, after the checkpoint at 2
        train.run(parse_args(args), backend=OracleBackend(fail_at_batch=3))
    assert _course(run_dir) == ["1x1", "2x1", "2x2"]
    summary = train.run(
        parse_args([*args, "behavior_if_log_dir_exists=resume"]), backend=OracleBackend()
    )
    assert _course(run_dir) == _course(reference)
    want = json.loads((reference / "summary.json").read_text())["curriculum"]
    assert summary["curriculum"] == want


def test_bad_curricula_fail_before_any_work_and_runs_are_named_for_them() -> None:
    for bad in ("7x0", "1x1,1x1", "viability,speed=2"):
        with pytest.raises(ConfigError, match="bad curriculum"):
            parse_args([f"curriculum={bad}"])
    config = parse_args(["curriculum=viability", "difficulty=2x2"])
    assert config.run_name_stem().startswith("multiply-curriculum-2x2-")
    assert config.make_curriculum().ladder[0] == (1, 1)
    assert parse_args([]).make_curriculum() is None  # off by default


@pytest.fixture
def one_thread() -> Iterator[None]:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_tiny_model_run_with_a_curriculum_writes_its_outputs(
    tmp_path: Path, one_thread: None, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("peft")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    run_dir = tmp_path / "run"
    args = [
        "model_name=tiny",
        "n_batches=2",
        "batch_size=2",
        "group_size=2",
        "max_tokens=4",
        "eval_n=3",
        "progress=false",
        "curriculum=1x1,2x1",
        f"log_path={run_dir}",
    ]
    assert train.main(args) == 0
    assert "curriculum: 0 moves; rungs reached 1x1" in capsys.readouterr().out
    rungs = json.loads((run_dir / "eval_rungs.json").read_text())
    assert list(rungs) == ["1x1"] and {"base", "final"} <= set(rungs["1x1"])
    assert _course(run_dir) == ["1x1", "1x1"]
    assert "## Curriculum" in (run_dir / "report.md").read_text()


def test_a_pipelined_tinker_run_follows_the_curriculum(world: Any, tmp_path: Path) -> None:
    """With ``pipeline=true`` the next batch is drawn when its sampling is submitted, after this
    batch's groups were recorded: the same draw the next iteration makes."""
    pytest.importorskip("tinker")
    run_dir = tmp_path / "run"
    args = [
        "backend=tinker",
        "model_name=Qwen/Qwen3-4B-Instruct-2507",
        "n_batches=4",
        "batch_size=3",
        "group_size=2",
        "max_tokens=6",
        "eval_n=3",
        "progress=false",
        "pipeline=true",
        "curriculum=1x1,2x1,window=3,mix=0.5",
        f"log_path={run_dir}",
    ]
    calls: list[list[tuple[int, int]]] = []
    real = train.curriculum_batch

    def spy(curriculum: Any, batch: int, config: Any) -> Any:
        problems, rungs = real(curriculum, batch, config)
        calls.append(rungs)
        return problems, rungs

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "curriculum_batch", spy)
        train.run(parse_args(args))
    rows = _jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    for r in rows:
        assert sum(v for k, v in r.items() if k.endswith("/groups")) == 3
    # batches 1-3 were each drawn twice (prefetch, then the loop): identically
    assert calls[1] == calls[2] and calls[3] == calls[4] and calls[5] == calls[6]
