"""The one rule for turning a model's reply into the text that is scored (every adapter's)."""

from __future__ import annotations

import pytest

from mult_env.integrations.text import content_text, message_text


def test_text_none_and_parts() -> None:
    assert content_text("The answer is 6.") == "The answer is 6."
    assert content_text(None) == ""
    parts = [
        {"type": "thinking", "thinking": "2*3"},
        {"type": "text", "text": "The answer"},
        {"type": "image"},
        {"type": "text", "text": " is 6."},
    ]
    assert content_text(parts) == "The answer is 6."
    assert content_text(tuple(parts)) == "The answer is 6."
    assert content_text([]) == ""


def test_a_message_without_content_is_the_empty_reply() -> None:
    assert message_text({"role": "assistant"}) == ""
    assert message_text({"role": "assistant", "content": None, "tool_calls": [{}]}) == ""
    assert message_text({"role": "assistant", "content": "6"}) == "6"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"6", "not bytes .decode bytes to str"),
        (bytearray(b"6"), "not bytearray"),
        (6, "not int"),
        ({"type": "text", "text": "6"}, "not dict"),
        (["6"], "a content part must be a dict, not str"),
        ([{"type": "text", "text": b"6"}], "'text' must be a str, not bytes"),
        ([{"type": "text"}], "'text' must be a str, not NoneType"),
    ],
)
def test_what_is_not_text_is_a_type_error(content: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        content_text(content)
    with pytest.raises(TypeError, match=match):
        message_text({"role": "assistant", "content": content})


def test_a_message_must_be_a_dict() -> None:
    with pytest.raises(TypeError, match="a chat message must be a dict, not str"):
        message_text("6")
