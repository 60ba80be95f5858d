"""docs/tinker.md stays true: its commands use only flags and config keys that exist."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import re
import shlex
from pathlib import Path

import pytest

from trainers.config import TrainConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "tinker.md"


def _commands(module: str) -> list[list[str]]:
    """Every shell command in the page's code blocks that runs ``python -m <module>``."""
    commands = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)```", DOC.read_text(), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].removeprefix("$ ").strip()
            if f"python -m {module}" in line:
                words = shlex.split(line)
                commands.append(words[words.index(module) + 1 :])
    return commands


def test_training_commands_use_real_config_keys() -> None:
    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    commands = _commands("trainers.train")
    assert commands, "the page shows how to train"
    for args in commands:
        for arg in args:
            if arg != "...":
                key = arg.split("=", 1)[0]
                assert key in keys, f"docs/tinker.md uses unknown config key {key!r}"


@pytest.mark.parametrize("module", ["benchmarks.baselines", "benchmarks.pipeline"])
def test_benchmark_commands_parse(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = importlib.import_module(module)
    parsed: list[argparse.Namespace] = []
    real_parse = argparse.ArgumentParser.parse_args

    def parse_only(self: argparse.ArgumentParser, args: list[str] | None = None) -> None:
        parsed.append(real_parse(self, args))
        raise SystemExit(0)  # stop before any sampling or benchmarking

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    commands = _commands(module)
    assert commands
    for args in commands:
        with pytest.raises(SystemExit) as exit_info:
            mod.main(args)
        assert exit_info.value.code == 0, f"{module} rejects {args}"
    assert len(parsed) == len(commands)
