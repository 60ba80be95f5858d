"""Lint, format and type checks are part of the suite, so CI enforces them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> None:
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (mult-env[dev])")
def test_ruff_lint_and_format() -> None:
    _run("ruff", "check", ".")
    _run("ruff", "format", "--check", ".")


@pytest.mark.slow
def test_mypy_strict_on_the_library() -> None:
    pytest.importorskip("mypy")
    _run(sys.executable, "-m", "mypy")  # files and strictness from pyproject.toml


def test_nothing_outside_tests_imports_tests() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("mult_env", "mult_env_v1", "trainers", "benchmarks")
        for path in (ROOT / top).rglob("*.py")
        if re.search(r"^\s*(from|import) tests\b", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []
