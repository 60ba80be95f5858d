"""Rollouts on disk: every completion a run sampled and scored, kept so it can be re-scored.

Sampling is the expensive part of RL (seconds per batch locally, dollars on a hosted service);
scoring is free. A trainer that keeps what it sampled lets anyone ask later "how much did the
old rule mis-score, and what would another parser or reward have paid?" without sampling again:
:func:`read_rollouts` loads a run's rollouts, :func:`rescore` scores them under any
:class:`~mult_env.rewards.Scorer` and returns the research log's tables for the run's own rule
and the new one side by side (:meth:`Rescore.to_markdown`, :meth:`Rescore.to_dict`), and
``mult-env rescore RUN_DIR`` prints them.

Layout of ``RUN_DIR/rollouts/`` (written by :class:`RolloutWriter`)::

    meta.json                  the run's own rule (parser, reward, format_coef,
                               assistant_prefix), its prompt style, difficulty and seed
    train-000000.jsonl.gz      training batch 0: one JSON line per completion
    train-000001.jsonl.gz      ...
    eval-base.jsonl.gz         the held-out evaluation of the base model
    eval-000009.jsonl.gz       a periodic held-out evaluation, after batch 9
    eval-final.jsonl.gz        the held-out evaluation of the trained model

One gzip file per batch or evaluation, written whole under a temporary name, flushed and
renamed: a kill never leaves a torn file, and a resumed run replaces whole batches, so no
completion is ever stored twice. One line per completion, in sampling order (group by group)::

    {"batch": 3, "group": 1, "sample": 0, "split": "train", "index": 25, "a": 47, "b": 6,
     "difficulty": "2x1", "completion": " 282.", "tokens": 4, "logprob": -0.41512,
     "stopped": true, "prompt_tokens": 61, "reward": {...RewardBreakdown.to_dict()...}}

The prompt is stored by reference: ``(a, b)`` and ``meta.json``'s prompt style give it back
through :func:`mult_env.prompts.build_messages` (:meth:`Rollouts.messages`), which keeps a
100-batch x 200-sample run near 1 MB. A writer whose prompts are not mult_env's renderings
may store the text itself in an optional ``"prompt"`` field. ``tokens``, ``logprob``,
``stopped``, ``prompt_tokens``, ``index``, ``split`` and ``difficulty`` may be null where the
writer does not know them (e.g. a trainer that hides the sampler's log-probabilities).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mult_env.metrics import batch_metrics, best_window, peak, windows
from mult_env.parsers import PARSERS
from mult_env.problems import Problem
from mult_env.prompts import Message, PromptStyle, build_messages
from mult_env.rewards import REWARDS, RewardBreakdown, Scorer

__all__ = [
    "FORMAT_VERSION",
    "LOG_KEYS",
    "ROLLOUTS_DIR",
    "Rescore",
    "Rollout",
    "RolloutFormatError",
    "RolloutWriter",
    "Rollouts",
    "read_rollouts",
    "rescore",
    "rule_of",
    "verdict",
]

FORMAT_VERSION = 1
"""Version of the on-disk format, stored in ``meta.json``."""
ROLLOUTS_DIR = "rollouts"
"""The sub-directory of a run directory that holds its rollouts."""
META_FILE = "meta.json"
_SUFFIX = ".jsonl.gz"
_NAME_RE = re.compile(r"(train|eval)-(\d{6}|base|final)\.jsonl\.gz", re.ASCII)

LOG_KEYS = {
    "reward_mean": "env/all/reward/total",
    "accuracy": "env/all/correct",
    "format_rate": "env/all/format",
    "frac_mixed": "env/all/by_group/frac_mixed",
    "frac_all_good": "env/all/by_group/frac_all_good",
    "frac_all_bad": "env/all/by_group/frac_all_bad",
}
""":func:`mult_env.metrics.batch_metrics` keys and their names in a run's ``metrics.jsonl``
(tinker-cookbook's metric names, as the trainer logs them)."""
_EVAL_LOG_KEYS = {"accuracy": "test/env/all/correct", "format_rate": "test/env/all/format"}
_EVAL_KEYS = ("accuracy", "format_rate", "reward_mean")
_WINDOW_KEYS = ("accuracy", "format_rate", "frac_mixed", "reward_mean")


class RolloutFormatError(ValueError):
    """A rollout file or line that is not in the format (the message says which and why)."""


# ---------------------------------------------------------------------------- one rollout
@dataclass(frozen=True)
class Rollout:
    """One sampled completion of one problem and the reward breakdown the run gave it."""

    problem: Problem
    completion: str
    """The sampled text, without the assistant prefix (the scorer prepends it)."""
    reward: RewardBreakdown
    """What the run's own rule paid (see ``meta.json`` / :meth:`Rollouts.scorer`)."""
    batch: int | None = None
    """Training batch; for a periodic evaluation the batch it followed; None for base/final."""
    eval: str | None = None
    """``"base"``, ``"periodic"`` or ``"final"`` for a held-out evaluation; None in training."""
    group: int = 0
    """Position of the problem in its batch or evaluation (a GRPO group is one problem)."""
    sample: int = 0
    """Position of the completion in its group."""
    split: str | None = None
    index: int | None = None
    """Item index of the problem in ``ProblemSet(difficulty, seed, split)``."""
    difficulty: str | None = None
    """Operand digit counts as ``AxB``."""
    tokens: int | None = None
    """Sampled tokens (the stop token included when one was emitted)."""
    logprob: float | None = None
    """The sampler's mean log-probability per sampled token."""
    stopped: bool | None = None
    """Sampling ended on a stop token (False: it hit ``max_tokens``)."""
    prompt_tokens: int | None = None
    prompt: str | None = None
    """The prompt text, only where it is not mult_env's rendering of ``meta.json``'s style."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line (without null optional fields, to keep files small)."""
        row: dict[str, Any] = {}
        if self.batch is not None:
            row["batch"] = self.batch
        if self.eval is not None:
            row["eval"] = self.eval
        row["group"] = self.group
        row["sample"] = self.sample
        for name in ("split", "index", "difficulty"):
            if getattr(self, name) is not None:
                row[name] = getattr(self, name)
        row["a"] = self.problem.a
        row["b"] = self.problem.b
        row["completion"] = self.completion
        for name in ("tokens", "logprob", "stopped", "prompt_tokens", "prompt"):
            if getattr(self, name) is not None:
                row[name] = getattr(self, name)
        row["reward"] = self.reward.to_dict()
        return row

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Rollout:
        """Inverse of :meth:`to_dict`; a missing or mistyped field raises
        :class:`RolloutFormatError` naming it."""
        if not isinstance(row, Mapping):
            raise RolloutFormatError(f"a rollout is a JSON object, got {type(row).__name__}")
        a, b = _get(row, "a", int), _get(row, "b", int)
        if a < 0 or b < 0:
            raise RolloutFormatError("'a' and 'b' must be non-negative")
        reward = row.get("reward")
        if not isinstance(reward, Mapping):
            raise RolloutFormatError("'reward' must be a RewardBreakdown.to_dict() object")
        return cls(
            problem=Problem(a, b),
            completion=_get(row, "completion", str),
            reward=_breakdown(reward),
            batch=_get(row, "batch", int, optional=True),
            eval=_get(row, "eval", str, optional=True),
            group=_get(row, "group", int, optional=True) or 0,
            sample=_get(row, "sample", int, optional=True) or 0,
            split=_get(row, "split", str, optional=True),
            index=_get(row, "index", int, optional=True),
            difficulty=_get(row, "difficulty", str, optional=True),
            tokens=_get(row, "tokens", int, optional=True),
            logprob=_get(row, "logprob", float, optional=True),
            stopped=_get(row, "stopped", bool, optional=True),
            prompt_tokens=_get(row, "prompt_tokens", int, optional=True),
            prompt=_get(row, "prompt", str, optional=True),
        )


def _get(row: Mapping[str, Any], key: str, kind: type, *, optional: bool = False) -> Any:
    value = row.get(key)
    if value is None:
        if optional:
            return None
        raise RolloutFormatError(f"missing field {key!r}")
    if kind is float and type(value) is int:
        value = float(value)
    # bool is a subclass of int: an int field must not take true/false, nor the reverse
    if type(value) is not kind:
        raise RolloutFormatError(f"field {key!r} must be {kind.__name__}, got {value!r:.80}")
    return value


_BREAKDOWN_TYPES: dict[str, tuple[type, ...]] = {
    "total": (float, int),
    "correctness": (float, int),
    "format_penalty": (float, int),
    "correct": (bool,),
    "format_ok": (bool,),
    "digits_matched": (int,),
    "num_digits": (int,),
    "reason": (str,),
}


def _breakdown(data: Mapping[str, Any]) -> RewardBreakdown:
    """Rebuild a :class:`RewardBreakdown` from its :meth:`~RewardBreakdown.to_dict`."""
    values: dict[str, Any] = {}
    for name, kinds in _BREAKDOWN_TYPES.items():
        value: Any = data.get(name)
        if type(value) not in kinds:
            raise RolloutFormatError(f"reward field {name!r} must be {kinds[0].__name__}")
        values[name] = float(value) if kinds[0] is float else value
    parsed = data.get("parsed")
    if parsed is not None:
        if not isinstance(parsed, str) or not parsed.isascii() or not parsed.isdigit():
            raise RolloutFormatError("reward field 'parsed' must be a decimal string or null")
        try:
            parsed = int(parsed)
        except ValueError as exc:  # longer than Python's int-string limit
            raise RolloutFormatError(f"reward field 'parsed': {exc}") from None
    return RewardBreakdown(parsed=parsed, **values)


def verdict(breakdown: RewardBreakdown) -> str:
    """A completion's verdict: ``correct``, ``wrong`` (well-formed, not the product) or
    ``rejected: <reason>``; a correct value the parser found malformed says so."""
    if breakdown.correct:
        return "correct" if breakdown.format_ok else f"correct, malformed: {breakdown.reason}"
    return "wrong" if breakdown.format_ok else f"rejected: {breakdown.reason}"


def _verdict_class(text: str) -> str:
    """``correct``, ``wrong`` or ``rejected``: what counts as a change of verdict."""
    return text.split(":", 1)[0].split(",", 1)[0]


def rule_of(scorer: Scorer) -> dict[str, Any]:
    """A scorer's rule as ``meta.json`` stores it: parser and reward by registered name
    (else ``module:name`` of a function, else ``repr``), ``format_coef`` and
    ``assistant_prefix``."""
    return {
        "parser": _label(scorer.parser, PARSERS),
        "reward": _label(scorer.reward, REWARDS),
        "format_coef": scorer.format_coef,
        "assistant_prefix": scorer.assistant_prefix,
    }


def _label(obj: object, registry: Mapping[str, object]) -> str:
    name = next((k for k, v in registry.items() if v is obj), None)
    if name is not None:
        return name
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and "<" not in qualname:
        return f"{getattr(obj, '__module__', '?')}:{qualname}"
    return repr(obj)


# ---------------------------------------------------------------------------- writing
def _file_name(rollout: Rollout) -> str:
    if rollout.eval is None:
        if rollout.batch is None or rollout.batch < 0:
            raise ValueError("a training rollout needs a non-negative batch")
        return f"train-{rollout.batch:06d}{_SUFFIX}"
    if rollout.eval in ("base", "final"):
        return f"eval-{rollout.eval}{_SUFFIX}"
    if rollout.eval == "periodic" and rollout.batch is not None and rollout.batch >= 0:
        return f"eval-{rollout.batch:06d}{_SUFFIX}"
    raise ValueError(
        f"eval must be 'base', 'final' or 'periodic' (with its batch), got {rollout.eval!r}"
    )


class RolloutWriter:
    """Writes a run's rollouts to ``directory`` (usually ``RUN_DIR/rollouts``).

    ``meta`` is the run's own rule (:func:`rule_of` of its scorer) plus what else a reader
    needs: ``prompt`` (the :class:`~mult_env.prompts.PromptStyle` fields), ``difficulty``,
    ``seed``, ``source``. Each :meth:`write` stores one batch or evaluation as one gzip file,
    atomically: flushed, fsynced and renamed into place, so a reader never sees part of one.
    """

    def __init__(self, directory: str | Path, meta: Mapping[str, Any]) -> None:
        for key in ("parser", "reward", "format_coef", "assistant_prefix"):
            if key not in meta:
                raise ValueError(f"rollout meta needs {key!r} (see rule_of)")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT_VERSION, **meta}
        _atomic_write(self.directory / META_FILE, (json.dumps(data, indent=2) + "\n").encode())

    def write(self, rollouts: Sequence[Rollout]) -> Path:
        """Store the rollouts of one batch or one evaluation (replacing an earlier copy of
        it, e.g. a batch redone after a resume); returns the file written."""
        if not rollouts:
            raise ValueError("nothing to write: a batch has at least one rollout")
        name = _file_name(rollouts[0])
        for r in rollouts:
            if _file_name(r) != name:
                raise ValueError("one write holds one batch or one evaluation")
        # ASCII JSON: any str survives (lone surrogates, U+2028, ...), and "\n" only ends lines
        lines = "".join(json.dumps(r.to_dict()) + "\n" for r in rollouts)
        # mtime=0: the same rollouts give the same bytes
        data = gzip.compress(lines.encode(), compresslevel=6, mtime=0)
        path = self.directory / name
        _atomic_write(path, data)
        return path

    def discard_from(self, batch: int) -> list[Path]:
        """Delete the training batches ``>= batch`` and the periodic evaluations that followed
        them: a run resumed from a checkpoint at ``batch`` redoes those (as it drops their
        ``metrics.jsonl`` lines). Returns what was deleted."""
        gone = []
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            match = _NAME_RE.fullmatch(path.name)
            if match and match[2].isdigit() and int(match[2]) >= batch:
                path.unlink()
                gone.append(path)
        return gone


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- reading
@dataclass
class Rollouts:
    """A run's rollouts: training batches and held-out evaluations, in order."""

    directory: Path
    meta: dict[str, Any]
    batches: dict[int, list[Rollout]] = field(default_factory=dict)
    """Training batch index -> its rollouts, in sampling order."""
    evals: dict[str, list[Rollout]] = field(default_factory=dict)
    """``"base"``, ``"after batch N"`` (periodic) and ``"final"`` -> rollouts, in that order."""

    def scorer(self) -> Scorer:
        """The run's own rule (parser and reward must be registered names)."""
        rule = {k: self.meta[k] for k in ("parser", "reward", "format_coef", "assistant_prefix")}
        try:
            return Scorer(**rule)
        except ValueError as exc:
            raise ValueError(
                f"cannot rebuild the run's own rule from {self.directory / META_FILE} ({exc}); "
                "register that parser/reward, or pass the scorer explicitly"
            ) from None

    def style(self) -> PromptStyle:
        """The prompt style the prompts were rendered in (``meta.json``'s ``prompt``)."""
        prompt = self.meta.get("prompt")
        if not isinstance(prompt, Mapping):
            raise ValueError(f"{self.directory / META_FILE} records no prompt style")
        known = {f.name for f in fields(PromptStyle)}
        return PromptStyle(**{k: v for k, v in prompt.items() if k in known})

    def messages(self, rollout: Rollout) -> list[Message]:
        """The chat prompt ``rollout`` was sampled from, rendered again from its reference."""
        if rollout.prompt is not None:
            return [{"role": "user", "content": rollout.prompt}]
        return build_messages(rollout.problem, self.style())

    def __len__(self) -> int:
        return sum(map(len, self.batches.values())) + sum(map(len, self.evals.values()))


