"""Rendering problems as chat messages or plain text.

The instruction states the answer format the default parser accepts ("The answer is N."), and
the few-shot prefix of the research log (12x15=180, 34x27=918, 847x293=248171) is given as prior
conversation turns, so the model sees the format used three times before it answers.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from mult_env.problems import Problem

__all__ = [
    "FEW_SHOT_EXAMPLES",
    "INSTRUCTION",
    "Message",
    "PromptStyle",
    "build_messages",
    "render_text",
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


class _Template:
    """Everything of a style's prompt that does not depend on the problem, computed once.

    ``render_text`` and ``build_messages`` of a problem are ``head + question + tail`` and
    ``prior`` (copied) plus the question message; :meth:`render` gives both, formatting the
    question once, from the instruction's literal parts when it is the plain ``{a}``/``{b}``
    template (``format`` of an int with no spec is ``str``). Used by the environment's
    ``reset``; equal to the public functions (tested), and rebuilt if ``INSTRUCTION`` or
    ``FEW_SHOT_EXAMPLES`` is replaced, which the public functions read at every call.
    """

    __slots__ = ("few_shot_examples", "head", "instruction", "parts", "prior", "style", "tail")

    def __init__(self, style: PromptStyle) -> None:
        self.style = style
        self._build()

    def _build(self) -> None:
        style = self.style
        self.instruction, self.few_shot_examples = INSTRUCTION, FEW_SHOT_EXAMPLES
        messages = build_messages(Problem(0, 0), style)
        self.prior: tuple[Message, ...] = tuple(messages[:-1])
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in self.prior]
        self.head = "\n".join([*lines, "User: "]) if lines else "User: "
        self.tail = "\n" + f"Assistant: {style.assistant_prefix}".rstrip(" ")
        fields = list(string.Formatter().parse(INSTRUCTION))
        plain = len(fields) == 3 and [f[1:] for f in fields] == [
            ("a", "", None),
            ("b", "", None),
            (None, None, None),
        ]
        self.parts = (fields[0][0], fields[1][0], fields[2][0]) if plain else None

    def render(self, problem: Problem) -> tuple[str, list[Message]]:
        """``(render_text(problem, style), build_messages(problem, style))``."""
        if self.instruction is not INSTRUCTION or self.few_shot_examples is not FEW_SHOT_EXAMPLES:
            self._build()
        parts = self.parts
        if parts is None:
            question = _question(problem)
        else:
            question = f"{parts[0]}{problem.a}{parts[1]}{problem.b}{parts[2]}"
        messages = list(map(dict.copy, self.prior))
        messages.append({"role": "user", "content": question})
        return self.head + question + self.tail, messages


def render_text(problem: Problem, style: PromptStyle = PromptStyle()) -> str:
    """A plain-text transcript of :func:`build_messages`, ending with the open assistant turn.

    For models without a chat template and for Gymnasium observations::

        User: What is 12 * 15? ...
        Assistant: The answer is 180.
        User: What is 847 * 293? ...
        Assistant:
    """
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in build_messages(problem, style)]
    lines.append(f"Assistant: {style.assistant_prefix}".rstrip(" "))
    return "\n".join(lines)
