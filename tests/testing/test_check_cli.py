"""``mult-env check-reward`` / ``check-parser``: the checkers from the command line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mult_env import cli
from mult_env.cli import main
from mult_env.testing import FAMILIES, PARSER_PROPERTIES, REWARD_PROPERTIES

FAST = ["--max-examples", "10", "--seed", "0", "--skip", "linear_time"]

USER_MODULE = textwrap.dedent(
    '''
    from mult_env.parsers import ParseResult


    def tolerant(value, answer):
        """Full credit within 1 %: a hole."""
        return 1.0 if value is not None and abs(value - answer) <= answer / 100 else 0.0


    def exact(value, answer):
        return float(value == answer)


    def text_exact(completion, answer):
        return float(completion.strip() == str(answer))


    class PlainDigits:
        """A parser class: the CLI checks a default instance."""

        def __call__(self, completion):
            if not isinstance(completion, str):
                raise TypeError("completion must be a str")
            text = completion.strip()
            ok = text.isascii() and text.isdigit() and len(text) < 100
            return ParseResult(int(text) if ok else None, ok, "ok" if ok else "no")


    NOT_CALLABLE = 3


    import re

    from hypothesis import strategies as st
    from mult_env.testing import Style

    NUMBER = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]*|0", re.ASCII)


    def tag_parser(completion):
        """Reads <answer>N</answer>: exactly one tag around one canonical ASCII integer."""
        if not isinstance(completion, str):
            raise TypeError("completion must be a str")
        if completion.count("<answer>") != 1:
            return ParseResult(None, False, "need one tag")
        body, closed, _ = completion.partition("<answer>")[2].partition("</answer>")
        body = body.strip()
        ok = bool(closed) and len(body) < 60 and NUMBER.fullmatch(body) is not None
        return ParseResult(int(body.replace(",", "")) if ok else None, ok, "ok" if ok else "no")


    def _frame(draw, marked):
        return draw(st.sampled_from(["", "Let me think.\\n"])) + marked


    tagged = Style("tagged", frame=_frame, mark=lambda body: f"<answer>{body}</answer>")
    '''
)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module in the working directory, as a user's own rewards would be."""
    name = f"user_rewards_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the CLI adds the cwd; undo it afterwards
    return name


def test_check_reward_reports_a_violation_and_exits_1(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    narrow = [arg for f in FAMILIES if f != "close_value" for arg in ("--allow", f)]
    argv = ["check-reward", f"{user_module}:tolerant", *FAST, *narrow]
    assert main([*argv, "--skip", "only_true_answer_max"]) == 1
    out = capsys.readouterr().out
    assert f"check_reward({user_module}.tolerant, parser=" in out
    assert "FAILED" in out and "VIOLATED [near_misses/close_value] reward 1 for" in out
    assert "skipped (by request): linear_time" in out


def test_check_reward_passes_and_exits_0(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-reward", f"{user_module}:exact", *FAST, "--allow", "decimal"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "allowed families (not checked): decimal" in out


def test_completion_rewards_with_parser_none(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # strict text equality: the accepted forms ("The answer is ...") are not paid
    code = main(["check-reward", f"{user_module}:text_exact", "--parser", "none", *FAST])
    out = capsys.readouterr().out
    assert code == 1 and "VIOLATED [true_answer_max]" in out
    assert "value-level checks not run" in out


def test_check_parser_of_a_class(user_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    narrow = ["--skip", "near_misses", "--skip", "reads_written_value"]
    assert main(["check-parser", f"{user_module}:PlainDigits", *FAST, *narrow]) == 1
    out = capsys.readouterr().out  # it refuses "The answer is ..." and separators
    assert "VIOLATED [accepts_true_answer]" in out


def test_registered_names_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-reward", "binary", "--parser", "boxed", *FAST, "--difficulty", "3x2"]) == 0
    assert "style: boxed; problems: 3x2 (3x2 digits)" in capsys.readouterr().out
    assert main(["check-parser", "last_number", *FAST, "--skip", "near_misses"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check-reward", "no_such_module_xyz:f"], "cannot load reward"),
        (["check-reward", "mult_env.rewards:nope"], "cannot load reward"),
        (["check-reward", "nope"], "is neither module:function nor one of binary, "),
        (["check-reward", "binary", "--parser", "nope"], "neither module:function"),
        (["check-reward", "binary", "--allow", "decimals"], "unknown near-miss family"),
        (["check-parser", "answer", "--skip", "monotone"], "unknown parser property"),
        (["check-parser", "answer", "--style", "latex"], "unknown style"),
        (["check-parser", "answer", "--difficulty", "huge"], "unknown difficulty 'huge'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_not_callable_target(user_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check-reward", f"{user_module}:NOT_CALLABLE"])
    assert "is not callable (it is a int)" in capsys.readouterr().err


def test_help_lists_every_family_and_property() -> None:
    """The CLI spells these out (so that building it needs no hypothesis): keep them in sync."""
    assert tuple(FAMILIES) == cli._FAMILIES
    assert tuple(REWARD_PROPERTIES) == cli._REWARD_PROPERTIES
    assert tuple(PARSER_PROPERTIES) == cli._PARSER_PROPERTIES


def test_importing_mult_env_testing_does_not_import_pytest() -> None:
    code = "import sys, mult_env.testing; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_building_the_cli_does_not_import_hypothesis() -> None:
    code = "import sys, mult_env.cli as c; c.build_parser(); print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_style_names_a_user_style_object(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Class 13 of issue 14: --style module:attribute, named like the target."""
    narrow = ["--skip", "reads_written_value", "--skip", "near_misses"]
    argv = ["check-parser", f"{user_module}:tag_parser", *FAST, *narrow]
    assert main([*argv, "--style", f"{user_module}:tagged"]) == 0
    assert "PASSED" in capsys.readouterr().out
    # without its style the checker writes bare numbers, which the parser rightly refuses,
    # and says so
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "VIOLATED [accepts_true_answer]" in out and "may expect a different answer style" in out


def test_style_that_is_not_a_style_is_an_error(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check-parser", "answer", "--style", f"{user_module}:NOT_CALLABLE"])
    assert exited.value.code == 2
    assert "is not a mult_env.testing.Style (it is a int)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check-parser", "answer", "--style", f"{user_module}:missing"])
    assert "cannot load style" in capsys.readouterr().err


def test_hang_timeout_reaches_the_check(
    user_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-parser", "answer", *FAST, "--hang-timeout", "2"]) == 0
    with pytest.raises(SystemExit):
        main(["check-parser", "answer", "--hang-timeout", "soon"])
