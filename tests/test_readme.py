"""The README's two commands are the project's contract with a newcomer and with CI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _command(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.+?)\n```", README)
    assert match, f"README has no {marker} block"
    return match.group(1)


def test_readme_opens_with_the_two_commands() -> None:
    main, test = _command("main-command"), _command("test-command")
    assert README.index(main) < README.index(test) < README.index("##")
    for command in (main, test):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate")
        assert "pip install -q torch==2.13.0" in command  # before anything can pull CUDA torch
    assert main.endswith("python -m trainers.train")
    assert test.endswith('pytest -q -m ""')


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    extract = re.search(r"TEST_COMMAND=\$\((.+)\)\n", script)
    assert extract, ".ci/run no longer extracts the README's command"
    got = subprocess.run(
        ["bash", "-c", extract.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert got == _command("test-command")
