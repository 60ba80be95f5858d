"""benchmarks/pipeline.py: pipelined sampling overlaps with training and is one step stale."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("tinker")

from benchmarks import pipeline
from trainers import fake_tinker as ft

pytestmark = pytest.mark.slow  # injected latencies of seconds; CI runs them


def _run(pipelined: bool) -> Any:
    latency = ft.Latency(sample=0.15, forward_backward=0.15, optim_step=0.02, save=0.02)
    world, backend = pipeline._fake_backend(latency)
    try:
        result = pipeline.run(backend, pipelined=pipelined, batches=4, batch_size=2, group_size=2)
        world.assert_all_futures_resolved()
        return result
    finally:
        world.shutdown()


def test_pipelining_overlaps_sampling_with_training() -> None:
    sequential, pipelined = _run(False), _run(True)
    assert sequential.staleness == [0.0, 0.0, 0.0, 0.0]
    assert pipelined.staleness == [0.0, 1.0, 1.0, 1.0]
    # sequential pays sample + train per batch (~0.34 s); pipelined about the larger of them
    assert sequential.mean_s > 0.3
    assert pipelined.mean_s < 0.8 * sequential.mean_s
    table = pipeline.markdown_table([sequential, pipelined])
    assert table.splitlines()[2].startswith("| sequential |")
    assert "| pipelined |" in table


def test_the_real_loop_pipelines_too() -> None:
    latency = ft.Latency(sample=0.2, forward_backward=0.2, optim_step=0.02, save=0.02)
    kwargs = {"batches": 3, "batch_size": 2, "group_size": 2}
    sequential = pipeline.run_real_loop(latency, pipelined=False, **kwargs)
    pipelined = pipeline.run_real_loop(latency, pipelined=True, **kwargs)
    assert sequential.staleness == [0.0, 0.0, 0.0]
    assert pipelined.staleness[0] == 0.0
    assert pipelined.mean_s < 0.85 * sequential.mean_s
