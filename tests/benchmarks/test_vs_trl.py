"""benchmarks/vs_trl.py: the summary's arithmetic, identical prompts on both sides, and an
end-to-end run of both trainers on the tiny model. No timing assertions: speed is measured by
running the benchmark, not by unit tests on a shared machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import vs_trl


def _record(side: str, seed: int, step_s: float, before: float, after: float) -> dict[str, Any]:
    step = {
        "sample_s": step_s / 2,
        "cpu_s": step_s,
        "update_s": step_s / 2,
        "step_s": step_s,
        "samples": 32,
        "completion_tokens": 160,
        "samples_per_s": 32 / step_s,
        "tokens_per_s": 160 / step_s,
        "peak_rss_mib": 100.0,
    }
    return {
        "side": side,
        "seed": seed,
        "steps": [step, step],
        "heldout_before": before,
        "heldout_after": after,
    }


def test_summary_takes_medians_over_seeds_and_ratios_ours_over_trl() -> None:
    records = [
        _record("ours", 0, 2.0, 0.1, 0.3),
        _record("ours", 1, 4.0, 0.1, 0.2),
        _record("ours", 2, 8.0, 0.1, 0.9),
        _record("trl", 0, 8.0, 0.1, 0.15),
        _record("trl", 1, 16.0, 0.1, 0.2),
        _record("trl", 2, 4.0, 0.1, 0.1),
    ]
    summary = vs_trl.summarize(records)
    assert summary["ours_samples_per_s"] == pytest.approx(32 / 4.0)
    assert summary["trl_samples_per_s"] == pytest.approx(32 / 8.0)
    assert summary["samples_per_s_ratio"] == pytest.approx(2.0)
    assert summary["ours_heldout_gain"] == pytest.approx(0.2)
    assert summary["trl_heldout_gain"] == pytest.approx(0.05)
    table = vs_trl.markdown_table(summary)
    assert "| samples / s | 8 | 4 | 2.00x |" in table
    assert table.count("\n") == len(vs_trl.METRICS) + 1


def _needs(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module)


@pytest.mark.parametrize("steps_or_budget", [["--steps", "1"], ["--budget-min", "1e-6"]])
@pytest.mark.slow
@pytest.mark.integration
def test_both_trainers_run_and_the_json_has_the_issue_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steps_or_budget: list[str]
) -> None:
    _needs("torch", "peft", "trl")
    out = tmp_path / "nested" / "vs_trl.json"
    argv = ["--model", "tiny", "--seeds", "0", "--eval-n", "4", "--max-tokens", "4"]
    assert vs_trl.main([*argv, *steps_or_budget, "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| samples / s |" in table and "ours / TRL" in table
    data = json.loads(out.read_text())
    for key in (
        "ours_samples_per_s",
        "trl_samples_per_s",
        "samples_per_s_ratio",
        "ours_heldout_gain",
        "trl_heldout_gain",
    ):
        assert isinstance(data[key], float), key
    assert sorted(r["side"] for r in data["runs"]) == ["ours", "trl"]
    for run in data["runs"]:
        assert len(run["steps"]) == 1  # one step reaches either limit
        step = run["steps"][0]
        assert step["samples"] == 32 and 0 < step["completion_tokens"] <= 32 * 4
        assert 0 <= step["sample_s"] <= step["step_s"] and step["peak_rss_mib"] > 0
        assert step["cpu_s"] > 0 and 0 <= step["format_rate"] <= 1
    assert data["work"]["device"] == "auto" and data["machine_before"]["cpus"]


def test_both_trainers_see_the_same_prompt_tokens() -> None:
    """TRL tokenizes the dataset's text prompt; ours renders the PromptSpec: the same ids."""
    _needs("torch", "peft", "datasets")
    from mult_env import ProblemSet
    from trainers import train
    from trainers.config import TrainConfig
    from trainers.local_backend import LocalBackend
    from trainers.tiny_model import build_tiny

    model, tokenizer = build_tiny(seed=0)
    backend = LocalBackend(model, tokenizer, seed=0)
    work = vs_trl.Work(model="tiny")
    problems = ProblemSet(work.difficulty, seed=0, split="train").take(5)
    config = TrainConfig(assistant_prefix=work.assistant_prefix, few_shot=False)
    ours = [backend.render(spec) for spec in train.prompt_specs(problems, config)]
    texts = vs_trl.prompt_texts(problems, work, tokenizer)
    assert [list(tokenizer(t)["input_ids"]) for t in texts] == ours
