"""The user docs' Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
CORE_PAGES = ["quickstart.md", "concepts.md", "reference.md"]


@pytest.mark.parametrize("page", CORE_PAGES)
def test_python_examples_run(page: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {"__name__": f"docs.{page}"}
    for block in blocks:
        exec(compile(block, f"docs/{page}", "exec"), namespace)
    vec = namespace.get("envs")
    if vec is not None:
        vec.close()  # type: ignore[attr-defined]
