"""benchmarks/ablations.py end to end on the tiny model: configs, runs, the comparison table."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see test_local_backend.py
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from benchmarks import ablations  # noqa: E402


@pytest.fixture(autouse=True)
def restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_ablation_configs_are_the_logs_contrast(tmp_path: Path) -> None:
    before = ablations.ablation_config("before", 0, tmp_path, [])
    after = ablations.ablation_config("after", 1, tmp_path, ["n_batches=7"])
    assert (before.learning_rate, before.lora_rank, before.kl_penalty_coef) == (1e-3, 32, 0.0)
    assert (after.learning_rate, after.lora_rank, after.kl_penalty_coef) == (3e-4, 16, 0.01)
    assert before.learning_rate / after.learning_rate == pytest.approx(1e-4 / 3e-5)  # log's ratio
    assert ablations.ablation_config("after-binary", 0, tmp_path, []).reward == "binary"
    assert after.n_batches == 7 and after.seed == 1
    assert after.log_path == str(tmp_path / "after-s1")


def test_the_script_runs_and_prints_the_comparison_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = ["model_name=tiny", "eval_n=4", "batch_size=2", "max_tokens=4", "eval_every=0"]
    code = ablations.main(
        ["--runs", "before,after", "--n-batches", "2", "--out", str(tmp_path), *tiny]
    )
    assert code == 0
    table = capsys.readouterr().out
    for row in (
        "Training format stability",
        "Held-out accuracy change",
        "Peak training accuracy",
        "Learning signal (frac_mixed)",
        "Trainer overhead",
    ):
        assert f"| {row}" in table
    assert "lr 1e-3 / rank 32 / no KL" in table
    saved = json.loads((tmp_path / "ablations.json").read_text())
    assert set(saved["results"]) == {"before", "after"}
    for rows in saved["results"].values():
        assert rows[0]["n_batches"] == 2 and 0.0 <= rows[0]["overhead_share"] <= 1.0
    assert (tmp_path / "before-s0" / "report.md").exists()
    assert (tmp_path / "ablations.md").read_text().strip() == table.strip()
