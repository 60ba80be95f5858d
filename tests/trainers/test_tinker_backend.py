"""The Tinker backend against the in-process fake SDK (no network), plus one live test.

The fake (``trainers/fake_tinker.py``) runs a tiny real model behind the real ``tinker`` types and
raises ``ContractViolation`` on any request the service would reject or mis-train on, so these tests
fail when the datum layout, the logprobs, the futures or the call order are wrong.
"""

from __future__ import annotations

import inspect
import logging
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import tinker
import tinker.auth

from trainers import fake_tinker as ft
from trainers import tinker_backend as tb
from trainers.backend import Backend, PromptSpec, Sample
from trainers.renderers import (
    ChatMLRenderer,
    Llama3Renderer,
    answer_token_budget,
    get_renderer,
    renderer_name_for_model,
)

MODEL = "Qwen/Qwen3-4B-Instruct-2507"
QUESTION = "What is 847 * 293? Reply with only the final answer."


def _config(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "model_name": MODEL,
        "lora_rank": 16,
        "learning_rate": 0.05,
        "seed": 0,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def _prompt(content: str = QUESTION, prefix: str = "The answer is") -> PromptSpec:
    return PromptSpec(messages=({"role": "user", "content": content},), assistant_prefix=prefix)


@pytest.fixture
def backend(world: Any) -> tb.TinkerBackend:
    retry = tb.RetryPolicy(sleep=lambda _s: None)
    return tb.create(_config(), retry=retry)


# -- renderers ---------------------------------------------------------------------------------


def test_qwen3_renderer_renders_the_instruct_format_without_think() -> None:
    tok = ft.make_tokenizer()
    renderer = get_renderer(None, tok, MODEL)
    messages = [
        {"role": "user", "content": "What is 12 * 15?"},
        {"role": "assistant", "content": "The answer is 180."},
        {"role": "user", "content": "What is 34 * 27?"},
    ]
    tokens = renderer.build_prompt(messages, "The answer is")
    assert tok.decode(tokens) == (
        "<|im_start|>user\nWhat is 12 * 15?<|im_end|>\n"
        "<|im_start|>assistant\nThe answer is 180.<|im_end|>\n"
        "<|im_start|>user\nWhat is 34 * 27?<|im_end|>\n"
        "<|im_start|>assistant\nThe answer is"
    )
    assert "<think>" not in tok.decode(tokens)
    # special tokens are single ids, not spelled out character by character
    assert tokens[0] == tok.convert_tokens_to_ids("<|im_start|>")
    assert renderer.stop_token_ids == [tok.convert_tokens_to_ids("<|im_end|>")]


def test_decode_completion_drops_the_stop_token_and_reports_it() -> None:
    tok = ft.make_tokenizer()
    renderer = ChatMLRenderer(tok)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    body = tok.encode(" 248,171.", add_special_tokens=False)
    assert renderer.decode_completion([*body, im_end]) == (" 248,171.", True)
    assert renderer.decode_completion(body) == (" 248,171.", False)
    # text after an inner stop token is not part of the answer
    junk = tok.encode("999", add_special_tokens=False)
    assert renderer.decode_completion([*body, im_end, *junk]) == (" 248,171.", True)


def test_llama3_and_disable_thinking_formats() -> None:
    tok = ft.make_tokenizer()
    llama = get_renderer(None, tok, "meta-llama/Llama-3.1-8B-Instruct")
    assert isinstance(llama, Llama3Renderer)
    text = tok.decode(llama.build_prompt([{"role": "user", "content": "hi"}], "The answer is"))
    assert text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nThe answer is"
    )
    assert llama.stop_token_ids == [tok.convert_tokens_to_ids("<|eot_id|>")]
    hybrid = get_renderer(None, tok, "Qwen/Qwen3-8B")
    assert tok.decode(hybrid.build_prompt([{"role": "user", "content": "hi"}])).endswith(
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("Qwen/Qwen3-4B-Instruct-2507", "qwen3"),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3"),
        ("Qwen/Qwen3-32B", "qwen3_disable_thinking"),
        ("Qwen/Qwen3-30B-A3B", "qwen3_disable_thinking"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama3"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "chatml"),
        ("deepseek-ai/DeepSeek-V3.1", "hf_chat_template"),
    ],
)
def test_renderer_name_for_model(model: str, name: str) -> None:
    assert renderer_name_for_model(model) == name


