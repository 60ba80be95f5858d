"""A full short training run through the real loop (``trainers.train``) with ``backend=tinker``.

``tinker.ServiceClient`` is routed to the in-process fake, so the run exercises every layer the
log's command does (config parsing, run directory, sampling, KL reference, importance-sampling
updates, checkpoints, evaluation, report, resume) in seconds and without a key.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tinker")

import tinker

from trainers import train
from trainers.config import parse_args
from trainers.interrupt import DeferredInterrupt

REPO = Path(__file__).resolve().parents[2]


def _args(log_path: Path, *overrides: str) -> list[str]:
    values = {
        "backend": "tinker",
        "model_name": "Qwen/Qwen3-4B-Instruct-2507",
        "difficulty": "tiny",
        "n_batches": "4",
        "batch_size": "6",
        "group_size": "4",
        "learning_rate": "0.05",
        "lora_rank": "16",
        "kl_penalty_coef": "0.01",
        "max_tokens": "6",
        "eval_n": "8",
        "eval_every": "2",
        "save_every": "2",
        "progress": "false",
        "log_path": str(log_path),
    }
    values.update(o.split("=", 1) for o in overrides)  # type: ignore[misc]
    return [f"{k}={v}" for k, v in values.items()]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_full_run_on_the_fake_service_writes_every_output(world: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = train.run(parse_args(_args(run_dir)))

    assert summary["run_dir"] == str(run_dir)
    for name in ("config.json", "eval_base.json", "eval_final.json", "report.md", "DONE"):
        assert (run_dir / name).exists(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["backend"] == "tinker" and config["lora_rank"] == 16

    metrics = _jsonl(run_dir / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [0, 1, 2, 3]
    trained = [m for m in metrics if m["optim/skipped"] == 0.0]
    assert trained, "the fake's base model gives mixed groups, so some batches train"
    for m in trained:
        assert m["optim/n_datums"] == 6 * 4
        assert m["tinker/staleness"] == 0.0
        assert "optim/kl_policy_base" in m  # the KL reference came from the base sampler
    assert "test/env/all/correct" in metrics[1]

    checkpoints = _jsonl(run_dir / "checkpoints.jsonl")
    states = [c["state_path"] for c in checkpoints if "state_path" in c]
    finals = [c["final_path"] for c in checkpoints if "final_path" in c]
    assert [c["batch"] for c in checkpoints if "state_path" in c] == [2, 4]
    for path in states:
        parsed = tinker.ParsedCheckpointTinkerPath.from_tinker_path(path)
        assert parsed.checkpoint_type == "training"
    assert len(finals) == 1 and finals[0].endswith("/sampler_weights/final")
    assert (
        tinker.ParsedCheckpointTinkerPath.from_tinker_path(finals[0]).checkpoint_type == "sampler"
    )

    report = (run_dir / "report.md").read_text()
    assert "Training Metrics" in report and "Held-Out Evaluation" in report
    # one LoRA training client of the configured rank, one base sampler for the KL reference
    assert world.calls.count("create_lora_training_client") == 1
    assert world.calls.count("create_sampling_client") == 1
    assert world.train_datums == sum(m["optim/n_datums"] for m in trained)
    assert [c.closed for c in world.service_clients] == ["success"]  # the session is closed


def test_resume_continues_from_the_last_state_checkpoint(world: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train.run(parse_args(_args(run_dir)))
    before = len(world.calls)
    summary = train.run(
        parse_args(_args(run_dir, "n_batches=6", "behavior_if_log_dir_exists=resume"))
    )
    # the resumed process has one training client, made from the state (no throwaway LoRA)
    created = [c for c in world.calls[before:] if c.startswith("create_") and "train" in c]
    assert created == ["create_training_client_from_state_with_optimizer"]
    metrics = _jsonl(Path(summary["run_dir"]) / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [0, 1, 2, 3, 4, 5]
    checkpoints = _jsonl(run_dir / "checkpoints.jsonl")
    assert [c["batch"] for c in checkpoints if "state_path" in c] == [2, 4, 6]


def test_cli_without_key_prints_one_line_and_does_nothing_else(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINKER_")}
    env["HOME"] = str(tmp_path)  # no stored `tinker auth login` credential either
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "trainers.train", *_args(run_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TINKER_API_KEY" in lines[0], result.stderr
    assert not run_dir.exists(), "nothing may be written before the key check"


def test_pipelined_run_samples_the_next_batch_during_the_update(world: Any, tmp_path: Path) -> None:
    train.run(parse_args(_args(tmp_path / "run", "pipeline=true", "n_batches=8")))
    metrics = _jsonl(tmp_path / "run" / "metrics.jsonl")
    assert [m["step"] for m in metrics] == list(range(8))
    # A batch sampled during the previous batch's update is one update stale; after a skipped
    # update (no learning signal) it is not.
    staleness = [
        (m["tinker/staleness"], prev["optim/skipped"] == 0.0)
        for prev, m in itertools.pairwise(metrics)
        if m["optim/skipped"] == 0.0
    ]
    assert staleness and all(s == (1.0 if prev_trained else 0.0) for s, prev_trained in staleness)
    assert (1.0, True) in staleness
    # the wait for the pending samples is the batch's sampling time, not 0
    assert all(m["time/sample"] > 0 for m in metrics)
    # batch n+1's sampling was submitted before batch n's forward_backward
    calls = world.calls
    first_fb = calls.index("forward_backward")
    assert "sample" in calls[calls.index("compute_logprobs") : first_fb]


def test_ctrl_c_saves_a_checkpoint_and_resume_completes_the_run(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_train_batch = train.train_batch
    seen: list[int] = []

    def press_ctrl_c_in_second_batch(*args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        if len(seen) == 2:
            signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C mid-batch
        return real_train_batch(*args, **kwargs)

    monkeypatch.setattr(train, "train_batch", press_ctrl_c_in_second_batch)
    run_dir = tmp_path / "run"
    args = _args(run_dir, "n_batches=5", "save_every=0")
    with DeferredInterrupt(), pytest.raises(KeyboardInterrupt):
        train.run(parse_args(args))
    assert [m["step"] for m in _jsonl(run_dir / "metrics.jsonl")] == [0, 1]  # batch 1 finished
    states = [c for c in _jsonl(run_dir / "checkpoints.jsonl") if "state_path" in c]
    assert [c["batch"] for c in states] == [2]
    assert states[0]["state_path"].startswith("tinker://")

    monkeypatch.setattr(train, "train_batch", real_train_batch)
    train.run(parse_args([*args, "behavior_if_log_dir_exists=resume"]))
    assert [m["step"] for m in _jsonl(run_dir / "metrics.jsonl")] == [0, 1, 2, 3, 4]
    checkpoints = _jsonl(run_dir / "checkpoints.jsonl")
    assert [c["batch"] for c in checkpoints if "state_path" in c] == [2, 5]
    assert world.calls.count("create_training_client_from_state_with_optimizer") == 1


def test_the_logs_command_gets_the_logs_settings_on_tinker() -> None:
    log_command = [
        "backend=tinker",
        "model_name=Qwen/Qwen3-4B-Instruct-2507",
        "n_batches=100",
        "batch_size=50",
        "difficulty=medium",
        "learning_rate=3e-5",
        "lora_rank=16",
        "kl_penalty_coef=0.01",
        "wandb_project=multiplication-rl",
        "behavior_if_log_dir_exists=delete",
    ]
    config = parse_args(log_command)
    assert config.time_limit_min == 0.0  # 100 hosted batches must not stop at the local budget
    assert (config.n_batches, config.batch_size, config.lora_rank) == (100, 50, 16)
    assert parse_args([*log_command, "time_limit_min=30"]).time_limit_min == 30.0
    # The log's prompt: few-shot turns, no pre-filled prefix, room for "The answer is 998,001."
    assert config.few_shot and config.assistant_prefix == ""
    assert config.max_tokens >= len("The answer is 998,001.") + 1
    explicit = parse_args([*log_command, "few_shot=false", "max_tokens=7", "assistant_prefix=x"])
    assert (explicit.few_shot, explicit.max_tokens, explicit.assistant_prefix) == (False, 7, "x")


def test_timing_metrics_reach_metrics_jsonl(world: Any, tmp_path: Path) -> None:
    from trainers.fake_tinker import Latency

    world.latency = Latency(sample=0.5, save=0.05)
    run_dir = tmp_path / "run"
    train.run(parse_args(_args(run_dir, "pipeline=true", "n_batches=4", "eval_every=0")))
    metrics = _jsonl(run_dir / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [0, 1, 2, 3]
    # pipelined batches count the wait for their pending samples: the latency less what the
    # previous batch's update and save hid (small here; not ~0, as when the wait was not timed)
    waits = [m["time/sample"] for m in metrics]
    assert waits[0] > 0.4 and min(waits[1:]) > 0.05 and sum(waits[1:]) / 3 > 0.25, waits
    # the save after batches 2 and 4 is timed on their own line
    assert [("time/save" in m) for m in metrics] == [False, True, False, True]
    assert all(m["time/save"] >= 0.05 for m in metrics if "time/save" in m)


def test_renderer_key_is_validated_before_any_work(tmp_path: Path) -> None:
    from trainers.config import ConfigError, usage
    from trainers.renderers import RENDERERS

    assert parse_args(["backend=tinker", "renderer=llama3"]).renderer == "llama3"
    with pytest.raises(ConfigError, match="unknown renderer 'nope'"):
        parse_args(["backend=tinker", "renderer=nope"])
    help_text = usage().split("renderer=", 1)[1].split("\n  ", 2)[1]
    assert all(name in help_text for name in RENDERERS)  # --help lists every choice
    run_dir = tmp_path / "run"
    assert train.main([*_args(run_dir), "renderer=nope"]) == 2
    assert not run_dir.exists()


def test_service_refusal_at_start_is_a_one_line_error(
    world: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trainers import fake_tinker as ft

    world.fail_next("create_lora_training_client", ft.bad_request_error())
    run_dir = tmp_path / "run"
    assert train.main(_args(run_dir)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the Tinker service could not start"), err
    assert not run_dir.exists()


def test_kl_run_on_a_server_without_prompt_logprobs_last_n(world: Any, tmp_path: Path) -> None:
    world.honours_prompt_logprobs_last_n = False
    summary = train.run(parse_args(_args(tmp_path / "run", "n_batches=2", "eval_every=0")))
    metrics = _jsonl(Path(summary["run_dir"]) / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [0, 1]
    assert all("optim/kl_policy_base" in m for m in metrics)
