"""trainers.local_backend on the tiny random model: the mechanics the RL loop relies on.

Log-probs must belong to the tokens actually sampled (checked against an independent,
uncached, unpadded forward pass), special tokens must never reach the parser, the loss must
push probability in the direction of the advantage, and training must change the LoRA adapter
while the frozen reference model stays put.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Threads that sleep instead of spinning: on shared CPUs spinning made tiny ops 10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from trainers.backend import Backend, PromptSpec, Sample  # noqa: E402
from trainers.local_backend import LocalBackend  # noqa: E402
from trainers.tiny_model import build_tiny  # noqa: E402

PREFIX = "The answer is"


def _prompt(a: int, b: int) -> PromptSpec:
    return PromptSpec(({"role": "user", "content": f"What is {a} * {b}?"},), PREFIX)


PROMPTS = [_prompt(3, 7), _prompt(45, 6), _prompt(678, 9)]  # different prompt lengths


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """The tiny model is too small to gain from intra-op threads; they only add overhead."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    model, tokenizer = build_tiny(seed=0)
    return LocalBackend(
        model, tokenizer, lora_rank=4, learning_rate=1e-2, seed=0, checkpoint_dir=tmp_path
    )


def _full_forward_logprobs(backend: LocalBackend, sample: Sample) -> list[float]:
    """Reference: one unpadded, uncached forward over prompt + completion."""
    ids = torch.tensor([sample.prompt_tokens + sample.tokens], device=backend.device)
    with torch.no_grad():
        logits = backend.model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    start = len(sample.prompt_tokens)
    return [float(logp[start - 1 + t, tok]) for t, tok in enumerate(sample.tokens)]


def test_it_implements_the_backend_protocol(backend: LocalBackend) -> None:
    assert isinstance(backend, Backend)


def test_render_opens_the_assistant_turn_and_appends_the_prefix(backend: LocalBackend) -> None:
    text = backend.tokenizer.decode(backend.render(PROMPTS[0]))
    assert text.endswith("<|im_start|>assistant\nThe answer is")
    assert "What is 3 * 7?" in text


def test_sampled_logprobs_match_an_independent_forward_pass(backend: LocalBackend) -> None:
    groups = backend.sample(PROMPTS, 3, max_tokens=8, temperature=1.0)
    assert [len(g) for g in groups] == [3, 3, 3]
    for prompt, group in zip(PROMPTS, groups, strict=True):
        for s in group:
            assert s.prompt_tokens == backend.render(prompt)
            assert 1 <= len(s.tokens) == len(s.logprobs) <= 8
            ref = _full_forward_logprobs(backend, s)
            assert s.logprobs == pytest.approx(ref, abs=1e-4)
    flat = [s for g in groups for s in g]
    again = backend.policy_logprobs(flat)
    for s, lp in zip(flat, again, strict=True):
        assert lp == pytest.approx(s.logprobs, abs=1e-4)


def test_greedy_sampling_is_the_argmax_and_deterministic(backend: LocalBackend) -> None:
    a = backend.sample(PROMPTS, 2, max_tokens=6, temperature=0.0)
    b = backend.sample(PROMPTS, 1, max_tokens=6, temperature=0.0)
    for ga, gb in zip(a, b, strict=True):
        assert ga[0].tokens == ga[1].tokens == gb[0].tokens
        ids = torch.tensor([ga[0].prompt_tokens], device=backend.device)
        with torch.no_grad():
            first = backend.model(input_ids=ids).logits[0, -1].argmax().item()
        assert ga[0].tokens[0] == first


def test_special_tokens_end_a_sample_and_never_reach_the_text(backend: LocalBackend) -> None:
    # Make the stop token likely so some samples stop and others do not.
    eos = backend.tokenizer.eos_token_id
    with torch.no_grad():
        backend.model.get_base_model().lm_head.weight[eos] *= 0
        backend.model.get_base_model().lm_head.bias = None
    groups = backend.sample(PROMPTS, 8, max_tokens=5, temperature=1.5)
    special = set(backend.tokenizer.all_special_ids)
    for s in (s for g in groups for s in g):
        body = s.tokens[:-1] if s.stopped else s.tokens
        assert not special & set(body), "a special token inside the completion"
        assert s.stopped == (s.tokens[-1] in special)
        for marker in ("<|im_end|>", "<|endoftext|>", "<|im_start|>"):
            assert marker not in s.text
        assert s.text == backend.tokenizer.decode(body)


