"""Smoke test of benchmarks/throughput.py: it runs end to end with tiny sizes and writes the
JSON and table it documents. No timing assertions: speed is measured by running the benchmark,
not by unit tests on a shared machine."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("reasoning_gym")

from benchmarks import throughput
from mult_env import MultiplicationEnv, Problem, Scorer

pytestmark = pytest.mark.slow  # each run calibrates timers for seconds; CI runs it

ROW_KEYS = [
    "gen_item",
    "gen_take",
    "gen_arrays",
    "score_item",
    "score_group",
    "score_columns",
    "floor",
    "env_unwrapped",
    "env_gym_make",
    "env_floor",
]


def test_main_writes_json_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nested" / "throughput.json"
    argv = ["--rounds", "2", "--problems", "30", "--completions", "40", "--episodes", "20"]
    assert throughput.main([*argv, "--group-size", "4", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text(encoding="utf-8"))

    assert [row["key"] for row in result["rows"]] == ROW_KEYS
    assert result["config"]["rounds"] == 2
    assert result["config"]["clock"] == "cpu"
    assert set(result["versions"]) >= {"python", "mult_env", "reasoning-gym", "gymnasium"}
    assert isinstance(result["all_targets_met"], bool)
    for row in result["rows"]:
        for clock in ("cpu", "wall"):
            side = row[clock]
            assert len(side["ours_per_s"]) == len(side["peer_per_s"]) == 2
            assert all(x > 0 for x in side["ours_per_s"] + side["peer_per_s"])
            assert side["ratio"] == pytest.approx(
                side["ours_median_per_s"] / side["peer_median_per_s"]
            )
            if row["target_ratio"] is None:
                assert side["met"] is None
            else:
                assert side["met"] == (side["ratio"] >= row["target_ratio"])
    targets = {row["key"]: row["target_ratio"] for row in result["rows"]}
    assert targets["gen_item"] == 5.0
    assert targets["score_columns"] == 3.0
    assert targets["env_unwrapped"] == 3.0
    assert targets["env_gym_make"] is None

    table = printed.split("\n\n")[0].splitlines()
    assert table[0].startswith("| measurement | mult_env | median | reasoning-gym |")
    assert len(table) == 2 + len(ROW_KEYS)
    assert all(line.startswith("|") and line.endswith("|") for line in table)
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert result["table_markdown"] == "\n".join(table)
    assert "target rows met" in printed


def test_both_sides_read_the_same_answer_texts() -> None:
    answers = [248171, 180, 998001, 100000] * 50
    texts = throughput.answer_texts(answers, seed=3)
    assert texts == throughput.answer_texts(answers, seed=3)
    ours = [throughput.ours_completion(t) for t in texts]
    peer = [throughput.peer_completion(t) for t in texts]
    assert [o.removeprefix("The answer is ").removesuffix(".") for o in ours] == texts
    assert [p.removeprefix("<answer>").removesuffix("</answer>") for p in peer] == texts


@pytest.mark.parametrize("kind", list(throughput.COMPLETION_MIX))
def test_completion_kinds_score_as_their_names_say(kind: str) -> None:
    problem = Problem(847, 293)
    text = throughput.answer_text(kind, problem.answer, random.Random(0))
    b = Scorer().score(throughput.ours_completion(text), problem)
    assert b.correct == (kind in {"exact", "thousands separators"})
    assert b.format_ok == (kind not in {"negative", "hedged", "prose", "non-ASCII digits"})
    if kind == "one digit wrong":
        assert 0.0 <= b.correctness < 0.95


def test_by_kind_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.json"
    argv = ["--rounds", "1", "--problems", "8", "--completions", "8", "--episodes", "4"]
    assert throughput.main([*argv, "--by-kind", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [row["label"] for row in result["by_kind"]] == list(throughput.COMPLETION_MIX)
    assert all(row["target_ratio"] is None for row in result["by_kind"])
    kind_table = printed.split("Parse + score by kind of completion:")[1].strip().splitlines()
    assert len(kind_table) == 2 + len(throughput.COMPLETION_MIX)
    assert "`The answer is 248171.`" in kind_table[2]


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        throughput.run(rounds=0)
    with pytest.raises(ValueError, match="at least group_size"):
        throughput.run(rounds=1, completions=3, group_size=4)


def test_floor_env_does_the_required_work_like_the_env() -> None:
    """The flat reference env draws the env's problems and scores like it, field for field."""
    env = MultiplicationEnv(problem_seed=4)
    floor = throughput._FloorEnv(MultiplicationEnv(problem_seed=4))
    env.reset(seed=9)
    floor.reset(seed=9)
    for episode in range(600):  # past a lookahead rebuild
        obs, info = env.reset()
        floor_obs, floor_info = floor.reset()
        assert floor_obs == obs
        assert floor_info == {"messages": info["messages"], "problem": info["problem"]}
        kinds = list(throughput.COMPLETION_MIX)
        text = throughput.answer_text(
            kinds[episode % len(kinds)], info["problem"].answer, random.Random(episode)
        )
        completion = throughput.ours_completion(text)
        _, reward, *_, step_info = env.step(completion)
        _, floor_reward, *_, floor_step_info = floor.step(completion)
        assert floor_reward == reward
        assert floor_step_info == {k: step_info[k] for k in floor_step_info}