def _run_paths(path: str | Path) -> tuple[Path, Path | None]:
    """``(rollouts directory, run directory or None)`` of a run or rollouts directory."""
    path = Path(path)
    if (path / ROLLOUTS_DIR / META_FILE).exists():
        return path / ROLLOUTS_DIR, path
    if (path / META_FILE).exists():
        parent = path.parent
        return path, parent if (parent / "metrics.jsonl").exists() else None
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory")
    raise FileNotFoundError(
        f"{path} holds no rollouts (no {ROLLOUTS_DIR}/{META_FILE}); the run was made before "
        "rollouts were kept, or with save_rollouts=false"
    )


def _read_file(path: Path) -> list[Rollout]:
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise RolloutFormatError(f"{path}: not a gzip file of UTF-8 JSON lines ({exc})") from None
    out = []
    lines = text.removesuffix("\n").split("\n") if text else []  # not splitlines: U+2028
    for lineno, line in enumerate(lines, start=1):
        try:
            out.append(Rollout.from_dict(json.loads(line)))
        except (json.JSONDecodeError, RolloutFormatError) as exc:
            raise RolloutFormatError(f"{path}:{lineno}: {exc}") from None
    return out


def read_rollouts(path: str | Path) -> Rollouts:
    """Load the rollouts of a run directory (or of a ``rollouts/`` directory itself)."""
    directory, _ = _run_paths(path)
    meta = json.loads((directory / META_FILE).read_text())
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise RolloutFormatError(
            f"{directory / META_FILE}: format {meta.get('format')!r} is not {FORMAT_VERSION}"
        )
    run = Rollouts(directory, meta)
    periodic: dict[int, list[Rollout]] = {}
    final: list[Rollout] | None = None
    for path_ in sorted(directory.glob(f"*{_SUFFIX}")):
        match = _NAME_RE.fullmatch(path_.name)
        if match is None:
            continue
        kind, which = match[1], match[2]
        rows = _read_file(path_)
        if kind == "train" and which.isdigit():
            run.batches[int(which)] = rows
        elif kind == "eval" and which == "base":
            run.evals["base"] = rows
        elif kind == "eval" and which == "final":
            final = rows
        elif kind == "eval":
            periodic[int(which)] = rows
    for batch in sorted(periodic):
        run.evals[f"after batch {batch}"] = periodic[batch]
    if final is not None:
        run.evals["final"] = final
    return run


