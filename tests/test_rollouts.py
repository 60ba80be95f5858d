"""mult_env.rollouts: the on-disk format, re-scoring under another rule, and ``mult-env rescore``.

The rollouts here are written by :class:`RolloutWriter` from hand-picked completions (the
research log's hacks among them); ``tests/trainers/test_train_rollouts.py`` runs the trainer.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest

from mult_env import Problem, Scorer
from mult_env.cli import main
from mult_env.metrics import batch_metrics
from mult_env.prompts import PromptStyle, build_messages
from mult_env.rollouts import (
    ROLLOUTS_DIR,
    Rollout,
    RolloutFormatError,
    RolloutWriter,
    read_rollouts,
    rescore,
    rule_of,
)

OWN = Scorer("answer", "shaped", 0.1, "")

# Two batches of two groups of three, as a trainer would write them; 12 * 15 = 180 and
# 59 * 3 = 177. The hacks are the log's: a worked example then the answer, a signed answer,
# two candidates with the right one last.
BATCHES = {
    0: [
        (Problem(12, 15), ["180", "The answer is 180.", "12*15=170 so 180"]),
        (Problem(59, 3), ["-177", "176", "177"]),
    ],
    1: [
        (Problem(12, 15), ["170 or 180", "185", "1,80"]),
        (Problem(59, 3), ["177", "The answer is 177.", "177"]),
    ],
}
EVALS = {"base": ["1 2 180", "177"], "final": ["180", "177."]}


def _rollouts(batch: int, scorer: Scorer = OWN) -> list[Rollout]:
    return [
        Rollout(
            problem=p,
            completion=c,
            reward=scorer.score(c, p),
            batch=batch,
            group=g,
            sample=k,
            split="train",
            index=2 * batch + g,
            difficulty="2x2",
            tokens=len(c),
            logprob=-0.5,
            stopped=True,
            prompt_tokens=30,
        )
        for g, (p, texts) in enumerate(BATCHES[batch])
        for k, c in enumerate(texts)
    ]


def _eval(name: str, scorer: Scorer = OWN) -> list[Rollout]:
    problems = [Problem(12, 15), Problem(59, 3)]
    return [
        Rollout(problem=p, completion=c, reward=scorer.score(c, p), eval=name, group=g)
        for g, (p, c) in enumerate(zip(problems, EVALS[name], strict=True))
    ]


def _meta(scorer: Scorer = OWN) -> dict[str, object]:
    prompt = {"few_shot": True, "system_prompt": None, "assistant_prefix": ""}
    return {**rule_of(scorer), "prompt": prompt, "difficulty": "2x2", "source": "test"}


def _write_run(run_dir: Path, *, log: bool = True) -> Path:
    """A run directory with rollouts and (optionally) the metrics.jsonl they reproduce."""
    writer = RolloutWriter(run_dir / ROLLOUTS_DIR, _meta())
    lines = []
    for batch in BATCHES:
        rollouts = _rollouts(batch)
        writer.write(rollouts)
        groups = [[r.reward for r in rollouts if r.group == g] for g in (0, 1)]
        m = batch_metrics(groups)
        lines.append(
            {
                "step": batch,
                "env/all/reward/total": m["reward_mean"],
                "env/all/correct": m["accuracy"],
                "env/all/format": m["format_rate"],
                "env/all/by_group/frac_mixed": m["frac_mixed"],
                "env/all/by_group/frac_all_good": m["frac_all_good"],
                "env/all/by_group/frac_all_bad": m["frac_all_bad"],
            }
        )
    for name in EVALS:
        rollouts = _eval(name)
        writer.write(rollouts)
        m = batch_metrics([[r.reward] for r in rollouts])
        if log:
            (run_dir / f"eval_{name}.json").write_text(json.dumps({"n": 2, **m}))
    if log:
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run_dir


# ---------------------------------------------------------------------------- the format
def test_a_rollout_survives_the_round_trip(tmp_path: Path) -> None:
    big = Problem(99999999999999999999, 99999999999999999999)
    full = Rollout(
        problem=big,
        completion=f"The answer is {big.answer}.\n\u0663",
        reward=OWN.score(str(big.answer), big),
        batch=7,
        group=3,
        sample=2,
        split="train",
        index=21,
        difficulty="20x20",
        tokens=9,
        logprob=-1.25,
        stopped=False,
        prompt_tokens=100,
        prompt="custom prompt",
    )
    bare = Rollout(problem=Problem(2, 3), completion="", reward=OWN.score("", Problem(2, 3)))
    bare = dataclasses.replace(bare, eval="final")
    writer = RolloutWriter(tmp_path, _meta())
    writer.write([full])
    writer.write([bare])
    run = read_rollouts(tmp_path)
    assert run.batches == {7: [full]} and run.evals == {"final": [bare]}
    assert run.batches[7][0].reward.parsed == big.answer  # exact beyond int64
    assert "logprob" not in bare.to_dict() and bare.to_dict()["eval"] == "final"
    assert run.messages(full) == [{"role": "user", "content": "custom prompt"}]
    assert run.messages(bare) == build_messages(Problem(2, 3), PromptStyle(few_shot=True))


def test_writes_are_whole_files_one_per_batch_and_replace_a_redone_batch(tmp_path: Path) -> None:
    writer = RolloutWriter(tmp_path, _meta())
    first = writer.write(_rollouts(0))
    assert first.name == "train-000000.jsonl.gz"
    assert gzip.decompress(first.read_bytes()).decode().count("\n") == 6
    writer.write(_rollouts(0))  # a batch redone after a resume: replaced, not appended
    assert len(read_rollouts(tmp_path).batches[0]) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "train-000000.jsonl.gz"]
    with pytest.raises(ValueError, match="one batch"):
        writer.write(_rollouts(0) + _rollouts(1))
    with pytest.raises(ValueError, match="at least one"):
        writer.write([])


def test_discard_from_drops_the_batches_a_resume_redoes(tmp_path: Path) -> None:
    writer = RolloutWriter(tmp_path, _meta())
    for batch in (0, 1):
        writer.write(_rollouts(batch))
    periodic = [dataclasses.replace(r, eval="periodic", batch=1) for r in _eval("base")]
    writer.write(periodic)
    writer.write(_eval("base"))
    gone = writer.discard_from(1)
    assert sorted(p.name for p in gone) == ["eval-000001.jsonl.gz", "train-000001.jsonl.gz"]
    run = read_rollouts(tmp_path)
    assert list(run.batches) == [0] and list(run.evals) == ["base"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "train-000000.jsonl.gz:1"),
        (json.dumps({"a": 1, "b": 2, "completion": "2"}).encode(), "'reward'"),
        (json.dumps({"a": True, "b": 2}).encode(), "'a' must be int"),
        (json.dumps({"a": -1, "b": 2}).encode(), "non-negative"),
    ],
)
def test_a_bad_line_is_a_clear_error_naming_file_and_line(
    tmp_path: Path, line: bytes, message: str
) -> None:
    RolloutWriter(tmp_path, _meta())
    (tmp_path / "train-000000.jsonl.gz").write_bytes(gzip.compress(line + b"\n"))
    with pytest.raises(RolloutFormatError, match=message):
        read_rollouts(tmp_path)


def test_a_bad_breakdown_or_a_torn_file_is_a_clear_error(tmp_path: Path) -> None:
    RolloutWriter(tmp_path, _meta())
    row = _rollouts(0)[0].to_dict()
    row["reward"]["parsed"] = "-5"
    path = tmp_path / "train-000000.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps(row).encode()))
    with pytest.raises(RolloutFormatError, match="'parsed' must be a decimal string"):
        read_rollouts(tmp_path)
    path.write_bytes(gzip.compress(b"x" * 1000)[:20])
    with pytest.raises(RolloutFormatError, match="not a gzip file"):
        read_rollouts(tmp_path)


def test_a_directory_without_rollouts_says_why(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="save_rollouts=false"):
        read_rollouts(tmp_path)


# ---------------------------------------------------------------------------- re-scoring
def test_rescoring_under_the_run_s_own_rule_reproduces_its_log(tmp_path: Path) -> None:
    result = rescore(_write_run(tmp_path))
    assert result.log_check["exact"], result.log_check
    assert result.counts["verdict_changed"] == result.counts["reward_changed"] == 0
    assert result.changes == []
    for b in result.batches:
        assert b["run"] == b["new"]
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [b["new"]["accuracy"] for b in result.batches] == [r["env/all/correct"] for r in log]
    assert [e["name"] for e in result.evals] == ["base", "final"]


def test_last_number_pays_the_hacks_the_answer_parser_rejects(tmp_path: Path) -> None:
    run = read_rollouts(_write_run(tmp_path))
    result = rescore(run, Scorer("last_number", "shaped", 0.1, ""))
    paid = next(c for c in result.changes if c["new"] == "correct")
    hacks = {ex["completion"] for c in result.changes for ex in c["examples"]}
    assert {"12*15=170 so 180", "-177", "170 or 180", "1 2 180"} <= hacks
    assert paid["run"].startswith("rejected: ") and paid["mean_total_new"] == 1.0
    # batch 0's second group was mixed (one correct) and stays so; batch 1's first group had
    # no correct answer and now has one: the new rule manufactures learning signal
    assert result.batches[1]["new"]["accuracy"] > result.batches[1]["run"]["accuracy"]
    assert result.evals[0]["new"]["accuracy"] == 1.0 > result.evals[0]["run"]["accuracy"]
    md = result.to_markdown()
    assert "| Run's own | answer | shaped |" in md and "| New | last_number | shaped |" in md
    assert "-> correct**" in md and "`12*15=170 so 180`" in md
    assert result.to_dict()["counts"]["verdict_changed"] == result.counts["verdict_changed"]


def test_binary_takes_partial_credit_away_without_changing_verdicts(tmp_path: Path) -> None:
    result = rescore(_write_run(tmp_path), Scorer("answer", "binary", 0.1, ""))
    assert result.counts["verdict_changed"] == 0 and result.counts["reward_changed"] > 0
    assert {(c["run"], c["new"]) for c in result.changes} == {("wrong", "wrong")}
    assert all(ex["total_new"] == 0.0 < ex["total_run"] for ex in result.changes[0]["examples"])
    for b in result.batches:
        assert b["new"]["accuracy"] == b["run"]["accuracy"]
        assert b["new"]["reward_mean"] <= b["run"]["reward_mean"]


def test_a_log_that_disagrees_with_the_rollouts_is_reported(tmp_path: Path) -> None:
    _write_run(tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    rows[0]["env/all/correct"] = 0.99
    rows.append({"step": 2, "env/all/correct": 0.5})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    check = rescore(tmp_path).log_check
    assert not check["exact"] and check["missing_rollouts"] == [2]
    assert check["mismatches"] == ["batch 0 env/all/correct: 0.99 != 0.5"]


def test_a_bare_rollouts_directory_with_unknown_fields_rescores(tmp_path: Path) -> None:
    """What another trainer's adapter can write: no metrics.jsonl, no tokens or log-probs."""
    writer = RolloutWriter(tmp_path / "out", _meta())
    writer.write([dataclasses.replace(r, tokens=None, logprob=None) for r in _rollouts(0)])
    result = rescore(tmp_path / "out", Scorer("last_number"))
    assert "nothing to check" in result.log_check["verdict"]
    assert result.counts["train"] == 6 and result.counts["verdict_changed"] == 2


