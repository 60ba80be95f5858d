"""benchmarks/baselines.py: the model-comparison table, with every sampler exercised offline.

The OpenAI-compatible sampler talks to a tiny ``http.server`` on 127.0.0.1 that answers like a
model with known mistakes; the Tinker sampler runs against the in-process fake SDK.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

pytest.importorskip("tinker")

from benchmarks import baselines
from mult_env import viability
from trainers import fake_tinker as ft

QUESTION = re.compile(r"What is (\d+) \* (\d+)\?")


def scripted_answer(a: int, b: int) -> str:
    """Right when a is even, wrong (but well-formed) when odd, rambling when a % 5 == 0."""
    if a % 5 == 0:
        return f"Let me think: {a} times {b} is {a * b}"
    if a % 2 == 0:
        return f"The answer is {a * b:,}."
    return f"The answer is {a * b + 1}."


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    headers_seen: ClassVar[list[str | None]] = []
    fail_first: int = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        type(self).headers_seen.append(self.headers.get("Authorization"))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_error(503, "warming up")
            return
        user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        match = QUESTION.search(user)
        assert match is not None
        content = scripted_answer(int(match[1]), int(match[2]))
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.requests, _Handler.headers_seen, _Handler.fail_first = [], [], 0
    ThreadingHTTPServer.request_queue_size = 64  # the sampler opens up to 16 connections at once
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _expected(problems: list[Any]) -> tuple[float, float]:
    correct = sum(p.a % 5 != 0 and p.a % 2 == 0 for p in problems)
    well_formed = sum(p.a % 5 != 0 for p in problems)
    return correct / len(problems), well_formed / len(problems)


def test_the_benchmark_problems_are_fixed() -> None:
    problems, prompts = baselines.problem_prompts()
    again, _ = baselines.problem_prompts()
    assert problems == again and len(problems) == 100
    assert all(100 <= p.a <= 999 and 100 <= p.b <= 999 for p in problems)
    assert prompts[0].messages[-1]["content"].startswith(f"What is {problems[0].a} * ")
    assert len(prompts[0].messages) == 7  # three few-shot exchanges + the question


def test_openai_compatible_sampler_scores_a_scripted_server(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    problems, prompts = baselines.problem_prompts(n=40)
    sampler = baselines.OpenAICompatibleSampler(server, concurrency=4)
    result = baselines.evaluate(sampler, "scripted-7b", problems, prompts, max_tokens=24)
    accuracy, format_rate = _expected(problems)
    assert (result.accuracy, result.format_rate) == (accuracy, format_rate)
    assert result.rl_potential == viability(accuracy)
    assert len(_Handler.requests) == 40
    assert {r["model"] for r in _Handler.requests} == {"scripted-7b"}
    assert all(r["max_tokens"] == 24 and r["temperature"] == 0.0 for r in _Handler.requests)
    assert set(_Handler.headers_seen) == {"Bearer sk-local"}


def test_openai_sampler_retries_unavailable_and_continues_a_prefix(server: str) -> None:
    _Handler.fail_first = 2
    _, prompts = baselines.problem_prompts(n=3, assistant_prefix="The answer is")
    sampler = baselines.OpenAICompatibleSampler(server, concurrency=1, backoff_s=0.01)
    sampler.complete("m", prompts, max_tokens=8, temperature=0.0)
    assert len(_Handler.requests) == 5  # two 503s retried
    last = _Handler.requests[-1]
    assert last["messages"][-1] == {"role": "assistant", "content": "The answer is"}
    assert last["continue_final_message"] is True


def test_openai_sampler_reports_permanent_errors(server: str) -> None:
    sampler = baselines.OpenAICompatibleSampler(server.replace("/v1", "/nope"), retries=3)
    _, prompts = baselines.problem_prompts(n=1)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        sampler.complete("m", prompts, max_tokens=8, temperature=0.0)
    assert len(_Handler.requests) == 1  # a 404 is not retried


def test_tinker_sampler_on_the_fake_service(monkeypatch: pytest.MonkeyPatch) -> None:
    world = ft.install(monkeypatch)
    try:
        problems, prompts = baselines.problem_prompts(n=12)
        sampler = baselines.TinkerSampler()
        result = baselines.evaluate(sampler, "Qwen/Qwen3-4B-Instruct-2507", problems, prompts)
        assert result.n == 12 and result.sampler == "tinker"
        assert 0.0 <= result.format_rate <= 1.0
        assert world.calls.count("sample") == 12  # one request per problem, all in flight
        # every prompt was rendered in the Qwen3 chat format the fake's tokenizer knows
        world.assert_all_futures_resolved()
    finally:
        world.shutdown()


def test_main_prints_the_markdown_table(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = baselines.main(
        ["--sampler", "openai", "--base-url", server, "--models", "a", "b", "--n", "20"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "| Model | Parameters | Base Accuracy | Format | RL Potential | Log |" in out
    problems, _ = baselines.problem_prompts(n=20)
    accuracy, format_rate = _expected(problems)
    assert (
        f"| a | ? | {100 * accuracy:.0f}% | {100 * format_rate:.0f}% | {viability(accuracy)} | - |"
        in out
    )


def test_main_without_tinker_key_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    monkeypatch.delenv("TINKER_CREDENTIAL_CMD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert baselines.main(["--sampler", "tinker", "--models", "Qwen/Qwen3-8B"]) == 2
    err = capsys.readouterr().err.strip()
    assert "TINKER_API_KEY" in err and "\n" not in err


def test_markdown_table_sorts_and_labels() -> None:
    rows = [
        baselines.BaselineResult("meta-llama/Llama-3.1-8B-Instruct", "x", 100, 0.14, 0.9, "", 1.0),
        baselines.BaselineResult("Qwen/Qwen3-4B-Instruct-2507", "x", 100, 0.36, 1.0, "", 1.0),
    ]
    lines = baselines.markdown_table(rows).splitlines()
    assert lines[2].startswith("| Qwen/Qwen3-4B-Instruct-2507 | 4B | 36% | 100% |")
    assert lines[2].endswith("| 36% |")  # the log's own number, for comparison
    assert lines[3].startswith("| meta-llama/Llama-3.1-8B-Instruct | 8B | 14% | 90% |")


def test_backend_sampler_wraps_any_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local sampler's path (create a Backend from a config, sample in chunks), run on the
    Tinker backend over the fake so that it needs no model weights."""
    from trainers import tinker_backend

    world = ft.install(monkeypatch)
    try:
        configs: list[Any] = []

        def factory(config: Any) -> Any:
            configs.append(config)
            return tinker_backend.create(config)

        sampler = baselines.BackendSampler("fake-backend", factory, batch_size=4)
        problems, prompts = baselines.problem_prompts(n=10)
        result = baselines.evaluate(sampler, "Qwen/Qwen3-4B-Instruct-2507", problems, prompts)
        assert result.n == 10 and result.sampler == "fake-backend"
        assert configs[0].model_name == "Qwen/Qwen3-4B-Instruct-2507"
        assert world.calls.count("sample") == 10
        world.assert_all_futures_resolved()
    finally:
        world.shutdown()


@pytest.mark.slow
def test_local_sampler_runs_the_local_backend() -> None:
    """``--sampler local`` for real, on the random ``tiny`` model (no weights to download)."""
    pytest.importorskip("torch")
    pytest.importorskip("trainers.local_backend")
    problems, prompts = baselines.problem_prompts(n=4)
    result = baselines.evaluate(
        baselines.BackendSampler.local(), "tiny", problems, prompts, max_tokens=4
    )
    assert (result.n, result.sampler) == (4, "local")
    assert 0.0 <= result.accuracy <= 1.0 and 0.0 <= result.format_rate <= 1.0