def _groups(rollouts: Sequence[Rollout]) -> list[list[Rollout]]:
    """Rollouts by group, in order of first appearance (file order within a group)."""
    by_group: dict[int, list[Rollout]] = {}
    for r in rollouts:
        by_group.setdefault(r.group, []).append(r)
    return list(by_group.values())


def _read_log(run_dir: Path | None) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """``metrics.jsonl`` rows by step and the ``eval_*.json`` files of a run directory."""
    rows: dict[int, dict[str, Any]] = {}
    evals: dict[str, Any] = {}
    if run_dir is None:
        return rows, evals
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        for line in metrics.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break  # a torn last line from a kill
            if isinstance(row, dict) and isinstance(row.get("step"), int):
                rows[row["step"]] = row
    for name in ("base", "final"):
        path = run_dir / f"eval_{name}.json"
        if path.exists():
            evals[name] = json.loads(path.read_text())
    return rows, evals


# ---------------------------------------------------------------------------- re-scoring
@dataclass
class Rescore:
    """A run's scores under its own rule and under a new one, and what changed.

    ``batches`` and ``evals`` hold, per training batch and per held-out evaluation, the
    :func:`~mult_env.metrics.batch_metrics` of the rewards the run gave (``run``) and of the
    new rule's (``new``). ``changes`` groups the completions whose verdict or reward changed
    by (run's verdict, new verdict), with counts and a few examples. ``log_check`` compares the
    run's own stored scores with its ``metrics.jsonl`` and ``eval_*.json``.
    """

    name: str
    run_rule: dict[str, Any]
    new_rule: dict[str, Any]
    batches: list[dict[str, Any]]
    evals: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    counts: dict[str, Any]
    log_check: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``mult-env rescore --json``)."""
        return {
            "run": self.name,
            "run_rule": self.run_rule,
            "new_rule": self.new_rule,
            "counts": self.counts,
            "log_check": self.log_check,
            "summary": {"run": self.summary("run"), "new": self.summary("new")},
            "batches": self.batches,
            "evals": self.evals,
            "changes": self.changes,
        }

    def column(self, side: str, key: str) -> list[float]:
        """Per-batch values of one metric (``batch_metrics`` key) for ``run`` or ``new``."""
        return [b[side][key] for b in self.batches]

    def summary(self, side: str) -> dict[str, Any]:
        """The log's training summary for ``run`` or ``new``: windows, peak, best window,
        mean group-signal fractions."""
        acc = self.column(side, "accuracy")
        if not acc:
            return {}
        batch = [b["batch"] for b in self.batches]  # positions -> batch numbers
        cols = {k: windows(self.column(side, k)) for k in _WINDOW_KEYS}
        out: dict[str, Any] = {
            "windows": [
                {"first": batch[a], "last": batch[b], **{k: cols[k][i][2] for k in cols}}
                for i, (a, b, _) in enumerate(cols["accuracy"])
            ],
            "peak": {"batch": batch[peak(acc)[0]], "accuracy": peak(acc)[1]},
        }
        first, last, mean = best_window(acc, 10)
        out["best_window"] = {"first": batch[first], "last": batch[last], "accuracy": mean}
        for key in ("frac_mixed", "frac_all_good", "frac_all_bad", "reward_mean"):
            values = self.column(side, key)
            out[key] = sum(values) / len(values)
        return out

    def to_markdown(self, examples: int = 3) -> str:
        """The log's tables, the run's own scores against the new rule's, side by side."""
        lines = [f"# Re-scoring `{self.name}`", ""]
        lines += ["| Rule | Parser | Reward | format_coef | assistant_prefix |"]
        lines += ["|---|---|---|---|---|"]
        for label, rule in (("Run's own", self.run_rule), ("New", self.new_rule)):
            lines.append(
                f"| {label} | {_md(rule['parser'])} | {_md(rule['reward'])} | "
                f"{rule['format_coef']} | {_md(repr(rule['assistant_prefix']))} |"
            )
        c = self.counts
        lines += [
            "",
            f"{c['train']} training completions in {len(self.batches)} batches, "
            f"{c['eval']} held-out completions in {len(self.evals)} evaluations.",
            "",
            f"Log check: {self.log_check['verdict']}",
            "",
        ]
        lines += ["## Training Metrics", ""]
        run, new = self.summary("run"), self.summary("new")
        if not run:
            lines += ["No training batches.", ""]
        else:
            lines += [
                "| Window | Accuracy (run) | Accuracy (new) | Format (run) | Format (new) | "
                "Mixed Groups (run) | Mixed Groups (new) | Reward (run) | Reward (new) |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for w_run, w_new in zip(run["windows"], new["windows"], strict=True):
                cells = [f"Batches {w_run['first']}-{w_run['last']}"]
                for key in ("accuracy", "format_rate", "frac_mixed"):
                    cells += [_pct(w_run[key]), _pct(w_new[key])]
                cells += [f"{w_run['reward_mean']:.3f}", f"{w_new['reward_mean']:.3f}"]
                lines.append("| " + " | ".join(cells) + " |")
            lines += [
                "",
                "| | Run's own | New |",
                "|---|---|---|",
                f"| Peak accuracy | {_pct(run['peak']['accuracy'])} (batch "
                f"{run['peak']['batch']}) | {_pct(new['peak']['accuracy'])} (batch "
                f"{new['peak']['batch']}) |",
                f"| Best 10-batch window | {_window(run['best_window'])} | "
                f"{_window(new['best_window'])} |",
            ]
            for key in ("frac_mixed", "frac_all_good", "frac_all_bad"):
                lines.append(f"| {key} | {_pct(run[key])} | {_pct(new[key])} |")
            lines += [f"| Mean reward | {run['reward_mean']:.3f} | {new['reward_mean']:.3f} |", ""]
        lines += ["## Held-Out Evaluation", ""]
        if not self.evals:
            lines += ["No held-out evaluations.", ""]
        else:
            lines += [
                "| Evaluation | Problems | Accuracy (run) | Accuracy (new) | Format (run) | "
                "Format (new) | Reward (run) | Reward (new) |",
                "|---|---|---|---|---|---|---|---|",
            ]
            labels = {"base": "Base model", "final": "Trained model"}
            for ev in self.evals:
                r, n = ev["run"], ev["new"]
                lines.append(
                    f"| {labels.get(ev['name'], ev['name'].capitalize())} | {ev['n']} | "
                    f"{_pct(r['accuracy'])} | {_pct(n['accuracy'])} | {_pct(r['format_rate'])} | "
                    f"{_pct(n['format_rate'])} | {r['reward_mean']:.3f} | {n['reward_mean']:.3f} |"
                )
            by_name = {ev["name"]: ev for ev in self.evals}
            if "base" in by_name and "final" in by_name:
                b, f = by_name["base"], by_name["final"]
                cells = ["**Improvement**", ""]
                for key in ("accuracy", "format_rate"):
                    cells += [_pp(f[side][key] - b[side][key]) for side in ("run", "new")]
                cells += [
                    f"{f[side]['reward_mean'] - b[side]['reward_mean']:+.3f}"
                    for side in ("run", "new")
                ]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["## Verdict Changes", ""]
        total = c["train"] + c["eval"]
        lines += [
            f"{c['verdict_changed']} of {total} completions changed verdict "
            f"({c['verdict_changed_train']} in training, {c['verdict_changed_eval']} held-out); "
            f"{c['reward_changed']} got a different reward (mean total per completion "
            f"{c['mean_total_run']:.4f} -> {c['mean_total_new']:.4f}).",
            "",
        ]
        if c["reason_only_changed"]:
            lines += [
                f"{c['reason_only_changed']} more were rejected by both rules at the same "
                "reward, for different reasons:",
                "",
                "| Run's reason | New reason | Completions |",
                "|---|---|---|",
            ]
            for rc in c["reason_changes"]:
                lines.append(f"| {_md(rc['run'])} | {_md(rc['new'])} | {rc['count']} |")
            lines.append("")
        if self.changes:
            lines += [
                "| Run's verdict | New verdict | Training | Held-out | Reward (run) | "
                "Reward (new) |",
                "|---|---|---|---|---|---|",
            ]
            for ch in self.changes:
                lines.append(
                    f"| {_md(ch['run'])} | {_md(ch['new'])} | {ch['train']} | {ch['eval']} | "
                    f"{ch['mean_total_run']:.3f} | {ch['mean_total_new']:.3f} |"
                )
            lines.append("")
            for ch in self.changes:
                lines.append(f"**{_md(ch['run'])} -> {_md(ch['new'])}** ({ch['count']}):")
                lines.append("")
                for ex in ch["examples"][:examples]:
                    lines.append(
                        f"- {ex['where']}, {ex['problem']} = {ex['answer']}: "
                        f"`{_code(ex['completion'])}` paid {ex['total_run']:.3f} -> "
                        f"{ex['total_new']:.3f}"
                    )
                lines.append("")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _window(w: Mapping[str, Any]) -> str:
    return f"{_pct(w['accuracy'])} (batches {w['first']}-{w['last']})"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str, limit: int = 80) -> str:
    """An untrusted completion shown in inline code: JSON-escaped, bounded, no backticks."""
    shown = json.dumps(text[: limit + 1], ensure_ascii=False)[1:-1]
    if len(text) > limit:
        shown = shown[:limit] + "..."
    return shown.replace("`", "'").replace("|", "\\|")


