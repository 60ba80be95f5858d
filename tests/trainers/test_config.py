"""trainers.config: key=value parsing, validation, run names, --help."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mult_env import resolve_difficulty
from trainers.config import ConfigError, TrainConfig, field_docs, parse_args, usage
from trainers.train import main


def test_defaults_are_valid_and_the_local_main_job() -> None:
    config = TrainConfig().validate()
    assert config.backend == "local" and config.model_name == "SmolLM2-135M-Instruct"
    assert config.group_size == 4 and config.eval_n == 100
    assert config.digits() == (2, 1)


def test_values_are_converted_to_the_field_types() -> None:
    config = parse_args(
        [
            "n_batches=100",
            "learning_rate=3e-5",
            "few_shot=true",
            "difficulty=medium",
            "wandb_project=multiplication-rl",
            "behavior_if_log_dir_exists=delete",
            "kl_penalty_coef=0.01",
            "assistant_prefix=",
        ]
    )
    assert config.n_batches == 100 and isinstance(config.n_batches, int)
    assert config.learning_rate == 3e-5
    assert config.few_shot is True
    assert config.digits() == (3, 3)
    assert config.wandb_project == "multiplication-rl"
    assert config.behavior_if_log_dir_exists == "delete"
    assert config.assistant_prefix == ""
    assert parse_args(["wandb_project=none"]).wandb_project is None


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("n_batchs=10", "unknown config key 'n_batchs'"),
        ("n_batches", "key=value"),
        ("n_batches=ten", "n_batches must be an integer"),
        ("n_batches=0", "n_batches must be >= 1"),
        ("learning_rate=fast", "learning_rate must be a number"),
        ("learning_rate=0", "learning_rate must be > 0"),
        ("few_shot=maybe", "few_shot must be true or false"),
        ("behavior_if_log_dir_exists=ask", "behavior_if_log_dir_exists must be one of"),
        ("backend=gpu", "backend must be one of"),
        ("difficulty=huge", "bad difficulty 'huge'"),
        ("difficulty=0x3", "bad difficulty"),
        ("parser=regex", "unknown parser 'regex'"),
        ("reward=dense", "unknown reward 'dense'"),
        ("format_coef=2", "format_coef must be in [0, 1]"),
        ("temperature=-1", "temperature must be >= 0"),
        ("kl_penalty_coef=-0.1", "kl_penalty_coef must be >= 0"),
    ],
)
def test_bad_arguments_fail_with_a_message_naming_them(arg: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_args([arg])


def test_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="seed given twice"):
        parse_args(["seed=1", "seed=2"])


def test_cli_rejects_bad_values_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["n_batches=-3", f"log_path={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: n_batches must be >= 1")
    assert list(tmp_path.iterdir()) == []  # no run directory, no runs/


def test_run_names_follow_the_research_log() -> None:
    # the log: multiply-medium-Qwen3-4B-Instruct-2507-lr3e-05-bs50-<YYYYMMDD-HHMM>
    config = parse_args(
        [
            "model_name=Qwen/Qwen3-4B-Instruct-2507",
            "difficulty=medium",
            "learning_rate=3e-5",
            "batch_size=50",
        ]
    )
    assert config.run_name_stem() == "multiply-medium-Qwen3-4B-Instruct-2507-lr3e-05-bs50"
    config = dataclasses.replace(config, learning_rate=1e-4)
    assert config.run_name_stem() == "multiply-medium-Qwen3-4B-Instruct-2507-lr0.0001-bs50"


def test_every_field_has_a_docstring_and_appears_in_help() -> None:
    docs = field_docs()
    text = usage()
    for f in dataclasses.fields(TrainConfig):
        assert docs.get(f.name), f"{f.name} has no docstring"
        assert f"  {f.name}=" in text


def test_config_round_trips_through_json_and_rejects_unknown_keys() -> None:
    config = parse_args(["seed=3", "difficulty=3x2"])
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown config keys"):
        TrainConfig.from_dict({**config.to_dict(), "lr": 1.0})


@pytest.mark.parametrize("text", ["3x2", " 3 X 2 ", "medium", "(3, 2)", "3*2", "3x", "x2", "0x1"])
def test_trainer_config_uses_the_same_grammar(text: str) -> None:
    """One difficulty grammar: the trainer's ``difficulty=`` accepts exactly what
    :func:`resolve_difficulty` accepts, with the same result."""
    try:
        want: tuple[int, int] | None = resolve_difficulty(text)
    except ValueError:
        want = None
    if want is None:
        with pytest.raises(ConfigError, match="bad difficulty"):
            TrainConfig(difficulty=text).digits()
    else:
        assert TrainConfig(difficulty=text).digits() == want
