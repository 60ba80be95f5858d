from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from mult_env.cli import main


def test_problems_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["problems", "--seed", "42", "-n", "2", "--split", "test", "--format", "jsonl"]) == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [
        {"index": 0, "a": 765, "b": 595, "answer": 455175},
        {"index": 1, "a": 148, "b": 114, "answer": 16872},
    ]


def test_problems_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["problems", "--difficulty", "2x1", "-n", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| index | a | b |") and len(lines) == 5


def test_score_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    main(["score", "--a", "847", "--b", "293", "The answer is 248,171.", "-248171"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["total"] for r in rows] == [1.0, -0.1]
    assert rows[1]["reason"] == "negative or signed number"


def test_score_jsonl_stdin(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    records = [{"a": 12, "b": 15, "completion": "180"}, {"a": 12, "b": 15, "completion": "18"}]
    stdin = io.StringIO("\n".join(json.dumps(r) for r in records) + "\n\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    main(["score", "--reward", "binary"])
    assert [json.loads(x)["total"] for x in capsys.readouterr().out.splitlines()] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["problems", "--difficulty", "enormous"], "unknown difficulty"),
        (["problems", "--num-shards", "0"], "num_shards"),
        (["score", "--a", "3", "x"], "both --a and --b"),
        (["score", "--parser", "nope", "--a", "1", "--b", "2", "2"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_stdin_record(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a": 1}\n'))
    with pytest.raises(SystemExit):
        main(["score"])
    assert "stdin line 1" in capsys.readouterr().err


def test_console_script_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mult_env.cli", "score", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "reward breakdown" in out and "--assistant-prefix" in out
