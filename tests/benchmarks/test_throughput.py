"""Smoke test of benchmarks/throughput.py: it runs end to end on tiny sizes and writes the
table and JSON it documents. No timing assertions: speed is measured by running the benchmark,
not by unit tests on a shared machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("reasoning_gym")

from benchmarks import throughput

pytestmark = pytest.mark.slow  # builds reasoning-gym datasets; CI runs it


def test_main_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rows = [{"batch": b, "time/score": 0.002, "time/total": 8.0 + b} for b in range(3)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "nested" / "throughput.json"
    argv = ["-n", "200", "--rounds", "2", "--json", str(out), "--run-dir", str(run_dir)]
    assert throughput.main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert [r["row"] for r in result["rows"]] == ["generation", "parse + score", "reset + step"]
    for r in result["rows"]:
        assert r["ours_per_s"] > 0 and r["peer_per_s"] > 0
        assert r["ratio"] == pytest.approx(r["ours_per_s"] / r["peer_per_s"])
        assert f"| {r['row']} |" in printed
    assert result["floor_met"] == all(r["ratio"] >= 1.0 for r in result["rows"])
    assert result["scoring_share"] == pytest.approx(
        {"batches": 3, "score_s": 0.002, "batch_s": 9.0, "share": 0.002 / 9.0}
    )
    assert "0.022%" in printed


def test_answer_mix_is_the_logs() -> None:
    from mult_env import Problem, Scorer

    problem = Problem(847, 293)
    texts = throughput.answer_texts([problem.answer] * len(throughput.MIX))
    scores = [Scorer().score(f"The answer is {t}.", problem) for t in texts]
    assert sum(b.correct for b in scores) / len(scores) == 0.45  # exact 40 % + separators 5 %
    assert sum(b.format_ok for b in scores) / len(scores) == 0.8
