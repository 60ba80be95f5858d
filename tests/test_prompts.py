from __future__ import annotations

from mult_env.parsers import AnswerParser
from mult_env.problems import Problem
from mult_env.prompts import (
    FEW_SHOT_EXAMPLES,
    PromptStyle,
    build_messages,
    render_text,
    transcript,
)


def test_few_shot_prefix_is_the_logs() -> None:
    assert [(p.a, p.b, p.answer) for p in FEW_SHOT_EXAMPLES] == [
        (12, 15, 180),
        (34, 27, 918),
        (847, 293, 248171),
    ]


def test_messages_with_few_shot_end_with_the_question() -> None:
    messages = build_messages(Problem(123, 456))
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3 + ["user"]
    assert "123 * 456" in messages[-1]["content"]
    assert "The answer is" in messages[-1]["content"]  # the instruction states the format
    # Few-shot answers are themselves in the accepted format.
    for m in messages[1:6:2]:
        assert AnswerParser()(m["content"]).well_formed


def test_few_shot_off_and_system_prompt() -> None:
    messages = build_messages(Problem(1, 2), PromptStyle(few_shot=False, system_prompt="Be exact."))
    assert messages == [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": messages[1]["content"]},
    ]


def test_plain_text_ends_with_open_assistant_turn() -> None:
    text = render_text(Problem(5, 7), PromptStyle(few_shot=False, assistant_prefix="The answer is"))
    assert text.splitlines()[-1] == "Assistant: The answer is"
    assert render_text(Problem(5, 7), PromptStyle(few_shot=False)).endswith("\nAssistant:")


def test_transcript_of_the_messages_is_the_plain_text() -> None:
    for style in (PromptStyle(), PromptStyle(few_shot=False, assistant_prefix="The answer is ")):
        problem = Problem(847, 293)
        text = transcript(build_messages(problem, style), style.assistant_prefix)
        assert text == render_text(problem, style)
