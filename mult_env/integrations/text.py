"""The one rule every adapter applies to a model's reply before it is scored.

Trainers hand a reply over in different shapes: a string (TRL's standard format, verifiers'
``trace.last_reply``), a chat message (tinker-cookbook's ``renderer.parse_response``), a list of
chat messages whose last assistant message is the reply (TRL's conversational completions,
verifiers 0.3's legacy rollouts), or a message whose content is a list of parts (reasoning
renderers, multimodal chat formats). Every adapter turns that into the text the parser reads
with the functions here, so the same input gets the same answer everywhere:

* a ``str`` is the text;
* a message (a ``dict``) without content, or with content ``None`` (a pure tool call, an
  empty turn), is the empty reply ``""``, which the parser rejects: it earns the format
  penalty like any other malformed reply;
* content that is a list of parts gives the ``text`` of its ``{"type": "text"}`` parts,
  joined; other parts (``thinking``, images, ...) are not the answer and are skipped;
* anything else -- ``bytes``, numbers, a part that is not a dict or a text part whose ``text``
  is not a ``str`` -- is a caller's bug, not a model's reply, and raises ``TypeError`` naming
  what was found. It is never silently scored: a reward computed from ``str(b"...")`` or from
  nothing would train on the adapter's mistake.

Bytes are refused rather than decoded because only the caller knows their encoding; decode
them (``tokenizer.decode``, ``bytes.decode("utf-8", errors="replace")``) first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["completion_text", "content_text", "message_text"]


def _kind(value: object) -> str:
    return type(value).__name__


def content_text(content: object) -> str:
    """The text of a message's ``content``: a ``str``, ``None`` or a list of parts.

    Raises ``TypeError`` for anything else (see the module docstring for the rule).
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        texts = []
        for part in content:
            if not isinstance(part, Mapping):
                raise TypeError(f"a content part must be a dict, not {_kind(part)}")
            if part.get("type") == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise TypeError(
                        f"a text content part's 'text' must be a str, not {_kind(text)}"
                    )
                texts.append(text)
        return "".join(texts)
    hint = " (decode bytes to str before scoring)" if isinstance(content, bytes | bytearray) else ""
    raise TypeError(
        f"message content must be a str, None or a list of content parts, not {_kind(content)}"
        + hint
    )


def message_text(message: object) -> str:
    """The text of one chat message: :func:`content_text` of its ``content`` (missing is ``""``)."""
    if not isinstance(message, Mapping):
        raise TypeError(f"a chat message must be a dict, not {_kind(message)}")
    return content_text(message.get("content"))


def completion_text(completion: str | Sequence[Mapping[str, Any]]) -> str:
    """The text to score from one completion: a string, or a list of chat messages.

    A plain completion is returned as is. A conversational completion (a list of message
    dicts, e.g. ``[{"role": "assistant", "content": "The answer is 180."}]``) gives the
    :func:`message_text` of its *last* assistant message: in a multi-turn (tool-calling)
    rollout that is the final answer. No assistant message gives ``""``, which the parser
    scores as malformed. Anything else (``bytes``, ``None``, a list of strings) raises
    ``TypeError``.
    """
    if isinstance(completion, str):
        return completion
    if not isinstance(completion, list | tuple):
        hint = " (decode it to str first)" if isinstance(completion, bytes | bytearray) else ""
        raise TypeError(
            f"a completion must be a str or a list of message dicts, not {_kind(completion)}{hint}"
        )
    for message in reversed(completion):
        if not isinstance(message, Mapping):
            raise TypeError(
                "a conversational completion is a list of message dicts; "
                f"it holds a {_kind(message)}"
            )
        if message.get("role") == "assistant":
            return message_text(message)
    return ""
