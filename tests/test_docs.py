"""The user docs' Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_PAGES = ["README.md", "docs/quickstart.md", "docs/concepts.md", "docs/reference.md"]


@pytest.mark.parametrize("page", CORE_PAGES)
def test_python_examples_run(page: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {"__name__": f"docs.{page}"}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)
    vec = namespace.get("envs")
    if vec is not None:
        vec.close()  # type: ignore[attr-defined]
