"""Guards the public API: what ``import mult_env`` exposes, and what it must not import."""

from __future__ import annotations

import subprocess
import sys

import mult_env


def test_all_names_resolve() -> None:
    for name in mult_env.__all__:
        assert hasattr(mult_env, name), name


def test_import_is_light() -> None:
    """The core must not pull in trainers, torch, tinker, hypothesis or other integrations."""
    code = (
        "import sys, mult_env; "
        "heavy = {'torch', 'tinker', 'transformers', 'trl', 'hypothesis', 'trainers', 'datasets'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
