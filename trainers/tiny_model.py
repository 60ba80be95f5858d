"""A tiny, randomly initialised causal LM and tokenizer, built offline in milliseconds.

Why: the unit tests of the RL mechanics (log-prob alignment, loss sign, LoRA updates, resume
after a kill) need a real ``transformers`` model with a real tokenizer and chat template, but
must not download weights or take more than a few seconds. A 2-layer Qwen3 with hidden size 64
and a byte-level tokenizer (256 byte symbols plus the ChatML special tokens) is enough: it is
lossless on any text, so rendering and decoding behave exactly as with a real model; it just
answers nonsense.

Use it from the trainer with ``model_name=tiny`` (see :func:`trainers.local_backend.create`).
"""

from __future__ import annotations

from typing import Any

TINY_MODEL_NAME = "tiny"
"""The ``model_name`` that selects this model in the local backend."""

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
"""ChatML special tokens; ``<|endoftext|>`` doubles as padding, ``<|im_end|>`` ends a turn."""

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Qwen/ChatML chat template (no default system prompt)."""


def build_tiny_tokenizer() -> Any:
    """A byte-level tokenizer: one token per byte, plus the ChatML special tokens.

    Built from scratch with the ``tokenizers`` library (no files, no network) and wrapped in
    the ``transformers`` fast-tokenizer class so it has ``apply_chat_template``, ``decode`` and
    the usual special-token attributes.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for sym in sorted(alphabet):
        vocab[sym] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    hf.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    hf.chat_template = CHAT_TEMPLATE
    return hf


def build_tiny_model(seed: int = 0, *, vocab_size: int | None = None) -> Any:
    """A randomly initialised 2-layer Qwen3 causal LM (~90k parameters), deterministic in ``seed``.

    The same seed always gives the same weights, so a resumed run rebuilds the same base model.
    """
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    if vocab_size is None:
        vocab_size = len(SPECIAL_TOKENS) + 256
    config = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    model.eval()
    return model


def build_tiny(seed: int = 0) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for the tiny model."""
    tokenizer = build_tiny_tokenizer()
    return build_tiny_model(seed, vocab_size=len(tokenizer)), tokenizer
