"""trainers.train: the algorithm's pieces, and whole runs on the tiny model.

A whole run must write every output; an interrupted run resumed with
``behavior_if_log_dir_exists=resume`` must end with a complete, duplicate-free
``metrics.jsonl`` identical (in everything but timings) to an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see test_local_backend.py
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from trainers import train  # noqa: E402
from trainers.backend import PromptSpec, Sample  # noqa: E402
from trainers.config import parse_args  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "model_name": "tiny",
    "n_batches": 4,
    "batch_size": 3,
    "group_size": 3,
    "max_tokens": 5,
    "eval_n": 6,
    "eval_every": 2,
    "save_every": 2,
    "learning_rate": 0.01,
    "kl_penalty_coef": 0.05,
    "progress": "false",
}


def _args(**overrides: Any) -> list[str]:
    """``key=value`` arguments for a tiny run, with overrides."""
    return [f"{k}={v}" for k, v in {**TINY, **overrides}.items()]


OUTPUTS = (
    "config.json",
    "metrics.jsonl",
    "checkpoints.jsonl",
    "eval_base.json",
    "eval_final.json",
    "report.md",
    "curves.png",
    "reward_kl.png",
    "DONE",
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _deterministic(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]


# ---------------------------------------------------------------------------- algorithm
def test_advantages_are_centred_within_the_group() -> None:
    assert train.compute_advantages([1.0, 0.0, 0.0, 1.0]) == [0.5, -0.5, -0.5, 0.5]
    assert train.compute_advantages([0.3, 0.3, 0.3]) == [0.0, 0.0, 0.0]
    adv = train.compute_advantages([0.95, -0.1, 0.475, 1.0])
    assert sum(adv) == pytest.approx(0.0)


def test_kl_shaping_matches_the_cookbook_formula() -> None:
    # kl_t = sampler - base: [0.5, -0.5] and [1.0]; batch mean 1/3
    adv, mean_kl = train.kl_shaped_advantages(
        [1.0, -1.0], [[-1.0, -2.0], [-0.5]], [[-1.5, -1.5], [-1.5]], coef=0.1
    )
    assert mean_kl == pytest.approx(1 / 3)
    assert adv[0] == pytest.approx([1.0 + 0.1 * (1 / 3 - 0.5), 1.0 + 0.1 * (1 / 3 + 0.5)])
    assert adv[1] == pytest.approx([-1.0 + 0.1 * (1 / 3 - 1.0)])
    unchanged, _ = train.kl_shaped_advantages([1.0], [[-1.0, -2.0]], [[-3.0, 0.0]], coef=0.0)
    assert unchanged == [[1.0, 1.0]]


class ScriptedBackend:
    """A backend whose samples are fixed texts: checks what the loop does with them."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self.train_calls: list[list[list[float]]] = []
        self.base_calls = 0

    def sample(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> list[list[Sample]]:
        return [
            [
                Sample([1, 2, 3], [7, 8], [-0.5, -0.25], self.texts[j % len(self.texts)])
                for j in range(num_samples)
            ]
            for _ in prompts
        ]

    def base_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        self.base_calls += 1
        return [[-1.0, -1.0] for _ in samples]

    def train_step(
        self, samples: Sequence[Sample], advantages: Sequence[Sequence[float]]
    ) -> dict[str, float]:
        self.train_calls.append([list(a) for a in advantages])
        return {"optim/loss": 0.0}

    def save_state(self, name: str) -> str:
        return name

    def load_state(self, path: str) -> None:
        pass

    def save_final(self, name: str) -> str:
        return name


def test_update_is_skipped_when_every_advantage_is_zero() -> None:
    config = parse_args(["kl_penalty_coef=0.1", "batch_size=2"])
    backend = ScriptedBackend([" 1."])  # every sample identical: all-bad groups
    problems = [train.ProblemSet((2, 1), seed=0).take(2)][0]
    metrics = train.train_batch(backend, problems, config, train.make_scorer(config))
    assert metrics["optim/skipped"] == 1.0 and backend.train_calls == []
    assert metrics["env/all/by_group/frac_all_bad"] == 1.0


def test_advantages_reach_the_backend_per_token_with_kl_shaping() -> None:
    config = parse_args(["kl_penalty_coef=0.1", "batch_size=1", "group_size=2", "format_coef=0.1"])
    backend = ScriptedBackend([" 1.", "nonsense"])  # reward 0.0 (well-formed) and -0.1
    problems = train.ProblemSet((2, 1), seed=0).take(1)
    metrics = train.train_batch(backend, problems, config, train.make_scorer(config))
    assert metrics["optim/skipped"] == 0.0 and backend.base_calls == 1
    # kl_t = sampler - base = [0.5, 0.75] for both samples, batch mean 0.625
    [advs] = backend.train_calls
    assert advs[0] == pytest.approx([0.05 + 0.1 * 0.125, 0.05 - 0.1 * 0.125])
    assert advs[1] == pytest.approx([-0.05 + 0.1 * 0.125, -0.05 - 0.1 * 0.125])
    assert metrics["optim/kl_policy_base"] == pytest.approx(0.625)
    assert metrics["env/all/format"] == 0.5 and metrics["env/all/by_group/frac_mixed"] == 1.0


# ---------------------------------------------------------------------------- whole runs
def test_a_short_tiny_run_writes_every_output(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = train.run(parse_args(_args(log_path=run_dir)))
    assert summary["run_dir"] == str(run_dir)
    for name in OUTPUTS:
        assert (run_dir / name).stat().st_size > 0, name
    rows = _jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    for key in (
        "env/all/reward/total",
        "env/all/correct",
        "env/all/format",
        "env/all/by_group/frac_mixed",
        "env/all/by_group/frac_all_good",
        "env/all/by_group/frac_all_bad",
        "env/all/ac_tokens_per_turn",
        "optim/entropy",
        "optim/kl_policy_base",
        "time/sample",
        "time/score",
        "time/train",
        "time/total",
    ):
        assert all(key in r for r in rows), key
    assert "test/env/all/correct" in rows[1] and "test/env/all/correct" not in rows[0]
    ckpts = _jsonl(run_dir / "checkpoints.jsonl")
    assert [c["batch"] for c in ckpts if "state_path" in c] == [2, 4]
    assert all(Path(c["state_path"]).exists() for c in ckpts if "state_path" in c)
    assert [c["name"] for c in ckpts if "final_path" in c] == ["final"]
    base = json.loads((run_dir / "eval_base.json").read_text())
    final = json.loads((run_dir / "eval_final.json").read_text())
    assert base["n"] == final["n"] == 6
    assert [e["problem"] for e in base["examples"]] == [e["problem"] for e in final["examples"]]
    report = (run_dir / "report.md").read_text()
    for heading in ("## Training Config", "## Training Metrics", "## Held-Out Evaluation"):
        assert heading in report
    assert "| Batches 0-3 |" in report and "**Peak accuracy:**" in report
    assert "| Base model |" in report and "| **Improvement** |" in report
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_an_existing_run_directory_is_never_overwritten_unless_asked(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = {"n_batches": 1, "eval_every": 0, "log_path": run_dir}
    train.run(parse_args(_args(**args)))
    before = (run_dir / "metrics.jsonl").read_text()
    with pytest.raises(train.RunDirError, match="already exists"):
        train.run(parse_args(_args(**args)))
    assert (run_dir / "metrics.jsonl").read_text() == before
    (run_dir / "marker").write_text("x")
    train.run(parse_args(_args(**args, behavior_if_log_dir_exists="delete")))
    assert not (run_dir / "marker").exists() and (run_dir / "DONE").exists()
    with pytest.raises(train.RunDirError, match="different config"):
        train.run(parse_args(_args(**args, seed=5, behavior_if_log_dir_exists="resume")))


def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {"n_batches": 5, "eval_every": 0}
    reference = tmp_path / "reference"
    train.run(parse_args(_args(**args, log_path=reference)))

    run_dir = tmp_path / "run"
    from trainers import local_backend

    real_create = local_backend.create

    def create_failing_at_batch_3(config: Any) -> Any:
        backend = real_create(config)
        real_step, calls = backend.train_step, []

        def step(*a: Any, **k: Any) -> dict[str, float]:
            calls.append(1)
            if len(calls) == 4:  # batch 3, after the checkpoint at 2 and batch 2's line
                raise KeyboardInterrupt
            return real_step(*a, **k)

        backend.train_step = step
        return backend

    monkeypatch.setattr(local_backend, "create", create_failing_at_batch_3)
    with pytest.raises(KeyboardInterrupt):
        train.run(parse_args(_args(**args, log_path=run_dir)))
    assert [r["step"] for r in _jsonl(run_dir / "metrics.jsonl")] == [0, 1, 2]
    assert not (run_dir / "DONE").exists()

    monkeypatch.setattr(local_backend, "create", real_create)
    train.run(parse_args(_args(**args, log_path=run_dir, behavior_if_log_dir_exists="resume")))
    rows = _jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]  # batch 2 redone once, not twice
    assert _deterministic(rows) == _deterministic(_jsonl(reference / "metrics.jsonl"))
    for name in ("eval_base.json", "eval_final.json"):
        got = json.loads((run_dir / name).read_text())
        want = json.loads((reference / name).read_text())
        assert got["examples"] == want["examples"] and got["accuracy"] == want["accuracy"]


@pytest.mark.slow
def test_resume_after_killing_the_process(tmp_path: Path) -> None:
    """SIGKILL a real ``python -m trainers.train`` mid-run, then resume it."""
    run_dir = tmp_path / "run"
    args = _args(n_batches=30, eval_every=0, save_every=3, log_path=run_dir)
    cmd = [sys.executable, "-m", "trainers.train", *args]
    metrics = run_dir / "metrics.jsonl"
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        deadline = time.time() + 120
        while time.time() < deadline:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 7:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    killed_at = len(metrics.read_text().splitlines())
    assert 7 <= killed_at < 30, "the run was not killed mid-way"
    assert not (run_dir / "DONE").exists()

    done = subprocess.run(
        [*cmd, "behavior_if_log_dir_exists=resume"],  # not in TINY, so not given twice
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    steps = [r["step"] for r in _jsonl(metrics)]
    assert steps == list(range(30))
    assert (run_dir / "DONE").exists() and (run_dir / "report.md").exists()


def test_time_limit_stops_training_early_but_finishes_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = train.run(
        parse_args(_args(n_batches=50, eval_every=0, time_limit_min=1e-4, log_path=run_dir))
    )
    rows = _jsonl(run_dir / "metrics.jsonl")
    assert len(rows) == 1 and summary["batches_trained"] == 1  # the first batch always runs
    assert "time limit" in summary["stopped_early"]
    assert [c["batch"] for c in _jsonl(run_dir / "checkpoints.jsonl") if "state_path" in c] == [1]
    assert (run_dir / "eval_final.json").exists() and (run_dir / "DONE").exists()
    assert "Stopped early" in (run_dir / "report.md").read_text()


def test_runs_are_named_like_the_log_and_resume_finds_the_unfinished_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from trainers import local_backend

    real_create = local_backend.create

    def create_failing_at_batch_1(config: Any) -> Any:
        backend = real_create(config)
        real_step, calls = backend.train_step, []

        def step(*a: Any, **k: Any) -> dict[str, float]:
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real_step(*a, **k)

        backend.train_step = step
        return backend

    monkeypatch.setattr(local_backend, "create", create_failing_at_batch_1)
    args = {"n_batches": 3, "eval_every": 0, "save_every": 1}
    with pytest.raises(KeyboardInterrupt):
        train.run(parse_args(_args(**args)))
    [run_dir] = (tmp_path / "runs").iterdir()
    assert re.fullmatch(r"multiply-2x1-tiny-lr0\.01-bs3-\d{8}-\d{4}", run_dir.name)

    monkeypatch.setattr(local_backend, "create", real_create)
    summary = train.run(parse_args(_args(**args, behavior_if_log_dir_exists="resume")))
    assert Path(summary["run_dir"]).resolve() == run_dir.resolve()
    assert [r["step"] for r in _jsonl(run_dir / "metrics.jsonl")] == [0, 1, 2]