def test_renderer_errors_are_clear() -> None:
    tok = ft.make_tokenizer()
    with pytest.raises(ValueError, match="unknown renderer"):
        get_renderer("nope", tok)
    with pytest.raises(ValueError, match="role"):
        ChatMLRenderer(tok).build_prompt([{"role": "robot", "content": "x"}])
    with pytest.raises(ValueError, match="empty"):
        ChatMLRenderer(tok).build_prompt([])


def test_answer_token_budget_fits_the_longest_answer() -> None:
    tok = ft.make_tokenizer()
    renderer = ChatMLRenderer(tok)
    budget = answer_token_budget(renderer, 3, 3, margin=0)
    # char tokenizer: "The answer is 998,001." is 22 tokens, plus the stop token
    assert budget == len("The answer is 998,001.") + 1


# -- datums ------------------------------------------------------------------------------------


def test_build_datum_layout() -> None:
    datum = tb.build_datum([1, 2, 3], [4, 5], [-0.5, -0.25], [1.0, 1.0])
    assert isinstance(datum, tinker.Datum)
    assert datum.model_input.to_ints() == [1, 2, 3, 4]
    inputs = datum.loss_fn_inputs
    assert inputs["target_tokens"].tolist() == [2, 3, 4, 5]
    assert inputs["target_tokens"].dtype == "int64"
    assert inputs["logprobs"].tolist() == [0.0, 0.0, -0.5, -0.25]
    assert inputs["advantages"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert inputs["advantages"].dtype == "float32"
    with pytest.raises(ValueError, match="lengths"):
        tb.build_datum([1], [2, 3], [0.0], [0.0, 0.0])


# -- the backend against the fake ----------------------------------------------------------------


def test_backend_satisfies_the_protocol(backend: tb.TinkerBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.renderer.name == "qwen3"


def test_sample_returns_groups_in_prompt_order(world: Any, backend: tb.TinkerBackend) -> None:
    prompts = [_prompt(f"What is {a} * 7?") for a in (11, 12, 13)]
    groups = backend.sample(prompts, 4, max_tokens=10, temperature=1.0)
    assert [len(g) for g in groups] == [4, 4, 4]
    tok = world.tokenizer
    for prompt, group in zip(prompts, groups, strict=True):
        expected_prompt = backend.renderer.build_prompt(prompt.messages, prompt.assistant_prefix)
        for sample in group:
            assert sample.prompt_tokens == expected_prompt
            assert 1 <= len(sample.tokens) <= 10
            assert len(sample.logprobs) == len(sample.tokens)
            assert all(lp <= 0.0 for lp in sample.logprobs)
            body = sample.tokens[:-1] if sample.stopped else sample.tokens
            assert sample.text == tok.decode(body, skip_special_tokens=True)
            assert "<|im_end|>" not in sample.text
            assert sample.stopped == (sample.tokens[-1] in backend.renderer.stop_token_ids)


def test_temperature_zero_is_greedy(backend: tb.TinkerBackend) -> None:
    params = backend.sampling_params(8, 0.0)
    assert (params.top_k, params.temperature) == (1, 1.0)
    first, second = backend.sample([_prompt(), _prompt()], 3, max_tokens=8, temperature=0.0)
    assert len({tuple(s.tokens) for s in [*first, *second]}) == 1


def test_all_groups_are_sampled_concurrently(world: Any, backend: tb.TinkerBackend) -> None:
    backend.policy_sampler()
    world.latency.sample = 0.2
    start = time.monotonic()
    backend.sample([_prompt(f"What is {a} * 3?") for a in range(8)], 2, max_tokens=4, temperature=1)
    assert time.monotonic() - start < 0.2 * 3, "8 requests of 0.2 s each must overlap"


def test_one_sampler_snapshot_per_weight_version(world: Any, backend: tb.TinkerBackend) -> None:
    groups = backend.sample([_prompt()], 2, max_tokens=5, temperature=1.0)
    backend.sample([_prompt()], 2, max_tokens=5, temperature=1.0)
    assert world.calls.count("save_weights_and_get_sampling_client") == 1
    samples = groups[0]
    backend.train_step(samples, [[0.5] * len(s.tokens) for s in samples])
    backend.sample([_prompt()], 2, max_tokens=5, temperature=1.0)
    assert world.calls.count("save_weights_and_get_sampling_client") == 2


def test_train_step_submits_both_requests_and_learns(world: Any, backend: tb.TinkerBackend) -> None:
    samples = [s for g in backend.sample([_prompt()], 8, max_tokens=6, temperature=1) for s in g]
    target = samples[0]
    advantages = [[1.0 if i == 0 else -0.2] * len(s.tokens) for i, s in enumerate(samples)]
    before = backend.base_logprobs([target])[0]
    assert np.allclose(before, target.logprobs, atol=1e-5)  # untrained policy == base model

    metrics = backend.train_step(samples, advantages)

    fb = world.calls.index("forward_backward")
    assert world.calls[fb + 1] == "optim_step"
    assert metrics["optim/n_datums"] == 8
    assert metrics["optim/n_tokens"] == sum(len(s.tokens) for s in samples)
    assert abs(metrics["optim/kl_sample_train_v1"]) < 1e-5  # on-policy: trainer == sampler
    assert metrics["tinker/staleness"] == 0.0
    assert backend.weights_version == 1
    # the positively-advantaged completion became more likely under the new policy
    after = backend.policy_sampler().compute_logprobs(
        tinker.ModelInput.from_ints([*target.prompt_tokens, *target.tokens]),
        prompt_logprobs_last_n=len(target.tokens),
    )
    assert sum(after.result()[-len(target.tokens) :]) > sum(before)  # type: ignore[arg-type]
    # the KL reference stays the frozen base model
    assert np.allclose(backend.base_logprobs([target])[0], before)


def test_train_step_skips_empty_batches(backend: tb.TinkerBackend) -> None:
    empty = Sample(prompt_tokens=[1, 2], tokens=[], logprobs=[], text="")
    assert "optim/n_datums" not in backend.train_step([empty], [[]])
    assert backend.weights_version == 0


def test_pipelined_sampling_is_one_step_stale(world: Any, backend: tb.TinkerBackend) -> None:
    first = backend.sample([_prompt()], 2, max_tokens=5, temperature=1.0)[0]
    pending = backend.sample_async([_prompt()], 2, max_tokens=5, temperature=1.0)
    backend.train_step(first, [[1.0] * len(s.tokens) for s in first])
    second = pending.result()[0]
    assert pending.policy_version == 0 and backend.weights_version == 1
    metrics = backend.train_step(second, [[1.0] * len(s.tokens) for s in second])
    assert metrics["tinker/staleness"] == 1.0
    # the trainer now disagrees with the (older) sampler: importance ratios are not 1
    assert metrics["optim/kl_sample_train_v2"] > 0.0


@pytest.mark.parametrize("method", ["sample", "compute_logprobs"])
def test_transient_sampling_failures_are_retried_and_logged(
    world: Any, backend: tb.TinkerBackend, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    world.fail_next(method, ft.api_connection_error(), ft.internal_server_error())
    with caplog.at_level(logging.WARNING, logger="trainers.tinker_backend"):
        groups = backend.sample(
            [_prompt(), _prompt("What is 2 * 3?")], 2, max_tokens=4, temperature=1
        )
        backend.base_logprobs(groups[0])
    assert backend.retry.retries == 2
    assert sum("retrying" in r.message or "resubmitting" in r.message for r in caplog.records) == 2


def test_transient_training_failure_is_retried(world: Any, backend: tb.TinkerBackend) -> None:
    samples = backend.sample([_prompt()], 2, max_tokens=4, temperature=1)[0]
    world.fail_next("forward_backward", ft.internal_server_error())
    metrics = backend.train_step(samples, [[1.0] * len(s.tokens) for s in samples])
    assert metrics["tinker/retries"] == 1.0
    assert backend.weights_version == 1


def test_permanent_failures_are_not_retried(world: Any, backend: tb.TinkerBackend) -> None:
    world.fail_next("sample", ft.bad_request_error())
    with pytest.raises(tinker.BadRequestError):
        backend.sample([_prompt()], 2, max_tokens=4, temperature=1)
    assert backend.retry.retries == 0


def test_retry_gives_up_after_max_attempts(world: Any) -> None:
    slept: list[float] = []
    policy = tb.RetryPolicy(max_attempts=3, base_delay_s=1.0, jitter=0.0, sleep=slept.append)
    calls = 0

    def always_down() -> None:
        nonlocal calls
        calls += 1
        raise ft.api_connection_error()

    with pytest.raises(tinker.APIConnectionError):
        policy.run("ping", always_down)
    assert calls == 3 and slept == [1.0, 2.0]


def test_checkpoints_are_tinker_paths_and_resume_restores_optimizer(
    world: Any, backend: tb.TinkerBackend
) -> None:
    samples = backend.sample([_prompt()], 4, max_tokens=5, temperature=1)[0]
    advantages = [[0.5] * len(s.tokens) for s in samples]
    backend.train_step(samples, advantages)
    state = backend.save_state("000001")
    final = backend.save_final("final")
    parsed = tinker.ParsedCheckpointTinkerPath.from_tinker_path(state)
    assert parsed.checkpoint_type == "training" and state.endswith("/weights/000001")
    assert tinker.ParsedCheckpointTinkerPath.from_tinker_path(final).checkpoint_type == "sampler"
    saved = backend.training_client.weights.copy()

    backend.train_step(samples, advantages)  # move away from the checkpoint
    backend.load_state(state)

    restored = backend.training_client.weights
    assert restored.step == saved.step == 1  # Adam's step count (and moments) came back
    assert np.array_equal(restored.delta, saved.delta) and np.array_equal(restored.m, saved.m)
    # sampling after a resume uses the restored weights, not the stale snapshot
    again = backend.sample([_prompt()], 1, max_tokens=3, temperature=1)[0][0]
    assert again.extra["policy_version"] == backend.weights_version


def test_close_finishes_the_session(world: Any, backend: tb.TinkerBackend) -> None:
    backend.close()
    assert world.service_clients[0].closed == "success"


def test_every_sdk_call_matches_the_real_signature_and_is_not_deprecated(
    world: Any, backend: tb.TinkerBackend
) -> None:
    """The fake accepts loose arguments; the real SDK must accept exactly what was sent."""
    samples = backend.sample([_prompt()], 2, max_tokens=4, temperature=1.0)[0]
    backend.base_logprobs(samples)
    backend.train_step(samples, [[1.0] * len(s.tokens) for s in samples])
    backend.load_state(backend.save_state("000001"))
    backend.save_final("final")
    backend.close()

    seen = set()
    for cls_name, method, args, kwargs in world.api_calls:
        real = getattr(ft.REAL_CLASSES[cls_name], method)
        assert not hasattr(real, "__deprecated__"), f"{cls_name}.{method} is deprecated"
        signature = inspect.signature(real)
        bound = signature.bind(object(), *args, **kwargs)
        swallowed = [
            name
            for name, p in signature.parameters.items()
            if p.kind is p.VAR_KEYWORD and bound.arguments.get(name)
        ]
        assert not swallowed, f"{cls_name}.{method} ignores {bound.arguments[swallowed[0]]}"
        seen.add(method)
    assert {
        "__init__",
        "create_lora_training_client",
        "get_tokenizer",
        "save_weights_and_get_sampling_client",
        "sample",
        "create_sampling_client",
        "compute_logprobs",
        "forward_backward",
        "optim_step",
        "save_state",
        "create_training_client_from_state_with_optimizer",
        "save_weights_for_sampler",
        "close",
    } <= seen


# -- the fake is strict (so the tests above can fail) ---------------------------------------------


def _sampled(world: Any, backend: tb.TinkerBackend) -> Sample:
    return backend.sample([_prompt()], 1, max_tokens=5, temperature=1)[0][0]


@pytest.mark.parametrize(
    "corrupt",
    ["misaligned", "prompt_advantage", "foreign_logprobs", "never_sampled", "wrong_dtype"],
)
def test_fake_rejects_bad_datums(world: Any, backend: tb.TinkerBackend, corrupt: str) -> None:
    s = _sampled(world, backend)
    adv = [1.0] * len(s.tokens)
    full = [*s.prompt_tokens, *s.tokens]
    pad = len(s.prompt_tokens) - 1
    inputs = {
        "target_tokens": np.asarray(full[1:], dtype=np.int64),
        "logprobs": np.asarray([0.0] * pad + s.logprobs, dtype=np.float32),
        "advantages": np.asarray([0.0] * pad + adv, dtype=np.float32),
    }
    model_input = full[:-1]
    if corrupt == "misaligned":
        inputs["target_tokens"] = np.asarray(full[:-1], dtype=np.int64)
    elif corrupt == "prompt_advantage":
        inputs["advantages"][0] = 1.0
    elif corrupt == "foreign_logprobs":
        inputs["logprobs"][-1] -= 0.5
    elif corrupt == "never_sampled":
        model_input = [*full[:-2], (full[-2] + 1) % 50]
        inputs["target_tokens"] = np.asarray([*model_input[1:], full[-1]], dtype=np.int64)
    elif corrupt == "wrong_dtype":
        inputs["target_tokens"] = np.asarray(full[1:], dtype=np.float32)
    datum = tinker.Datum(
        model_input=tinker.ModelInput.from_ints(model_input),
        loss_fn_inputs={k: tinker.TensorData.from_numpy(v) for k, v in inputs.items()},
    )
    with pytest.raises(ft.ContractViolation):
        backend.training_client.forward_backward([datum], "importance_sampling")


def test_fake_rejects_wrong_loss_and_optimizer(world: Any, backend: tb.TinkerBackend) -> None:
    s = _sampled(world, backend)
    datum = tb.build_datum(s.prompt_tokens, s.tokens, s.logprobs, [1.0] * len(s.tokens))
    with pytest.raises(ft.ContractViolation, match="importance_sampling"):
        backend.training_client.forward_backward([datum], "cross_entropy")
    with pytest.raises(ft.ContractViolation, match="AdamParams"):
        backend.training_client.optim_step({"learning_rate": 1e-4})


def test_fake_reports_unresolved_futures(world: Any, backend: tb.TinkerBackend) -> None:
    sampler = backend.policy_sampler()
    leaked = sampler.sample(
        tinker.ModelInput.from_ints([1, 2]), 1, tinker.SamplingParams(max_tokens=2)
    )
    with pytest.raises(ft.ContractViolation, match="never waited on"):
        world.assert_all_futures_resolved()
    leaked.result()


# -- credentials ---------------------------------------------------------------------------------


def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    monkeypatch.delenv("TINKER_CREDENTIAL_CMD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.tinker/credentials.json


def test_missing_key_fails_before_any_other_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _no_credentials(monkeypatch, tmp_path)

    def boom(*_a: Any, **_k: Any) -> None:
        raise AssertionError("ServiceClient must not be created without a key")

    monkeypatch.setattr(tinker, "ServiceClient", boom)
    assert not tinker.auth.tinker_has_credentials()
    with pytest.raises(tb.MissingTinkerKeyError) as info:
        tb.create(_config())
    message = str(info.value)
    assert "TINKER_API_KEY" in message and "\n" not in message


def test_malformed_key_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    _no_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("TINKER_API_KEY", "sk-not-a-tinker-key")
    with pytest.raises(tb.MissingTinkerKeyError, match="tml-"):
        tb.require_tinker_key()


# -- live ----------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(
    not tinker.auth.tinker_has_credentials(), reason="needs Tinker credentials (TINKER_API_KEY)"
)
def test_live_sample_train_and_save() -> None:  # pragma: no cover - needs the service
    backend = tb.create(_config(model_name="Qwen/Qwen3-4B-Instruct-2507", learning_rate=1e-5))
    try:
        groups = backend.sample([_prompt("What is 12 * 15?")], 2, max_tokens=16, temperature=1.0)
        samples = groups[0]
        assert all(len(s.logprobs) == len(s.tokens) > 0 for s in samples)
        reference = backend.base_logprobs(samples)
        assert [len(r) for r in reference] == [len(s.tokens) for s in samples]
        metrics = backend.train_step(samples, [[0.1] * len(s.tokens) for s in samples])
        assert metrics["optim/n_datums"] == 2
        assert backend.save_final("mult-env-live-test").startswith("tinker://")
    finally:
        backend.close()


# -- what a real Tinker-API server showed (issue 11) ---------------------------------------------


def test_resume_builds_the_training_client_from_the_state(world: Any) -> None:
    first = tb.create(_config(), retry=tb.RetryPolicy(sleep=lambda _s: None))
    samples = first.sample([_prompt()], 2, max_tokens=4, temperature=1)[0]
    first.train_step(samples, [[1.0] * len(s.tokens) for s in samples])
    state = first.save_state("000001")
    saved = first.training_client.weights.copy()
    before = len(world.calls)

    resumed = tb.create(_config(), resume_from=state)
    created = [c for c in world.calls[before:] if c.startswith("create_") and "train" in c]
    # one training run for the resumed process: no fresh LoRA made only to be replaced
    assert created == ["create_training_client_from_state_with_optimizer"]
    assert resumed.training_client.weights.step == saved.step == 1
    assert np.array_equal(resumed.training_client.weights.m, saved.m)


def _sampled_tokens(seed: int | None) -> list[list[int]]:
    world = ft.FakeTinker()
    mp = pytest.MonkeyPatch()
    try:
        ft.install(mp, world)
        backend = tb.create(_config(seed=seed))
        groups = [backend.sample([_prompt()], 3, max_tokens=6, temperature=1.0)[0] for _ in "ab"]
        seeds = [
            kw["sampling_params"].seed for cls, name, _a, kw in world.api_calls if name == "sample"
        ]
        if seed is not None:
            assert seeds == [seed, seed + 1]  # every request carries a seed, one per call
        return [s.tokens for group in groups for s in group]
    finally:
        mp.undo()
        world.shutdown()


def test_seed_seeds_tinker_sampling() -> None:
    assert _sampled_tokens(3) == _sampled_tokens(3)
    assert _sampled_tokens(3) != _sampled_tokens(4)


def test_service_error_at_creation_is_one_line(world: Any) -> None:
    response = ft.httpx.Response(400, request=ft._request())
    refused = tinker.BadRequestError(
        "Error code: 400",
        response=response,
        body={"detail": "LoRA rank 16 must be\nbetween 1 and 8"},
    )
    world.fail_next("create_lora_training_client", refused)
    with pytest.raises(tb.TinkerStartupError) as raised:
        tb.create(_config(base_url="http://127.0.0.1:9"))
    message = str(raised.value)
    assert "\n" not in message
    assert (
        "http://127.0.0.1:9" in message and "400: LoRA rank 16 must be between 1 and 8" in message
    )


def test_a_tokenizer_without_a_chat_template_fails_at_creation_with_the_way_out(
    world: Any,
) -> None:
    with pytest.raises(tb.TinkerStartupError, match=r"renderer=NAME .*qwen3"):
        tb.create(_config(model_name="acme/no-rule-matches-this"))
    backend = tb.create(_config(model_name="acme/no-rule-matches-this", renderer="qwen3"))
    assert backend.renderer.name == "qwen3"


def test_kl_reference_on_a_server_without_prompt_logprobs_last_n(
    world: Any, backend: tb.TinkerBackend, caplog: pytest.LogCaptureFixture
) -> None:
    samples = backend.sample([_prompt(), _prompt("What is 2 * 3?")], 2, max_tokens=5, temperature=1)
    flat = [s for group in samples for s in group]
    expected = backend.base_logprobs(flat)  # the suffix, as a current server returns it

    world.honours_prompt_logprobs_last_n = False
    with caplog.at_level(logging.WARNING, logger="trainers.tinker_backend"):
        assert backend.base_logprobs(flat) == expected
        assert backend.base_logprobs(flat) == expected
    assert sum("prompt_logprobs_last_n" in r.message for r in caplog.records) == 1
    last_n = [
        kw["prompt_logprobs_last_n"]
        for _c, name, _a, kw in world.api_calls
        if name == "compute_logprobs"
    ]
    n = len(flat)
    # asked for the suffix, then (after the one refusal) the whole prompt
    assert last_n[:n] == [len(s.tokens) for s in flat] and last_n[-n:] == [None] * n
