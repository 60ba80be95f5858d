"""Rendering problems as chat messages or plain text.

The instruction states the answer format the default parser accepts ("The answer is N."), and
the few-shot prefix of the research log (12x15=180, 34x27=918, 847x293=248171) is given as prior
conversation turns, so the model sees the format used three times before it answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from mult_env.problems import Problem

__all__ = [
    "FEW_SHOT_EXAMPLES",
    "INSTRUCTION",
    "Message",
    "PromptStyle",
    "build_messages",
    "render_text",
    "transcript",
]

Message = dict[str, str]

INSTRUCTION = (
    "What is {a} * {b}? Reply with only the final answer, in the form "
    '"The answer is N." where N is the exact product.'
)
"""The question template; ``{a}`` and ``{b}`` are the operands."""

FEW_SHOT_EXAMPLES: tuple[Problem, ...] = (Problem(12, 15), Problem(34, 27), Problem(847, 293))
"""The log's few-shot prefix: 12x15=180, 34x27=918, 847x293=248171."""


@dataclass(frozen=True)
class PromptStyle:
    """How a problem is presented to the model."""

    few_shot: bool = True
    """Prepend the log's three worked examples as prior user/assistant turns."""
    system_prompt: str | None = None
    """Optional system message placed first."""
    assistant_prefix: str = ""
    """Text the assistant turn starts with (e.g. ``"The answer is"``). Trainers pre-fill it and
    the model continues; scorers parse ``assistant_prefix + completion``."""


def _question(problem: Problem) -> str:
    return INSTRUCTION.format(a=problem.a, b=problem.b)


def _answer(problem: Problem) -> str:
    return f"The answer is {problem.answer}."


def build_messages(problem: Problem, style: PromptStyle = PromptStyle()) -> list[Message]:
    """Chat messages for ``problem``, ending with the user's question.

    The assistant prefix is not included: it belongs to the (open) assistant turn that a
    chat template renders after these messages.
    """
    messages: list[Message] = []
    if style.system_prompt:
        messages.append({"role": "system", "content": style.system_prompt})
    if style.few_shot:
        for example in FEW_SHOT_EXAMPLES:
            messages.append({"role": "user", "content": _question(example)})
            messages.append({"role": "assistant", "content": _answer(example)})
    messages.append({"role": "user", "content": _question(problem)})
    return messages


def render_text(problem: Problem, style: PromptStyle = PromptStyle()) -> str:
    """A plain-text transcript of :func:`build_messages`, ending with the open assistant turn.

    For models without a chat template and for Gymnasium observations::

        User: What is 12 * 15? ...
        Assistant: The answer is 180.
        User: What is 847 * 293? ...
        Assistant:
    """
    return transcript(build_messages(problem, style), style.assistant_prefix)


def transcript(messages: list[Message], assistant_prefix: str = "") -> str:
    """Chat messages as ``Role: content`` lines, then the open assistant turn (pre-filled with
    ``assistant_prefix``): the text :func:`render_text` gives for the messages of a problem."""
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    lines.append(f"Assistant: {assistant_prefix}".rstrip(" "))
    return "\n".join(lines)