def test_markdown_shows_untrusted_completions_safely(tmp_path: Path) -> None:
    writer = RolloutWriter(tmp_path, _meta())
    p = Problem(12, 15)
    text = "x | `17`\n| injected | row |" + "a" * 500 + " 180"
    writer.write([Rollout(p, text, OWN.score(text, p), batch=0)])
    md = rescore(tmp_path, Scorer("last_number")).to_markdown()
    line = next(x for x in md.splitlines() if x.startswith("- batch 0"))
    assert "\\n" in line and "`17`" not in line and line.count("`") == 2 and len(line) < 250


# ---------------------------------------------------------------------------- the command
def test_cli_rescore_markdown_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_run(tmp_path)
    assert main(["rescore", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "reproduce metrics.jsonl and the evaluations exactly" in out
    assert "## Training Metrics" in out and "## Held-Out Evaluation" in out
    assert main(["rescore", str(tmp_path), "--parser", "last_number", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["new_rule"]["parser"] == "last_number" and data["run_rule"]["parser"] == "answer"
    assert data["counts"]["verdict_changed"] > 0 and len(data["batches"]) == 2
    assert main(["rescore", str(tmp_path), "--reward", "binary", "--format-coef", "0"]) == 0
    assert "| New | answer | binary | 0.0 |" in capsys.readouterr().out


def test_cli_rescore_takes_a_custom_parser_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_run(tmp_path / "run")
    (tmp_path / "my_rules.py").write_text(
        "from mult_env import ParseResult\n"
        "def digits_only(text):\n"
        "    d = ''.join(c for c in text if c in '0123456789')\n"
        "    return ParseResult(int(d) if d else None, bool(d), 'ok' if d else 'no digits')\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["rescore", "run", "--parser", "my_rules:digits_only", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["new_rule"]["parser"] == "my_rules:digits_only"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rescore", "{tmp}/missing"], "is not a directory"),
        (["rescore", "{tmp}"], "holds no rollouts"),
        (["rescore", "{tmp}", "--parser", "nope"], "neither module:function"),
    ],
)
def test_cli_rescore_errors_exit_2(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "--parser" in argv:
        _write_run(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([a.format(tmp=tmp_path) for a in argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_a_reason_that_changed_since_the_run_is_counted_not_a_verdict_change(
    tmp_path: Path,
) -> None:
    """A parser whose rejection reasons were reworded since the run (same verdicts, same
    rewards): re-scoring under the run's own rule still reproduces it, and says what moved."""
    writer = RolloutWriter(tmp_path, _meta())
    p = Problem(12, 15)
    scored = OWN.score("12*15=180", p)
    old = dataclasses.replace(scored, reason="an older wording")
    writer.write(
        [Rollout(p, "12*15=180", old, batch=0), Rollout(p, "180", OWN.score("180", p), batch=0)]
    )
    result = rescore(tmp_path)
    assert result.counts["verdict_changed"] == result.counts["reward_changed"] == 0
    assert result.batches[0]["run"] == result.batches[0]["new"]
    assert result.counts["reason_changes"] == [
        {"run": "an older wording", "new": scored.reason, "count": 1}
    ]
    assert f"| an older wording | {scored.reason} | 1 |" in result.to_markdown()


def test_any_completion_text_survives_the_file(tmp_path: Path) -> None:
    """Line and paragraph separators, NEL, control characters, a lone surrogate, NUL."""
    p = Problem(12, 15)
    texts = ["a\u2028b", "c\x85d\x1c", "\ud800 180", "\x00\r\n\t", "\ufeff180", ""]
    rollouts = [Rollout(p, t, OWN.score(t, p), batch=0, sample=k) for k, t in enumerate(texts)]
    writer = RolloutWriter(tmp_path, _meta())
    path = writer.write(rollouts)
    assert gzip.decompress(path.read_bytes()).isascii()
    assert read_rollouts(tmp_path).batches[0] == rollouts


def test_an_evaluation_the_log_lacks_is_reported(tmp_path: Path) -> None:
    """Killed after the final evaluation's rollouts, before ``eval_final.json``."""
    _write_run(tmp_path)
    (tmp_path / "eval_final.json").unlink()
    check = rescore(tmp_path).log_check
    assert not check["exact"] and check["evals_missing_log"] == ["final"]
    assert "evaluations final have rollouts but are not in the log" in check["verdict"]
