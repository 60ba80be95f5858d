"""benchmarks/local_scaling.py runs every shape on the tiny model and prints one row per shape.
No timing assertions: speed is measured by running the benchmark, not by unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from benchmarks import local_scaling

pytestmark = pytest.mark.slow


def test_every_shape_is_measured_and_tabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scaling.json"
    assert local_scaling.main(["--model", "tiny", "--rounds", "1", "--json", str(out)]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert len(table) == 2 + len(local_scaling.SHAPES)
    rows = json.loads(out.read_text())["rows"]
    got = [(r["group_size"], r["problems_per_step"]) for r in rows]
    assert got == list(local_scaling.SHAPES)
    for r in rows:
        assert r["samples"] == r["group_size"] * r["problems_per_step"]
        assert len(r["runs"]) == 1 and 0 < r["sample_s"] <= r["step_s"]