def rescore(
    rollouts: Rollouts | str | Path,
    scorer: Scorer | None = None,
    *,
    examples: int = 3,
) -> Rescore:
    """Score every stored completion again under ``scorer`` (default: the run's own rule).

    Per training batch, the run's own :func:`~mult_env.metrics.batch_metrics` (from the
    stored breakdowns) and the new ones, computed exactly as the trainer computes them, so
    re-scoring under the run's own rule reproduces ``metrics.jsonl``; the same for each
    held-out evaluation (every problem a group of one, as the trainer evaluates). Completions
    whose verdict (correct, wrong or rejected, see :func:`verdict`) or total changed are
    grouped by (run's verdict, new verdict), rejections by their reason, each group with up
    to ``examples`` examples; completions both rules reject at the same reward, only for
    different reasons, are counted by reason pair (``counts["reason_changes"]``).
    """
    run = rollouts if isinstance(rollouts, Rollouts) else read_rollouts(rollouts)
    new_scorer = scorer if scorer is not None else run.scorer()
    _, run_dir = _run_paths(run.directory)
    log_rows, log_evals = _read_log(run_dir)
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    counts = {"train": 0, "eval": 0, "verdict_changed_train": 0, "verdict_changed_eval": 0}
    reward_changed = reason_only = 0
    reasons: dict[tuple[str, str], int] = {}
    total_run = total_new = 0.0

    def score(groups: list[list[Rollout]], where: str, kind: str) -> tuple[Any, Any]:
        nonlocal reward_changed, reason_only, total_run, total_new
        old_groups = [[r.reward for r in g] for g in groups]
        new_groups = [
            new_scorer.score_group([r.completion for r in g], g[0].problem)
            if len({r.problem for r in g}) == 1
            else new_scorer.score_many([r.completion for r in g], [r.problem for r in g])
            for g in groups
        ]
        for g, olds, news in zip(groups, old_groups, new_groups, strict=True):
            for r, old, new in zip(g, olds, news, strict=True):
                counts[kind] += 1
                total_run += old.total
                total_new += new.total
                v_old, v_new = verdict(old), verdict(new)
                same_class = _verdict_class(v_old) == _verdict_class(v_new)
                if same_class and old.total == new.total:
                    if v_old != v_new:
                        reason_only += 1
                        key = (old.reason, new.reason)
                        reasons[key] = reasons.get(key, 0) + 1
                    continue
                if not same_class:
                    counts[f"verdict_changed_{kind}"] += 1
                if old.total != new.total:
                    reward_changed += 1
                ch = changes.setdefault(
                    (v_old, v_new),
                    {
                        "run": v_old,
                        "new": v_new,
                        "count": 0,
                        "train": 0,
                        "eval": 0,
                        "sum_run": 0.0,
                        "sum_new": 0.0,
                        "examples": [],
                    },
                )
                ch["count"] += 1
                ch[kind] += 1
                ch["sum_run"] += old.total
                ch["sum_new"] += new.total
                if len(ch["examples"]) < examples:
                    ch["examples"].append(
                        {
                            "where": where,
                            "problem": f"{r.problem.a} * {r.problem.b}",
                            "answer": str(r.problem.answer),
                            "completion": new_scorer.assistant_prefix + r.completion,
                            "total_run": old.total,
                            "total_new": new.total,
                            "reason_new": new.reason,
                        }
                    )
        return batch_metrics(old_groups), batch_metrics(new_groups)

    batches = []
    for b, rows in run.batches.items():
        old, new = score(_groups(rows), f"batch {b}", "train")
        batches.append({"batch": b, "n": len(rows), "run": old, "new": new})
    evals = []
    for name, rows in run.evals.items():
        old, new = score([[r] for r in rows], f"eval {name}", "eval")
        evals.append({"name": name, "n": len(rows), "run": _eval_keys(old), "new": _eval_keys(new)})
    change_list = []
    for ch in sorted(changes.values(), key=lambda c: (-c["count"], c["run"], c["new"])):
        n = ch.pop("count")
        s_run, s_new = ch.pop("sum_run"), ch.pop("sum_new")
        change_list.append(
            {"count": n, **ch, "mean_total_run": s_run / n, "mean_total_new": s_new / n}
        )
    n_all = counts["train"] + counts["eval"]
    summary_counts = {
        **counts,
        "verdict_changed": counts["verdict_changed_train"] + counts["verdict_changed_eval"],
        "reward_changed": reward_changed,
        "reason_only_changed": reason_only,
        "reason_changes": [
            {"run": old, "new": new, "count": n}
            for (old, new), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "mean_total_run": total_run / n_all if n_all else 0.0,
        "mean_total_new": total_new / n_all if n_all else 0.0,
    }
    return Rescore(
        name=(run_dir or run.directory).resolve().name,
        run_rule={k: run.meta.get(k) for k in ("parser", "reward", "format_coef")}
        | {"assistant_prefix": run.meta.get("assistant_prefix", "")},
        new_rule=rule_of(new_scorer),
        batches=batches,
        evals=evals,
        changes=change_list,
        counts=summary_counts,
        log_check=_check_log(batches, evals, log_rows, log_evals, run_dir is not None),
    )


def _eval_keys(metrics: Mapping[str, float]) -> dict[str, float]:
    return {k: metrics[k] for k in _EVAL_KEYS}


def _check_log(
    batches: Sequence[Mapping[str, Any]],
    evals: Sequence[Mapping[str, Any]],
    log_rows: Mapping[int, Mapping[str, Any]],
    log_evals: Mapping[str, Any],
    has_log: bool,
) -> dict[str, Any]:
    """Do the run's stored scores equal what its log says, batch by batch, exactly?"""
    if not has_log:
        return {"verdict": "no metrics.jsonl beside the rollouts: nothing to check against"}
    mismatches: list[str] = []
    stored = {b["batch"] for b in batches}
    missing = sorted(set(log_rows) - stored)
    extra = sorted(stored - set(log_rows))
    for b in batches:
        row = log_rows.get(b["batch"])
        if row is None:
            continue
        for key, log_key in LOG_KEYS.items():
            if log_key in row and row[log_key] != b["run"][key]:
                mismatches.append(
                    f"batch {b['batch']} {log_key}: {row[log_key]} != {b['run'][key]}"
                )
    unlogged = []
    for ev in evals:
        if ev["name"].startswith("after batch "):
            row = log_rows.get(int(ev["name"].rsplit(" ", 1)[1]), {})
            want = {k: row[v] for k, v in _EVAL_LOG_KEYS.items() if v in row}
        else:
            want = {
                k: log_evals[ev["name"]][k]
                for k in _EVAL_KEYS
                if k in log_evals.get(ev["name"], {})
            }
        if not want:
            unlogged.append(ev["name"])
        for key, value in want.items():
            if value != ev["run"][key]:
                mismatches.append(f"eval {ev['name']} {key}: {value} != {ev['run'][key]}")
    parts = []
    if mismatches:
        parts.append(f"{len(mismatches)} values differ from the log")
    if missing:
        parts.append(f"batches {_ranges(missing)} are in metrics.jsonl but have no rollouts")
    if extra:
        parts.append(f"batches {_ranges(extra)} have rollouts but no metrics.jsonl line")
    if unlogged:
        parts.append(f"evaluations {', '.join(unlogged)} have rollouts but are not in the log")
    verdict_text = (
        "; ".join(parts)
        if parts
        else f"the stored scores reproduce metrics.jsonl and the evaluations exactly "
        f"({len(batches)} batches, {len(evals)} evaluations)"
    )
    return {
        "verdict": verdict_text,
        "exact": not parts,
        "mismatches": mismatches,
        "missing_rollouts": missing,
        "missing_log": extra,
        "evals_missing_log": unlogged,
    }


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    out: list[str] = []
    for v in values:
        if out and out[-1].split("-")[-1] == str(v - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{v}"
        else:
            out.append(str(v))
    return ", ".join(out)
