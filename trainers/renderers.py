"""Chat renderers: chat messages + assistant prefix -> prompt tokens, and sampled tokens -> text.

A hosted sampler (Tinker) takes token ids, not chat messages, so the trainer has to apply the
model's chat template itself, exactly as the model saw it in instruction tuning, and has to know
which token ends the assistant turn (the stop token). This module owns those model-specific facts
so the backend stays model-agnostic:

* :meth:`Renderer.build_prompt` renders the conversation, opens the assistant turn and appends
  the assistant prefix (e.g. ``"The answer is"``), returning token ids;
* :attr:`Renderer.stop_token_ids` is what the sampler stops on;
* :meth:`Renderer.decode_completion` turns sampled tokens back into the assistant text the
  parsers see: the stop token and any other special token removed.

Built-in formats:

``qwen3``
    Qwen3-Instruct-2507 (and any ChatML model, e.g. SmolLM2-Instruct):
    ``<|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n``; stop on ``<|im_end|>``.
    No ``<think>`` block: the 2507 Instruct models do not think.
``qwen3_disable_thinking``
    The hybrid-thinking Qwen3 models (Qwen3-8B, Qwen3-32B, Qwen3-30B-A3B) with thinking turned
    off the way their chat template does it: an empty ``<think>\\n\\n</think>\\n\\n`` block
    pre-filled in the assistant turn.
``llama3``
    Llama-3.x Instruct: ``<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n...
    <|eot_id|>``; stop on ``<|eot_id|>``.
``hf_chat_template``
    Any other model: the tokenizer's own Jinja chat template
    (``apply_chat_template(add_generation_prompt=True)``), stopping on its EOS token.

The tokenizer is anything that behaves like a Hugging Face tokenizer (``encode``, ``decode``,
``convert_tokens_to_ids``): the one returned by ``TrainingClient.get_tokenizer()``, or
:func:`load_tokenizer` for a model name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

__all__ = [
    "RENDERERS",
    "ChatMLRenderer",
    "HFChatTemplateRenderer",
    "Llama3Renderer",
    "Renderer",
    "Tokenizer",
    "answer_token_budget",
    "get_renderer",
    "load_tokenizer",
    "renderer_name_for_model",
]

Message = dict[str, str]


Tokenizer: TypeAlias = Any
"""A Hugging Face tokenizer, or anything with the same ``encode(text, add_special_tokens=...)``,
``decode(ids, skip_special_tokens=...)`` and ``convert_tokens_to_ids(token)`` methods (the
transformers type is too broad to state as a Protocol usefully)."""


class Renderer(Protocol):
    """Model-specific chat formatting on token ids."""

    name: str
    tokenizer: Tokenizer

    @property
    def stop_token_ids(self) -> list[int]:
        """Token ids that end the assistant turn (passed to the sampler as stop sequences)."""
        ...

    def build_prompt(self, messages: Sequence[Message], assistant_prefix: str = "") -> list[int]:
        """Render ``messages``, open the assistant turn, append ``assistant_prefix``."""
        ...

    def decode_completion(self, tokens: Sequence[int]) -> tuple[str, bool]:
        """Return ``(assistant text without special tokens, ended on a stop token)``."""
        ...


def _special_id(tokenizer: Tokenizer, token: str) -> int:
    """Id of a special token that must be a single token in ``tokenizer`` (clear error if not)."""
    token_id = tokenizer.convert_tokens_to_ids(token)
    unk = getattr(tokenizer, "unk_token_id", None)
    if token_id is None or (unk is not None and token_id == unk):
        raise ValueError(
            f"tokenizer {type(tokenizer).__name__} has no special token {token!r}: "
            "wrong renderer for this model?"
        )
    return int(token_id)


def _check_role(message: Message) -> tuple[str, str]:
    role, content = message.get("role"), message.get("content")
    if role not in ("system", "user", "assistant") or not isinstance(content, str):
        raise ValueError(f"bad chat message {message!r}: need role system/user/assistant + content")
    return role, content


@dataclass
class _TokenRenderer:
    """Shared logic: render to a string with literal special tokens, encode once, decode."""

    tokenizer: Tokenizer
    name: str = "base"
    stop_tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._stop_ids = [_special_id(self.tokenizer, t) for t in self.stop_tokens]

    @property
    def stop_token_ids(self) -> list[int]:
        return list(self._stop_ids)

    def render_text(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        raise NotImplementedError

    def build_prompt(self, messages: Sequence[Message], assistant_prefix: str = "") -> list[int]:
        if not messages:
            raise ValueError("cannot render an empty conversation")
        text = self.render_text(messages, assistant_prefix)
        return [int(t) for t in self.tokenizer.encode(text, add_special_tokens=False)]

    def decode_completion(self, tokens: Sequence[int]) -> tuple[str, bool]:
        ids = list(tokens)
        stopped = bool(ids) and ids[-1] in self._stop_ids
        if stopped:
            ids = ids[:-1]
        # Anything after an (unexpected) inner stop token is not part of the answer either.
        for i, token in enumerate(ids):
            if token in self._stop_ids:
                ids, stopped = ids[:i], True
                break
        return str(self.tokenizer.decode(ids, skip_special_tokens=True)), stopped


@dataclass
class ChatMLRenderer(_TokenRenderer):
    """Qwen3-Instruct / ChatML: ``<|im_start|>role\\ncontent<|im_end|>\\n``; stop on ``<|im_end|>``.

    ``think_prefill`` is put right after the assistant header (``qwen3_disable_thinking`` uses
    the empty think block of Qwen3's ``enable_thinking=False``).
    """

    name: str = "qwen3"
    stop_tokens: tuple[str, ...] = ("<|im_end|>",)
    think_prefill: str = ""

    def render_text(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        parts = []
        for message in messages:
            role, content = _check_role(message)
            parts.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
        parts.append(f"<|im_start|>assistant\n{self.think_prefill}{assistant_prefix}")
        return "".join(parts)


@dataclass
class Llama3Renderer(_TokenRenderer):
    """Llama-3.x Instruct headers; stop on ``<|eot_id|>`` (``<|eom_id|>`` too, for tool turns)."""

    name: str = "llama3"
    stop_tokens: tuple[str, ...] = ("<|eot_id|>",)

    def render_text(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        parts = ["<|begin_of_text|>"]
        for message in messages:
            role, content = _check_role(message)
            parts.append(f"<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>")
        parts.append(f"<|start_header_id|>assistant<|end_header_id|>\n\n{assistant_prefix}")
        return "".join(parts)


@dataclass
class HFChatTemplateRenderer(_TokenRenderer):
    """Fallback for any model: the tokenizer's own chat template; stop on its EOS token."""

    name: str = "hf_chat_template"

    def __post_init__(self) -> None:
        eos = getattr(self.tokenizer, "eos_token", None)
        if not eos:
            raise ValueError("hf_chat_template renderer needs a tokenizer with an eos_token")
        if not getattr(self.tokenizer, "chat_template", None):
            # Fail when the renderer is chosen, before any sampling, with the way out.
            others = sorted(set(RENDERERS) - {"hf_chat_template"})
            raise ValueError(
                "the model's tokenizer has no chat template, so the hf_chat_template renderer "
                f"cannot render prompts: choose one with renderer=NAME ({', '.join(others)})"
            )
        self.stop_tokens = (eos,)
        super().__post_init__()

    def render_text(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        apply: Callable[..., Any] | None = getattr(self.tokenizer, "apply_chat_template", None)
        if apply is None:
            raise ValueError("hf_chat_template renderer needs a tokenizer with a chat template")
        for message in messages:
            _check_role(message)
        text = apply(list(messages), tokenize=False, add_generation_prompt=True)
        return str(text) + assistant_prefix


RENDERERS: dict[str, Callable[[Tokenizer], Renderer]] = {
    "qwen3": lambda tok: ChatMLRenderer(tok),
    "chatml": lambda tok: ChatMLRenderer(tok, name="chatml"),
    "qwen3_disable_thinking": lambda tok: ChatMLRenderer(
        tok, name="qwen3_disable_thinking", think_prefill="<think>\n\n</think>\n\n"
    ),
    "llama3": lambda tok: Llama3Renderer(tok),
    "hf_chat_template": lambda tok: HFChatTemplateRenderer(tok),
}
"""Renderer factories by name."""


def renderer_name_for_model(model_name: str) -> str:
    """Default renderer for a model name (the Tinker catalogue's names and their HF twins).

    Qwen3 ``-Instruct-2507`` models and other ChatML instruct models use ``qwen3``; the hybrid
    thinking Qwen3 models get thinking disabled (a 3-digit product needs no chain of thought and
    the log's baselines sample a short answer); Llama-3 uses ``llama3``; anything else falls back
    to the tokenizer's own chat template.
    """
    lower = model_name.lower()
    base = lower.rsplit("/", 1)[-1]
    if "qwen3" in lower:
        if "instruct" in base or base.endswith("-base"):
            return "qwen3"
        return "qwen3_disable_thinking"
    if "llama-3" in lower or "llama3" in lower:
        return "llama3"
    if "smollm" in lower or "qwen2" in lower:
        return "chatml"
    return "hf_chat_template"


def get_renderer(name: str | None, tokenizer: Tokenizer, model_name: str = "") -> Renderer:
    """Build the renderer ``name`` (or the default for ``model_name`` when ``name`` is None)."""
    chosen = name or renderer_name_for_model(model_name)
    try:
        factory = RENDERERS[chosen]
    except KeyError:
        raise ValueError(f"unknown renderer {chosen!r}; known: {sorted(RENDERERS)}") from None
    return factory(tokenizer)


def load_tokenizer(model_name: str) -> Tokenizer:
    """Hugging Face tokenizer for ``model_name`` (downloads on first use; cached afterwards).

    Prefer ``TrainingClient.get_tokenizer()`` when a Tinker client exists: it knows the exact
    tokenizer the service uses for that model.
    """
    from transformers import AutoTokenizer

    tokenizer: Tokenizer = AutoTokenizer.from_pretrained(model_name)
    return tokenizer


def answer_token_budget(
    renderer: Renderer, digits_a: int, digits_b: int, *, margin: int = 8
) -> int:
    """A ``max_tokens`` that fits the longest well-formed answer of a difficulty, plus slack.

    The longest answer is the largest product written with thousands separators after the
    log's ``"The answer is"`` wording, ending in a period and the stop token. The assistant prefix
    is part of the prompt, so it only ever shortens the answer; ``margin`` leaves room for
    whitespace variants without letting a rambling completion run long.
    """
    if digits_a < 1 or digits_b < 1:
        raise ValueError("digit counts must be positive")
    largest = (10**digits_a - 1) * (10**digits_b - 1)
    text = f"The answer is {largest:,}."
    n_tokens = len(renderer.tokenizer.encode(text, add_special_tokens=False))
    return n_tokens + 1 + margin
