"""trainers.train keeps its rollouts: short tiny-model runs, re-scored with mult_env.rollouts.

Re-scoring a run under its own rule must reproduce ``metrics.jsonl`` and the held-out
evaluations exactly; an interrupted, resumed or killed run's rollouts must hold each batch of
its ``metrics.jsonl`` once and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see test_local_backend.py
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from mult_env import Problem, Scorer  # noqa: E402
from mult_env.rollouts import LOG_KEYS, RolloutWriter, read_rollouts, rescore  # noqa: E402
from trainers import train  # noqa: E402
from trainers.config import parse_args  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# As tests/trainers/test_train_loop.py's tiny runs, with a little longer completions so the
# random model writes digits now and then (what a lenient parser would read).
TINY = {
    "model_name": "tiny",
    "n_batches": 4,
    "batch_size": 3,
    "group_size": 3,
    "max_tokens": 6,
    "eval_n": 6,
    "eval_every": 2,
    "save_every": 2,
    "learning_rate": 0.01,
    "kl_penalty_coef": 0.05,
    "progress": "false",
}


def _args(**overrides: Any) -> list[str]:
    return [f"{k}={v}" for k, v in {**TINY, **overrides}.items()]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = torch.get_num_threads()
    run_dir = tmp_path_factory.mktemp("rollouts") / "run"
    train.run(parse_args(_args(log_path=run_dir)))
    torch.set_num_threads(before)
    return run_dir


def _assert_rollouts_match_metrics(run_dir: Path) -> None:
    """Each batch of metrics.jsonl has its rollouts, once; re-scored, they give its numbers."""
    rows = _jsonl(run_dir / "metrics.jsonl")
    run = read_rollouts(run_dir)
    assert list(run.batches) == [r["step"] for r in rows]
    result = rescore(run)
    assert result.log_check["exact"], result.log_check["verdict"]
    for row, batch in zip(rows, result.batches, strict=True):
        assert batch["n"] == TINY["batch_size"] * TINY["group_size"]
        for key, log_key in LOG_KEYS.items():
            assert batch["new"][key] == row[log_key], (row["step"], key)  # exactly
    assert result.counts["verdict_changed"] == result.counts["reward_changed"] == 0


def test_a_run_keeps_every_rollout_and_rescoring_reproduces_its_log(tiny_run: Path) -> None:
    _assert_rollouts_match_metrics(tiny_run)
    run = read_rollouts(tiny_run)
    assert run.meta["parser"] == "answer" and run.meta["reward"] == "shaped"
    assert run.meta["assistant_prefix"] == "The answer is"
    assert list(run.evals) == ["base", "after batch 1", "final"]
    rows = _jsonl(tiny_run / "metrics.jsonl")
    result = rescore(run)
    for ev in result.evals:
        assert ev["n"] == TINY["eval_n"] and ev["new"] == ev["run"]
    by_name = {ev["name"]: ev["new"] for ev in result.evals}
    for name in ("base", "final"):
        logged = json.loads((tiny_run / f"eval_{name}.json").read_text())
        for key in ("accuracy", "format_rate", "reward_mean"):
            assert by_name[name][key] == logged[key]
    assert by_name["after batch 1"]["accuracy"] == rows[1]["test/env/all/correct"]
    # what else a line holds: the problem by index, tokens and the sampler's log-prob
    first = run.batches[1][0]
    assert (first.split, first.index, first.group, first.sample) == ("train", 3, 0, 0)
    assert first.difficulty == "2x1" and first.batch == 1
    assert [r.index for r in run.batches[1][:: TINY["group_size"]]] == [3, 4, 5]
    for batch, row in zip(run.batches.values(), rows, strict=True):
        tokens = [r.tokens or 0 for r in batch]
        assert sum(tokens) / len(tokens) == pytest.approx(row["env/all/ac_tokens_per_turn"])
        assert all(r.logprob is not None and r.logprob < 0 for r in batch)
    assert run.evals["base"][0].split == "test" and run.evals["base"][5].index == 5


def test_last_number_shows_what_it_would_have_paid(tiny_run: Path) -> None:
    own = Scorer("answer", "shaped", 0.1, "The answer is")
    result = rescore(tiny_run, Scorer("last_number", "shaped", 0.1, "The answer is"))
    changed = [c for c in result.changes if c["run"] != c["new"]]
    assert changed and result.counts["verdict_changed"] > 0
    for change in changed:
        # every completion the lenient parser now accepts was rejected as junk by the run
        assert change["run"].startswith("rejected: ") and not change["new"].startswith("rejected")
        assert change["mean_total_new"] > change["mean_total_run"]
        for ex in change["examples"]:
            assert ex["completion"].startswith("The answer is")
            text = ex["completion"].removeprefix("The answer is")
            a, b = map(int, ex["problem"].split(" * "))
            assert not own.score(text, Problem(a, b)).format_ok
            assert any(ch.isdigit() for ch in text)
    md = result.to_markdown()
    assert "| New | last_number | shaped |" in md and "-> wrong**" in md
    assert sum(b["new"]["format_rate"] for b in result.batches) > sum(
        b["run"]["format_rate"] for b in result.batches
    )


def test_save_rollouts_false_keeps_none(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train.run(parse_args(_args(n_batches=1, eval_every=0, save_rollouts="false", log_path=run_dir)))
    assert (run_dir / "metrics.jsonl").exists() and not (run_dir / "rollouts").exists()


def test_interrupted_then_resumed_run_keeps_each_batch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_run: Path
) -> None:
    """Interrupted at batch 3's update, after a checkpoint at 2 (batch 2 is redone), and
    interrupted again just before batch 3's rollouts were written (its metrics line was)."""
    from trainers import local_backend

    run_dir = tmp_path / "run"
    real_create = local_backend.create

    def create_failing_at_batch_3(config: Any) -> Any:
        backend = real_create(config)
        real_step, calls = backend.train_step, []

        def step(*a: Any, **k: Any) -> dict[str, float]:
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return real_step(*a, **k)

        backend.train_step = step
        return backend

    monkeypatch.setattr(local_backend, "create", create_failing_at_batch_3)
    with pytest.raises(KeyboardInterrupt):
        train.run(parse_args(_args(log_path=run_dir)))
    assert [r["step"] for r in _jsonl(run_dir / "metrics.jsonl")] == [0, 1, 2]
    assert list(read_rollouts(run_dir).batches) == [0, 1, 2]  # nothing of batch 3

    monkeypatch.setattr(local_backend, "create", real_create)
    real_write = RolloutWriter.write

    def write_dying_at_batch_3(self: RolloutWriter, rollouts: Any) -> Path:
        if rollouts[0].batch == 3 and rollouts[0].eval is None:
            raise KeyboardInterrupt  # after batch 3's metrics line, before its rollouts
        return real_write(self, rollouts)

    monkeypatch.setattr(RolloutWriter, "write", write_dying_at_batch_3)
    resume = _args(log_path=run_dir, behavior_if_log_dir_exists="resume")
    with pytest.raises(KeyboardInterrupt):
        train.run(parse_args(resume))
    assert [r["step"] for r in _jsonl(run_dir / "metrics.jsonl")] == [0, 1, 2, 3]
    check = rescore(run_dir).log_check
    assert check["missing_rollouts"] == [3] and check["missing_log"] == []

    monkeypatch.setattr(RolloutWriter, "write", real_write)
    train.run(parse_args(resume))
    _assert_rollouts_match_metrics(run_dir)
    # the same rollouts as the uninterrupted run with this config, batch for batch
    got, want = read_rollouts(run_dir), read_rollouts(tiny_run)
    assert got.batches == want.batches and got.evals == want.evals


@pytest.mark.slow
def test_rollouts_of_a_killed_and_resumed_process_match_its_metrics(tmp_path: Path) -> None:
    """SIGKILL a real ``python -m trainers.train`` mid-run, then resume it."""
    run_dir = tmp_path / "run"
    args = _args(n_batches=30, eval_every=4, save_every=3, log_path=run_dir)
    cmd = [sys.executable, "-m", "trainers.train", *args]
    metrics = run_dir / "metrics.jsonl"
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        deadline = time.time() + 120
        while time.time() < deadline:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 8:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    logged = {r["step"] for r in _jsonl(metrics)}
    assert 8 <= len(logged) < 30, "the run was not killed mid-way"
    assert set(read_rollouts(run_dir).batches) <= logged  # never a batch the log lacks

    done = subprocess.run(
        [*cmd, "behavior_if_log_dir_exists=resume"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = _jsonl(metrics)
    assert [r["step"] for r in rows] == list(range(30))
    _assert_rollouts_match_metrics(run_dir)
    assert [k for k in read_rollouts(run_dir).evals if k.startswith("after")] == [
        f"after batch {b}" for b in range(3, 29, 4)
    ]