def test_loss_sign_positive_advantage_raises_the_sampled_tokens_probability(
    backend: LocalBackend,
) -> None:
    flat = [s for g in backend.sample(PROMPTS, 2, max_tokens=6, temperature=1.0) for s in g]
    up, down = flat[: len(flat) // 2], flat[len(flat) // 2 :]
    advantages = [[1.0] * len(s.tokens) for s in up] + [[-1.0] * len(s.tokens) for s in down]
    before = backend.policy_logprobs(flat)
    metrics = backend.train_step(flat, advantages)
    after = backend.policy_logprobs(flat)
    assert metrics["optim/n_tokens"] == sum(len(s.tokens) for s in flat)
    # at ratio 1 the loss is -sum(adv) over tokens
    assert metrics["optim/loss"] == pytest.approx(-sum(sum(a) for a in advantages), abs=1e-3)
    gain = [sum(a) - sum(b) for a, b in zip(after, before, strict=True)]
    assert sum(gain[: len(up)]) > 0 > sum(gain[len(up) :])


def test_training_changes_lora_weights_but_not_the_reference(backend: LocalBackend) -> None:
    flat = [s for g in backend.sample(PROMPTS, 2, max_tokens=6, temperature=1.0) for s in g]
    lora = {n: p.detach().clone() for n, p in backend.model.named_parameters() if "lora_" in n}
    frozen = {
        n: p.detach().clone() for n, p in backend.model.named_parameters() if "lora_" not in n
    }
    assert lora and frozen
    ref_before = backend.base_logprobs(flat)
    # LoRA's B matrix starts at zero: the reference equals the policy before any update.
    for s, lp in zip(flat, ref_before, strict=True):
        assert lp == pytest.approx(s.logprobs, abs=1e-4)
    backend.train_step(flat, [[0.5] * len(s.tokens) for s in flat])
    params = dict(backend.model.named_parameters())
    assert any(not torch.equal(params[n], v) for n, v in lora.items())
    assert all(torch.equal(params[n], v) for n, v in frozen.items())
    assert backend.base_logprobs(flat) == ref_before
    assert backend.policy_logprobs(flat) != ref_before


def test_state_round_trip_restores_weights_optimizer_and_sampling(
    backend: LocalBackend, tmp_path: Path
) -> None:
    flat = [s for g in backend.sample(PROMPTS, 2, max_tokens=6, temperature=1.0) for s in g]
    backend.train_step(flat, [[0.5] * len(s.tokens) for s in flat])
    path = backend.save_state("000001")
    assert Path(path).exists()
    expected_lp = backend.policy_logprobs(flat)
    expected_samples = backend.sample(PROMPTS, 2, max_tokens=6, temperature=1.0)

    model, tokenizer = build_tiny(seed=0)
    fresh = LocalBackend(model, tokenizer, lora_rank=4, learning_rate=1e-2, seed=0)
    fresh.load_state(path)
    for got_lp, want_lp in zip(fresh.policy_logprobs(flat), expected_lp, strict=True):
        assert got_lp == pytest.approx(want_lp, abs=1e-6)
    got = fresh.sample(PROMPTS, 2, max_tokens=6, temperature=1.0)
    assert [[s.tokens for s in g] for g in got] == [[s.tokens for s in g] for g in expected_samples]
    final = Path(backend.save_final("final"))
    assert (final / "adapter_config.json").exists()


def test_train_step_rejects_misaligned_advantages(backend: LocalBackend) -> None:
    flat = [s for g in backend.sample(PROMPTS[:1], 1, max_tokens=4, temperature=1.0) for s in g]
    with pytest.raises(ValueError, match="one value per sampled token"):
        backend.train_step(flat, [[1.0] * (len(flat[0].tokens) + 1)])
    with pytest.raises(ValueError, match="one advantage list per sample"):
        backend.train_step(flat, [])


# ---------------------------------------------------------------------------- equal to the plain
# The backend's speed-ups (shared prompt cache, finished rows leaving the batch, logits kept only
# where needed) must not change what it computes beyond float noise. These tests hold it to a
# plain implementation of the same algorithm: every row run from scratch, nothing cached.


def _plain_sample(
    backend: LocalBackend, prompts: list[PromptSpec], num_samples: int, max_tokens: int, seed: int
) -> tuple[list[list[int]], list[list[float]]]:
    """Sampling without a cache or padding; every row drawn every step, as the backend does."""
    generator = torch.Generator().manual_seed(seed)
    rows = [backend.render(p) for p in prompts for _ in range(num_samples)]
    tokens: list[list[int]] = [[] for _ in rows]
    logps: list[list[float]] = [[] for _ in rows]
    done = [False] * len(rows)
    logits = torch.zeros(len(rows), backend.model.config.vocab_size)
    for _ in range(max_tokens):
        for i, row in enumerate(rows):
            if not done[i]:
                ids = torch.tensor([row + tokens[i]], device=backend.device)
                with torch.no_grad():
                    logits[i] = backend.model(input_ids=ids).logits[0, -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        nxt = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1).tolist()
        for i, tok in enumerate(nxt):
            if not done[i]:
                tokens[i].append(tok)
                logps[i].append(float(logp[i, tok]))
                done[i] = tok in backend.stop_ids
        if all(done):
            break
    return tokens, logps


def test_sampling_equals_a_plain_uncached_sampler(backend: LocalBackend) -> None:
    eos = backend.tokenizer.eos_token_id
    with torch.no_grad():  # a likely stop token: rows finish at different steps
        backend.model.get_base_model().lm_head.weight[eos] *= 0
    backend.generator.manual_seed(7)
    groups = backend.sample(PROMPTS, 4, max_tokens=8, temperature=1.0)
    want_tokens, want_logps = _plain_sample(backend, PROMPTS, 4, 8, seed=7)
    flat = [s for g in groups for s in g]
    assert [s.tokens for s in flat] == want_tokens
    for s, lp in zip(flat, want_logps, strict=True):
        assert s.logprobs == pytest.approx(lp, abs=1e-5)
    lengths = {len(s.tokens) for s in flat}
    assert min(lengths) < max(lengths)  # rows really left the batch early


def test_the_update_equals_a_plain_per_sample_update(tmp_path: Path) -> None:
    def fresh() -> LocalBackend:
        model, tokenizer = build_tiny(seed=0)
        return LocalBackend(
            model, tokenizer, lora_rank=4, learning_rate=1e-2, seed=0, checkpoint_dir=tmp_path
        )

    ours, plain = fresh(), fresh()
    flat = [s for g in ours.sample(PROMPTS, 3, max_tokens=6, temperature=1.0) for s in g]
    advantages = [
        [0.3 * ((i % 3) - 1) + 0.01 * t for t in range(len(s.tokens))] for i, s in enumerate(flat)
    ]
    for _ in range(2):  # the second step has ratios != 1
        metrics = ours.train_step(flat, advantages)
        plain.optimizer.zero_grad(set_to_none=True)
        loss = torch.zeros(())
        for s, adv in zip(flat, advantages, strict=True):
            ids = torch.tensor([s.prompt_tokens + s.tokens])
            logits = plain.model(input_ids=ids).logits[0].float()
            start = len(s.prompt_tokens)
            logp = torch.log_softmax(logits[start - 1 : start - 1 + len(s.tokens)], dim=-1)
            logp = logp.gather(-1, torch.tensor(s.tokens)[:, None]).squeeze(-1)
            ratio = torch.exp(logp - torch.tensor(s.logprobs))
            loss = loss - (ratio * torch.tensor(adv)).sum()
        loss.backward()
        plain.optimizer.step()
        assert metrics["optim/loss"] == pytest.approx(loss.item(), abs=1e-4)
        got = dict(ours.model.named_parameters())
        for name, p in plain.model.named_parameters():
            if p.requires_grad:
                torch.testing.assert_close(got[name], p, atol=1e-6, rtol=1e-5)
    for lp, want in zip(ours.policy_logprobs(flat), plain.policy_logprobs(flat), strict=True):
        assert lp == pytest.approx(want, abs=1e-5)
