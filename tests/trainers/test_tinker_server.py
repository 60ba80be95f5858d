"""The Tinker backend against a real Tinker-API server: SkyRL 0.4.0's ``skyrl.tinker.api``.

The server (JAX backend, CPU) runs a tiny Qwen3 built here, offline, in its own Python 3.12
virtual environment (``.venv-skyrl/`` in the repository root, built by
``tests/trainers/skyrl/install.sh`` the first time this module runs; git-ignored). It listens on
127.0.0.1 on a free port and is stopped by process id at the end. Everything under
``tests/trainers/skyrl/`` is test infrastructure for that server version (see ``serve.py`` for
the protocol bridge); the trainer itself talks to the server exactly as it talks to Tinker.

What runs against it, as a user would run it: the trainer's own command line with KL on,
interrupted with Ctrl-C and resumed with pipelining; seeded sampling through the backend; and
the baselines benchmark's Tinker sampler on the base model and on the trained checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.pipeline import write_tiny_chat_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

tinker = pytest.importorskip("tinker")
torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]
SKYRL_DIR = Path(__file__).resolve().parent / "skyrl"
VENV = Path(os.environ.get("MULT_ENV_SKYRL_VENV", REPO / ".venv-skyrl"))
API_KEY = "tml-dummy"  # the server accepts any key; the SDK wants one that looks right
STARTUP_TIMEOUT_S = 600
RUN_TIMEOUT_S = 900

# The trainer's command line for the tiny model: short prompts (no few-shot turns, the answer
# pre-filled with "The answer is"), 1x1 products, KL on, a checkpoint after every batch.
RUN_ARGS = {
    "backend": "tinker",
    "renderer": "qwen3",
    "difficulty": "1x1",
    "few_shot": "false",
    "assistant_prefix": "The answer is",
    "max_tokens": "6",
    "n_batches": "4",
    "batch_size": "4",
    "group_size": "4",
    "eval_n": "4",
    "lora_rank": "4",
    "learning_rate": "0.001",
    "kl_penalty_coef": "0.01",
    "save_every": "1",
    "progress": "false",
}


@dataclass(frozen=True)
class Server:
    url: str
    model_dir: Path
    database: Path
    log: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ, TINKER_API_KEY=API_KEY, PYTHONPATH=str(REPO))
        env.pop("TINKER_BASE_URL", None)
        return env

    def training_runs(self) -> list[str]:
        """Every training run (LoRA model) the server has created, oldest first."""
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            return [row[0] for row in db.execute("SELECT model_id FROM models ORDER BY rowid")]


def _ensure_venv(log_dir: Path) -> Path:
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    log = log_dir / "install.log"
    with log.open("w") as out:
        result = subprocess.run(
            [str(SKYRL_DIR / "install.sh"), str(VENV)], stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        pytest.fail(f"installing the SkyRL venv failed:\n{log.read_text()[-4000:]}")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its process id (it stops its engine), then its process group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the engine, had it outlived the server


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/healthz", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("skyrl")
    python = _ensure_venv(root)
    model_dir = write_tiny_chat_model(root / "tiny-chatml")
    (root / "checkpoints").mkdir()
    port = _free_port()
    log = root / "server.log"
    command = [
        "nice",
        "-n",
        "10",
        str(python),
        str(SKYRL_DIR / "serve.py"),
        "--base-model",
        str(model_dir),
        "--backend",
        "jax",
        "--backend-config",
        json.dumps({"max_lora_adapters": 8, "max_lora_rank": 8}),
        "--database-url",
        f"sqlite:///{root / 'tinker.db'}",
        "--checkpoints-base",
        str(root / "checkpoints"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(SKYRL_DIR / "stubs"), JAX_PLATFORMS="cpu")
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the SkyRL server exited at start:\n{log.read_text()[-4000:]}")
            if _healthy(url):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the SkyRL server did not start:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield Server(url, model_dir, root / "tinker.db", log)
    finally:
        _stop(process)


def _train_command(server: Server, run_dir: Path, *extra: str) -> list[str]:
    args = {**RUN_ARGS, "base_url": server.url, "model_name": str(server.model_dir)}
    args["log_path"] = str(run_dir)
    return [
        sys.executable,
        "-m",
        "trainers.train",
        *(f"{k}={v}" for k, v in args.items()),
        *extra,
    ]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _interrupt_after_batches(
    command: list[str], env: dict[str, str], metrics: Path, batches: int
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; press Ctrl-C once ``batches`` lines are in ``metrics``."""
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= batches:
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.2)
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_cli_run_interrupted_and_resumed_with_pipelining(server: Server, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    metrics_path = run_dir / "metrics.jsonl"
    runs_before = server.training_runs()

    first = _interrupt_after_batches(
        _train_command(server, run_dir), server.env(), metrics_path, batches=1
    )
    assert first.returncode == 130, first.stderr[-3000:]
    assert "behavior_if_log_dir_exists=resume" in first.stderr
    done = len(_jsonl(metrics_path))
    assert 1 <= done < 4
    # The server predates prompt_logprobs_last_n: the trainer noticed and kept going.
    assert "ignores prompt_logprobs_last_n" in first.stderr

    second = subprocess.run(
        _train_command(server, run_dir, "behavior_if_log_dir_exists=resume", "pipeline=true"),
        cwd=REPO,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "held-out accuracy" in second.stdout

    metrics = _jsonl(metrics_path)
    assert [m["step"] for m in metrics] == [0, 1, 2, 3]  # every batch exactly once
    assert all("optim/kl_policy_base" in m for m in metrics)  # KL on, on the wire
    assert all(m["time/sample"] > 0 and "time/save" in m for m in metrics)
    trained = [m for m in metrics if m["optim/skipped"] == 0.0]
    assert trained, "the taught tiny model gives mixed groups, so some batches train"
    assert all(m["optim/n_datums"] == 16 for m in trained)
    resumed = metrics[done:]
    assert all(m["tinker/staleness"] in (0.0, 1.0) for m in resumed if "tinker/staleness" in m)

    checkpoints = _jsonl(run_dir / "checkpoints.jsonl")
    states = [c for c in checkpoints if "state_path" in c]
    assert [c["batch"] for c in states] == [*range(1, done + 1), *range(done + 1, 5)]
    assert all(c["state_path"].startswith("tinker://") for c in states)
    finals = [c["final_path"] for c in checkpoints if "final_path" in c]
    assert len(finals) == 1 and finals[0].startswith("tinker://")

    report = (run_dir / "report.md").read_text()
    assert "Training Metrics" in report and "Held-Out Evaluation" in report
    assert (run_dir / "DONE").exists()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["batches_trained"] == 4

    # One training run per process: the resume built its client from the state, and no
    # throwaway LoRA was created.
    assert len(server.training_runs()) - len(runs_before) == 2

    # The baselines benchmark's Tinker sampler, on the base model and the trained weights.
    baseline = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.baselines",
            "--sampler",
            "tinker",
            "--models",
            str(server.model_dir),
            finals[0],
            "--renderer",
            "qwen3",
            "--difficulty",
            "1x1",
            "--n",
            "4",
            "--no-few-shot",
            "--assistant-prefix",
            "The answer is",
            "--max-tokens",
            "6",
            "--json",
            str(tmp_path / "baselines.json"),
        ],
        cwd=REPO,
        env={**server.env(), "TINKER_BASE_URL": server.url},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    assert str(server.model_dir) in baseline.stdout and finals[0] in baseline.stdout
    results = json.loads((tmp_path / "baselines.json").read_text())
    assert len(results) == 2 and all(r["n"] == 4 for r in results)


SAMPLE_SCRIPT = """
import json, sys
from types import SimpleNamespace
from trainers import tinker_backend as tb
from trainers.backend import PromptSpec
url, model, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = SimpleNamespace(model_name=model, base_url=url, renderer="qwen3", lora_rank=4,
                         learning_rate=1e-3, seed=seed)
backend = tb.create(config)
prompts = [PromptSpec(({"role": "user", "content": f"What is {a} * 7?"},), "The answer is")
           for a in (3, 4)]
groups = backend.sample(prompts, 3, max_tokens=6, temperature=1.0)
print(json.dumps([s.tokens for group in groups for s in group]))
"""


def test_seeded_sampling_is_reproducible(server: Server) -> None:
    """The same ``seed`` gives the same samples (each process: one backend, one LoRA)."""

    def sample(seed: int) -> list[list[int]]:
        result = subprocess.run(
            [sys.executable, "-c", SAMPLE_SCRIPT, server.url, str(server.model_dir), str(seed)],
            cwd=REPO,
            env=server.env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        tokens: list[list[int]] = json.loads(result.stdout.strip().splitlines()[-1])
        return tokens

    first = sample(seed=11)
    assert len({tuple(t) for t in first}) > 1  # temperature 1: the samples differ
    assert sample(seed=11) == first  # the same seed, the same samples
