"""docs/testing.md runs as written: every Python block, in order, in one namespace.

The blocks assert what the prose claims (the worked example's reward fails with the named
families, the fixed one passes, the report records options), so a change to the checks that
made the page wrong fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from mult_env.testing import FAMILIES, PARSER_PROPERTIES, REWARD_PROPERTIES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


@pytest.fixture
def fewer_examples() -> Iterator[None]:
    """The page's checks use the profile's default; a few examples keep this test fast."""
    previous = settings.default
    settings.register_profile("docs-testing", parent=previous, max_examples=5)
    settings.load_profile("docs-testing")
    yield
    settings.register_profile("docs-testing-restore", parent=previous)
    settings.load_profile("docs-testing-restore")


@pytest.mark.usefixtures("fewer_examples")
def test_python_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "docs.testing"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "[near_misses/times_ten] reward 1 for " in out  # the worked example's failure
    assert "check_reward(docs.testing.digit_credit_fixed, parser=" in out and "PASSED" in out


def test_page_documents_every_family_and_property() -> None:
    text = PAGE.read_text()
    for name in [*FAMILIES, *REWARD_PROPERTIES, *PARSER_PROPERTIES]:
        assert f"| `{name}` |" in text, name
