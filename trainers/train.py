"""The RL loop: problems -> samples -> rewards -> advantages -> one update, for any backend.

Run it like the research log's command::

    python -m trainers.train                       # the local main job (SmolLM2, 2x1)
    python -m trainers.train n_batches=100 batch_size=50 difficulty=medium \\
        model_name=Qwen/Qwen3-4B-Instruct-2507 backend=tinker kl_penalty_coef=0.01 \\
        learning_rate=3e-5 lora_rank=16 wandb_project=multiplication-rl

One batch, top to bottom (see :func:`train_batch`):

1. ``batch_size`` training problems, item ``batch * batch_size ...`` of the seeded train split
   (so a resumed run sees exactly the problems it would have seen).
2. ``group_size`` samples per problem from the current policy (one problem per group, always).
3. Scores from :class:`mult_env.Scorer` (parser + reward + format term).
4. Group-centred advantages: ``reward - mean(group rewards)``, no std division (as
   tinker-cookbook does), the same value on every completion token.
5. Optional KL shaping against the frozen base model, per token:
   ``adv_t += coef * (mean_kl - kl_t)`` with ``kl_t = logp_sampler_t - logp_base_t`` and
   ``mean_kl`` over all tokens of the batch (tinker-cookbook's ``incorporate_kl_penalty``).
6. One importance-sampling policy-gradient update on completion tokens, skipped when every
   advantage is zero (no learning signal: every group all-correct or all-wrong).

Around it: greedy held-out evaluations of the base model (before) and the trained model (after)
on the same test-split problems, periodic evaluations, ``metrics.jsonl`` (one line per batch,
flushed), resumable checkpoints, ``report.md`` with the log's tables and PNG plots.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mult_env import Problem, ProblemSet, RewardBreakdown, Scorer
from mult_env.curriculum import Curriculum, rung_name
from mult_env.metrics import batch_metrics
from mult_env.prompts import PromptStyle, build_messages
from mult_env.rollouts import ROLLOUTS_DIR, Rollout, RolloutWriter, rule_of
from trainers.backend import Backend, PromptSpec, Sample
from trainers.config import ConfigError, TrainConfig, parse_args, usage
from trainers.interrupt import stop_requested

__all__ = [
    "BackendError",
    "RunDirError",
    "compute_advantages",
    "evaluate",
    "get_backend",
    "kl_shaped_advantages",
    "main",
    "resolve_run_dir",
    "run",
    "train_batch",
]

METRICS_FILE = "metrics.jsonl"
CHECKPOINTS_FILE = "checkpoints.jsonl"
CONFIG_FILE = "config.json"
EVAL_BASE_FILE = "eval_base.json"
EVAL_FINAL_FILE = "eval_final.json"
EVAL_RUNGS_FILE = "eval_rungs.json"
DONE_FILE = "DONE"
SUMMARY_FILE = "summary.json"

# Config fields that may differ when resuming (they do not change what was trained so far).
_RESUMABLE_CHANGES = {
    "n_batches",
    "behavior_if_log_dir_exists",
    "log_path",
    "wandb_project",
    "wandb_name",
    "progress",
    "eval_every",
    "save_every",
    "device",
    "base_url",
    "time_limit_min",
    "pipeline",
}


class BackendError(RuntimeError):
    """The backend could not be created (missing package, model file or API key)."""


class RunDirError(RuntimeError):
    """The run directory exists and the config says not to touch it, or it cannot be resumed."""


# ---------------------------------------------------------------------------- backends
def get_backend(config: TrainConfig, resume_from: str | None = None) -> Backend:
    """Create the backend named by ``config.backend``; its module is imported only now.

    ``resume_from`` is a state checkpoint to continue from. The Tinker backend builds its
    training client from it directly (one training run per process, not a fresh LoRA that is
    thrown away); other backends are created and then load it.
    """
    module_name = {"local": "trainers.local_backend", "tinker": "trainers.tinker_backend"}.get(
        config.backend
    )
    if module_name is None:
        raise ConfigError(f"unknown backend {config.backend!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = "local" if config.backend == "local" else "tinker"
        raise RuntimeError(
            f"the {config.backend} backend could not be imported ({exc}); "
            f"install it with: pip install 'mult-env[{extra}]'"
        ) from exc
    if config.backend == "tinker":
        backend: Backend = module.create(config, resume_from=resume_from)
        return backend
    backend = module.create(config)
    if resume_from:
        backend.load_state(resume_from)
    return backend


# ---------------------------------------------------------------------------- algorithm
def compute_advantages(rewards_G: Sequence[float]) -> list[float]:
    """Group-centred advantages: reward minus the group mean (no std normalisation)."""
    if not rewards_G:
        return []
    mean = sum(rewards_G) / len(rewards_G)
    return [r - mean for r in rewards_G]


def kl_shaped_advantages(
    advantages_N: Sequence[float],
    sampler_logprobs_NT: Sequence[Sequence[float]],
    base_logprobs_NT: Sequence[Sequence[float]],
    coef: float,
) -> tuple[list[list[float]], float]:
    """Per-token advantages with tinker-cookbook's KL shaping.

    ``kl_t = logp_sampler_t - logp_base_t``; ``adv_t = adv + coef * (mean_kl - kl_t)`` where
    ``mean_kl`` is the mean over every completion token of the batch. Tokens the policy made
    likelier than the base model did are pushed down, and the batch-mean term keeps the
    shaping from changing the average advantage. Returns ``(advantages_NT, mean_kl)``.
    """
    diffs = [
        [s - b for s, b in zip(slp, blp, strict=True)]
        for slp, blp in zip(sampler_logprobs_NT, base_logprobs_NT, strict=True)
    ]
    n_tok = sum(len(d) for d in diffs)
    mean_kl = sum(sum(d) for d in diffs) / n_tok if n_tok else 0.0
    shaped = [
        [a + coef * (mean_kl - k) for k in d] for a, d in zip(advantages_N, diffs, strict=True)
    ]
    return shaped, mean_kl


def prompt_style(config: TrainConfig) -> PromptStyle:
    """The configured prompt style (few-shot, system prompt, assistant pre-fill)."""
    return PromptStyle(
        few_shot=config.few_shot,
        system_prompt=config.system_prompt or None,
        assistant_prefix=config.assistant_prefix,
    )


def prompt_specs(problems: Sequence[Problem], config: TrainConfig) -> list[PromptSpec]:
    """Chat prompts for ``problems`` in the configured style (few-shot, system, prefix)."""
    style = prompt_style(config)
    return [PromptSpec(tuple(build_messages(p, style)), config.assistant_prefix) for p in problems]


def make_scorer(config: TrainConfig) -> Scorer:
    """The configured parser + reward + format term (parses ``assistant_prefix + text``)."""
    return Scorer(
        parser=config.parser,
        reward=config.reward,
        format_coef=config.format_coef,
        assistant_prefix=config.assistant_prefix,
    )


def evaluate(
    backend: Backend,
    problems: Sequence[Problem],
    config: TrainConfig,
    *,
    examples: int = 5,
    on_scored: ScoredHook | None = None,
) -> dict[str, Any]:
    """Greedy held-out evaluation: accuracy, format rate, mean reward and a few examples.

    ``on_scored`` receives the samples and their scores (one group per problem), e.g. to keep
    them as rollouts."""
    t0 = time.perf_counter()
    scorer = make_scorer(config)
    groups = backend.sample(
        prompt_specs(problems, config), 1, max_tokens=config.max_tokens, temperature=0.0
    )
    scored = [scorer.score(g[0].text, p) for g, p in zip(groups, problems, strict=True)]
    if on_scored is not None:
        on_scored(groups, [[s] for s in scored])
    m = batch_metrics([[s] for s in scored])
    return {
        "n": len(problems),
        "accuracy": m["accuracy"],
        "format_rate": m["format_rate"],
        "reward_mean": m["reward_mean"],
        "time_s": time.perf_counter() - t0,
        "examples": [
            {
                "problem": f"{p.a} * {p.b}",
                "answer": p.answer,
                "completion": config.assistant_prefix + g[0].text,
                "correct": s.correct,
            }
            for p, g, s in list(zip(problems, groups, scored, strict=True))[:examples]
        ],
    }


def train_batch(
    backend: Backend,
    problems: Sequence[Problem],
    config: TrainConfig,
    scorer: Scorer,
    *,
    groups: list[list[Sample]] | None = None,
    before_update: Callable[[], None] | None = None,
    on_scored: ScoredHook | None = None,
    record: Callable[[list[list[RewardBreakdown]]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Sample, score, compute advantages, update once; returns this batch's metrics.

    Pipelining passes ``groups`` already sampled for ``problems`` and a ``before_update``
    that submits the next batch's sampling just before this batch's update. ``on_scored``
    receives the samples and their scores, group by group (to keep them as rollouts);
    ``record`` sees every group's scores before the update (the curriculum records them
    there) and returns metrics to add.
    """
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    if groups is None:
        groups = backend.sample(
            prompt_specs(problems, config),
            config.group_size,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
        )
    times["time/sample"] = time.perf_counter() - t0

    t = time.perf_counter()
    scored: list[list[RewardBreakdown]] = [
        scorer.score_group([s.text for s in group], p)
        for group, p in zip(groups, problems, strict=True)
    ]
    if on_scored is not None:
        on_scored(groups, scored)
    samples: list[Sample] = [s for group in groups for s in group]
    adv_N = [a for g in scored for a in compute_advantages([b.total for b in g])]
    times["time/score"] = time.perf_counter() - t

    metrics: dict[str, Any] = {} if record is None else dict(record(scored))
    if config.kl_penalty_coef > 0:
        t = time.perf_counter()
        base_NT = backend.base_logprobs(samples)
        times["time/ref"] = time.perf_counter() - t
        adv_NT, mean_kl = kl_shaped_advantages(
            adv_N, [s.logprobs for s in samples], base_NT, config.kl_penalty_coef
        )
        metrics["optim/kl_policy_base"] = mean_kl
    else:
        adv_NT = [[a] * len(s.tokens) for a, s in zip(adv_N, samples, strict=True)]

    if before_update is not None:
        before_update()
    t = time.perf_counter()
    if any(a != 0.0 for a in adv_N):
        metrics.update(backend.train_step(samples, adv_NT))
        metrics["optim/skipped"] = 0.0
    else:  # every group all-good or all-bad: a zero gradient, so save the compute
        metrics["optim/skipped"] = 1.0
    times["time/train"] = time.perf_counter() - t

    bm = batch_metrics(scored)
    n_tok = sum(len(s.tokens) for s in samples)
    all_lp = [lp for s in samples for lp in s.logprobs]
    metrics.update(
        {
            "env/all/reward/total": bm["reward_mean"],
            "env/all/correct": bm["accuracy"],
            "env/all/format": bm["format_rate"],
            "env/all/by_group/frac_mixed": bm["frac_mixed"],
            "env/all/by_group/frac_all_good": bm["frac_all_good"],
            "env/all/by_group/frac_all_bad": bm["frac_all_bad"],
            "env/all/ac_tokens_per_turn": n_tok / max(len(samples), 1),
            "env/all/ob_tokens_per_turn": sum(len(s.prompt_tokens) for s in samples)
            / max(len(samples), 1),
            "env/all/stopped": sum(s.stopped for s in samples) / max(len(samples), 1),
            "optim/entropy": -sum(all_lp) / len(all_lp) if all_lp else 0.0,
            "optim/lr": config.learning_rate,
        }
    )
    metrics.update(times)
    return metrics


ScoredHook = Callable[[list[list[Sample]], list[list[RewardBreakdown]]], None]
"""Called with the sampled groups and their reward breakdowns once a batch is scored."""


def _rollouts(
    config: TrainConfig,
    problems: Sequence[Problem],
    groups: Sequence[Sequence[Sample]],
    scored: Sequence[Sequence[RewardBreakdown]],
    *,
    split: str,
    first_index: int,
    batch: int | None = None,
    eval: str | None = None,
) -> list[Rollout]:
    """The rollouts of one batch or evaluation, as ``mult_env.rollouts`` stores them."""
    return [
        Rollout(
            problem=p,
            completion=s.text,
            reward=r,
            batch=batch,
            eval=eval,
            group=g,
            sample=k,
            split=split,
            index=first_index + g,
            difficulty=f"{len(str(p.a))}x{len(str(p.b))}",  # the rung's, with a curriculum
            tokens=len(s.tokens),
            logprob=round(sum(s.logprobs) / len(s.logprobs), 5) if s.logprobs else None,
            stopped=s.stopped,
            prompt_tokens=len(s.prompt_tokens),
        )
        for g, (p, group, rewards) in enumerate(zip(problems, groups, scored, strict=True))
        for k, (s, r) in enumerate(zip(group, rewards, strict=True))
    ]


def _keep(
    writer: RolloutWriter | None,
    config: TrainConfig,
    problems: Sequence[Problem],
    split: str,
    *,
    batch: int | None = None,
    eval: str | None = None,
    first_index: int = 0,
    into: list[list[Rollout]] | None = None,
) -> ScoredHook | None:
    """The ``on_scored`` hook that keeps a batch's or evaluation's rollouts: written at once,
    or, with ``into``, collected there for the loop to write after the metrics line."""
    if writer is None:
        return None

    def hook(groups: list[list[Sample]], scored: list[list[RewardBreakdown]]) -> None:
        rollouts = _rollouts(
            config,
            problems,
            groups,
            scored,
            split=split,
            first_index=first_index,
            batch=batch,
            eval=eval,
        )
        if into is None:
            writer.write(rollouts)
        else:
            into.append(rollouts)

    return hook


def _rollout_writer(config: TrainConfig, run_dir: Path) -> RolloutWriter:
    """A writer of this run's rollouts into ``run_dir/rollouts`` (the run's rule in meta)."""
    meta = {
        **rule_of(make_scorer(config)),
        "prompt": dataclasses.asdict(prompt_style(config)),
        "difficulty": config.difficulty,
        "seed": config.seed,
        "group_size": config.group_size,
        "model_name": config.model_name,
        "source": "trainers.train",
    }
    return RolloutWriter(run_dir / ROLLOUTS_DIR, meta)


def _submit_next(
    backend: Backend, pending: list[Any], problems: Sequence[Problem], config: TrainConfig
) -> None:
    """Pipelining: start sampling the next batch now, from the current (pre-update) weights."""
    pending.append(
        backend.sample_async(  # type: ignore[attr-defined]
            prompt_specs(problems, config),
            config.group_size,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
        )
    )


# ---------------------------------------------------------------------------- run directory
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete JSON lines of ``path`` (a torn last line from a kill is ignored)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def _write_json(path: Path, data: Any) -> None:
    """Atomic JSON write (temp file + rename), so a kill never leaves a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _rewrite_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.replace(tmp, path)


def _append_jsonl(path: Path, row: dict[str, Any]) -> None:
    """Append one line and flush it to disk (one ``write`` call, so lines are never partial
    except when the process dies inside the call, which :func:`_read_jsonl` tolerates)."""
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def resolve_run_dir(config: TrainConfig, now: datetime | None = None) -> tuple[Path, str]:
    """The run directory and what to do with it: ``"new"``, ``"resume"`` or ``"delete"``.

    Nothing is created or deleted here (so a backend that fails to start, e.g. without an API
    key, leaves no trace); :func:`run` acts on the answer.

    ``log_path`` given: that directory. Otherwise ``runs/<stem>-<YYYYMMDD-HHMM>``; with
    ``behavior_if_log_dir_exists=resume`` the newest unfinished ``runs/<stem>-*`` is reused.
    An existing directory is deleted only with ``delete``; ``raise`` refuses to touch it.
    """
    stem = config.run_name_stem()
    found: Path | None = None
    if config.log_path:
        found = Path(config.log_path)
    elif config.behavior_if_log_dir_exists == "resume" and Path("runs").is_dir():
        candidates = sorted(
            (
                p
                for p in Path("runs").glob(f"{stem}-*")
                if p.is_dir() and not (p / DONE_FILE).exists()
            ),
            key=lambda p: p.stat().st_mtime,
        )
        if candidates:
            found = candidates[-1]
    if found is not None:
        path = found
    else:
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M")
        path = Path("runs") / f"{stem}-{stamp}"
    if path.exists() and any(path.iterdir()):
        behavior = config.behavior_if_log_dir_exists
        if behavior == "raise":
            raise RunDirError(
                f"run directory {path} already exists; pass behavior_if_log_dir_exists=resume "
                "to continue it or behavior_if_log_dir_exists=delete to start over"
            )
        return path, str(behavior)
    return path, "new"


def _check_resumable(path: Path, config: TrainConfig) -> None:
    saved_file = path / CONFIG_FILE
    if not saved_file.exists():
        raise RunDirError(f"{path} has no {CONFIG_FILE}; it is not a run directory to resume")
    saved = json.loads(saved_file.read_text())
    current = config.to_dict()
    changed = sorted(
        k for k in current if k not in _RESUMABLE_CHANGES and k in saved and saved[k] != current[k]
    )
    if changed:
        detail = ", ".join(f"{k}: {saved[k]!r} -> {current[k]!r}" for k in changed)
        raise RunDirError(f"cannot resume {path} with a different config ({detail})")


def _checkpoint(
    backend: Backend, ckpt_path: Path, done: int, curriculum: Curriculum | None = None
) -> None:
    """Save a resumable state after ``done`` batches and record it in checkpoints.jsonl."""
    _record_checkpoint(ckpt_path, done, backend.save_state(f"{done:06d}"), curriculum)


def _record_checkpoint(
    ckpt_path: Path, done: int, state_path: str, curriculum: Curriculum | None = None
) -> None:
    """One checkpoints.jsonl row, with the curriculum's state so a resumed run continues it
    exactly."""
    row: dict[str, Any] = {
        "name": f"{done:06d}",
        "batch": done,
        "state_path": state_path,
        "time": time.time(),
    }
    if curriculum is not None:
        row["curriculum"] = curriculum.state_dict()
    _append_jsonl(ckpt_path, row)


# ---------------------------------------------------------------------------- curriculum
def curriculum_batch(
    curriculum: Curriculum, batch: int, config: TrainConfig
) -> tuple[list[Problem], list[tuple[int, int]]]:
    """Batch ``batch``'s problems and their rungs, drawn from the curriculum's current state.

    Problem ``i`` is item ``batch * batch_size + i`` of its rung's seeded train split, and the
    mix draws come from a generator seeded by ``(seed, batch)``: a pure function of the
    curriculum's state and the batch number, so a resumed run draws the same problems.
    """
    rng = np.random.default_rng([config.seed, batch])
    rungs = [curriculum.choose(rng) for _ in range(config.batch_size)]
    problems = [
        ProblemSet(d, seed=config.seed, split="train")[batch * config.batch_size + i]
        for i, d in enumerate(rungs)
    ]
    return problems, rungs


def record_groups(
    curriculum: Curriculum,
    rungs: Sequence[tuple[int, int]],
    scored: Sequence[Sequence[RewardBreakdown]],
) -> dict[str, Any]:
    """Record every group into the curriculum; per-rung metrics and the rung's course.

    ``curriculum/rung`` (index) and ``curriculum/difficulty`` are the rung the batch was drawn
    on; ``curriculum/move`` is the net move its groups caused (+1 up, -1 down);
    ``env/<rung>/correct`` and ``env/<rung>/groups`` cover each rung present in the batch.
    """
    out: dict[str, Any] = {
        "curriculum/rung": float(curriculum.rung),
        "curriculum/difficulty": curriculum.name,
    }
    move = 0
    by_rung: dict[str, list[float]] = {}
    for rung, group in zip(rungs, scored, strict=True):
        correct_G = [b.correct for b in group]
        move += curriculum.record(correct_G, rung)
        by_rung.setdefault(rung_name(rung), []).extend(float(c) for c in correct_G)
    for name, values in sorted(by_rung.items()):
        out[f"env/{name}/correct"] = sum(values) / len(values)
        out[f"env/{name}/groups"] = float(sum(1 for r in rungs if rung_name(r) == name))
    out["curriculum/move"] = float(move)
    return out


def _rung_evals(
    backend: Backend,
    curriculum: Curriculum,
    config: TrainConfig,
    ckpt_path: Path,
    eval_base: dict[str, Any],
    eval_final: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Held-out base and trained accuracy on every rung the run reached (test split of each).

    The trained model is evaluated first; the base model is the run's batch-0 checkpoint,
    loaded for these evaluations, after which the last checkpoint is loaded back. The target
    ``difficulty``'s own evaluations are reused.
    """
    target = config.digits()
    out: dict[str, dict[str, Any]] = {}
    for index in curriculum.reached:
        rung = curriculum.ladder[index]
        test = ProblemSet(rung, seed=config.seed, split="test").take(config.eval_n)
        final = eval_final if rung == target else evaluate(backend, test, config, examples=0)
        out[rung_name(rung)] = {"final": final}
    missing = [name for name in out if name != rung_name(target)]
    states = [c for c in _read_jsonl(ckpt_path) if "state_path" in c]
    if missing and states and states[0]["batch"] == 0:
        backend.load_state(str(states[0]["state_path"]))
        for name in missing:
            test = ProblemSet(name, seed=config.seed, split="test").take(config.eval_n)
            out[name]["base"] = evaluate(backend, test, config, examples=0)
        backend.load_state(str(states[-1]["state_path"]))
    if rung_name(target) in out:
        out[rung_name(target)]["base"] = eval_base
    return out


# ---------------------------------------------------------------------------- the run
class _Wandb:
    """W&B logging when a project is named and ``wandb`` is importable; a no-op otherwise."""

    def __init__(self, config: TrainConfig, run_dir: Path) -> None:
        self.run: Any = None
        if not config.wandb_project:
            return
        try:
            import wandb
        except ImportError:
            print(
                f"wandb_project={config.wandb_project!r} but wandb is not installed; "
                "logging to files only (pip install wandb)",
                file=sys.stderr,
            )
            return
        self.run = wandb.init(
            project=config.wandb_project,
            name=config.wandb_name or run_dir.name,
            id=run_dir.name.replace(".", "_"),
            resume="allow",
            config=config.to_dict(),
            dir=str(run_dir),
        )

    def log(self, data: dict[str, Any], step: int) -> None:
        if self.run is not None:
            self.run.log({k: v for k, v in data.items() if isinstance(v, int | float)}, step=step)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()


def _progress(config: TrainConfig, start: int) -> Any:
    if not config.progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=config.n_batches, initial=start, desc="RL", unit="batch", dynamic_ncols=True)


def write_report_safely(run_dir: Path) -> None:
    """``report.md`` and plots; without matplotlib, the tables alone."""
    from trainers.report import write_report

    try:
        write_report(run_dir)
    except ImportError as exc:
        print(f"plots skipped ({exc}); writing the tables only", file=sys.stderr)
        write_report(run_dir, plots=False)


def run(config: TrainConfig, backend: Backend | None = None) -> dict[str, Any]:
    """Train according to ``config``; returns a summary (run_dir, evaluations, timings).

    ``backend`` may be passed in (tests, notebooks); otherwise :func:`get_backend` builds it
    *before* anything is written, so a backend that cannot start (no API key, no model file)
    leaves no run directory behind. Safe to kill at any point: re-running with
    ``behavior_if_log_dir_exists=resume`` continues from the last checkpoint.
    """
    config.validate()
    t_start = time.perf_counter()
    run_dir, mode = resolve_run_dir(config)
    resuming = mode == "resume"
    config = dataclasses.replace(config, log_path=str(run_dir))
    metrics_path = run_dir / METRICS_FILE
    ckpt_path = run_dir / CHECKPOINTS_FILE

    checkpoint: dict[str, Any] | None = None
    if resuming:
        _check_resumable(run_dir, config)
        ckpts = [c for c in _read_jsonl(ckpt_path) if "state_path" in c]
        checkpoint = ckpts[-1] if ckpts else None
    owns_backend = backend is None
    if backend is None:
        try:
            backend = get_backend(config, str(checkpoint["state_path"]) if checkpoint else None)
        except RuntimeError as exc:
            raise BackendError(str(exc)) from exc
    elif checkpoint:
        backend.load_state(str(checkpoint["state_path"]))
    if mode == "delete":
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DONE_FILE).unlink(missing_ok=True)
    _write_json(run_dir / CONFIG_FILE, config.to_dict())
    start = int(checkpoint["batch"]) if checkpoint else 0
    # Batches after the last checkpoint will be redone: drop their lines (and any torn line).
    kept = [r for r in _read_jsonl(metrics_path) if r.get("step", math.inf) < start]
    _rewrite_jsonl(metrics_path, kept)
    if not resuming:
        _rewrite_jsonl(ckpt_path, [])
    # Rollouts: a batch's file is written just after its metrics line, so the rollouts never
    # hold a batch metrics.jsonl lacks; the batches a resume redoes are dropped here like
    # their metrics lines.
    writer = _rollout_writer(config, run_dir) if config.save_rollouts else None
    if writer is not None:
        writer.discard_from(start)

    curriculum = config.make_curriculum()
    if curriculum is not None and checkpoint:
        if "curriculum" not in checkpoint:
            raise RunDirError(f"{run_dir}: checkpoint {checkpoint['name']} has no curriculum state")
        curriculum.load_state_dict(checkpoint["curriculum"])
    elif curriculum is not None:
        _checkpoint(backend, ckpt_path, 0, curriculum)  # the base model, for _rung_evals
    t_ready = time.perf_counter()

    test = ProblemSet(config.digits(), seed=config.seed, split="test").take(config.eval_n)
    train_set = ProblemSet(config.digits(), seed=config.seed, split="train")
    scorer = make_scorer(config)

    base_file = run_dir / EVAL_BASE_FILE
    if base_file.exists():
        eval_base = json.loads(base_file.read_text())
    else:
        if start > 0:
            raise RunDirError(f"{run_dir} has checkpoints but no {EVAL_BASE_FILE}")
        eval_base = evaluate(
            backend, test, config, on_scored=_keep(writer, config, test, "test", eval="base")
        )
        _write_json(base_file, eval_base)  # after its rollouts: no base eval without them

    wandb = _Wandb(config, run_dir)
    bar = _progress(config, start)
    if bar is not None:
        bar.set_postfix(base_acc=f"{eval_base['accuracy']:.0%}")
    stopped_early = ""
    batch_times: list[float] = []
    # Backend time (sampling, reference, update, evaluation, saving) vs the loop's wall time:
    # the difference is the trainer's own overhead (scoring, advantages, logging, bookkeeping).
    backend_s = 0.0
    loop_t0 = time.perf_counter()
    pipelined = config.pipeline and hasattr(backend, "sample_async")
    if config.pipeline and not pipelined:
        print("pipeline=true ignored: this backend samples synchronously", file=sys.stderr)
    pending: list[Any] = []  # the next batch's samples, in flight (pipelining)
    for batch in range(start, config.n_batches):
        if config.time_limit_min and batch_times:
            elapsed = time.perf_counter() - t_start
            evals = 1 + (2 * len(curriculum.reached) if curriculum is not None else 0)
            needed = max(batch_times[-5:]) + evals * float(eval_base.get("time_s", 0.0)) + 10.0
            if elapsed + needed > 60 * config.time_limit_min:
                stopped_early = (
                    f"time limit: stopped after {batch} of {config.n_batches} batches to finish "
                    f"within time_limit_min={config.time_limit_min}"
                )
                if not (config.save_every and batch % config.save_every == 0):
                    _checkpoint(backend, ckpt_path, batch, curriculum)
                break
        t_batch = time.perf_counter()
        t_wait = time.perf_counter()
        groups = pending.pop().result() if pending else None
        sample_wait = time.perf_counter() - t_wait
        prefetch = None
        record = None
        if curriculum is None:
            problems = train_set.take(config.batch_size, start=batch * config.batch_size)
            if pipelined and batch + 1 < config.n_batches:
                following = train_set.take(config.batch_size, start=(batch + 1) * config.batch_size)
                prefetch = functools.partial(_submit_next, backend, pending, following, config)
        else:
            problems, rungs = curriculum_batch(curriculum, batch, config)
            record = functools.partial(record_groups, curriculum, rungs)
            if pipelined and batch + 1 < config.n_batches:
                # drawn when submitted, after this batch's groups were recorded (record
                # runs before the update), so they are the next iteration's draw exactly
                def prefetch(following: int = batch + 1) -> None:
                    assert curriculum is not None
                    nxt, _ = curriculum_batch(curriculum, following, config)
                    _submit_next(backend, pending, nxt, config)

        pending_rollouts: list[list[Rollout]] = []
        metrics = train_batch(
            backend,
            problems,
            config,
            scorer,
            groups=groups,
            before_update=prefetch,
            on_scored=_keep(
                writer,
                config,
                problems,
                "train",
                batch=batch,
                first_index=batch * config.batch_size,
                into=pending_rollouts,
            ),
            record=record,
        )
        if groups is not None:  # pipelined: sampling time is the wait for the pending samples
            metrics["time/sample"] = sample_wait
        row: dict[str, Any] = {"step": batch, **metrics}
        done = batch + 1
        if config.eval_every and done % config.eval_every == 0 and done < config.n_batches:
            on_eval = _keep(
                writer, config, test, "test", batch=batch, eval="periodic", into=pending_rollouts
            )
            ev = evaluate(backend, test, config, examples=0, on_scored=on_eval)
            row["test/env/all/correct"] = ev["accuracy"]
            row["test/env/all/format"] = ev["format_rate"]
            row["time/eval"] = ev["time_s"]
        save = done == config.n_batches or (config.save_every and done % config.save_every == 0)
        row["time/total"] = time.perf_counter() - t_batch
        batch_times.append(row["time/total"])
        # Save, write the batch's lines (metrics with time/save, rollouts), then record the
        # checkpoint: a kill in between resumes from the previous checkpoint, so no line is
        # lost or written twice.
        if save:
            t = time.perf_counter()
            state_path = backend.save_state(f"{done:06d}")
            row["time/save"] = time.perf_counter() - t
        _append_jsonl(metrics_path, row)
        if writer is not None:
            for rollouts in pending_rollouts:
                writer.write(rollouts)
        if save:
            _record_checkpoint(ckpt_path, done, state_path, curriculum)
        backend_s += sum(
            float(row.get(k, 0.0))
            for k in ("time/sample", "time/ref", "time/train", "time/eval", "time/save")
        )
        wandb.log(row, step=batch)
        if stop_requested() and done < config.n_batches:
            if not save:
                _checkpoint(backend, ckpt_path, done, curriculum)
            if bar is not None:
                bar.close()
            write_report_safely(run_dir)
            wandb.finish()
            raise KeyboardInterrupt
        if bar is not None:
            bar.update(1)
            rung = {"rung": curriculum.name} if curriculum is not None else {}
            bar.set_postfix(
                acc=f"{row['env/all/correct']:.0%}",
                reward=f"{row['env/all/reward/total']:.2f}",
                **rung,
            )
    if bar is not None:
        bar.close()

    loop_s = time.perf_counter() - loop_t0
    if stopped_early:
        print(stopped_early, file=sys.stderr)
    final_file = run_dir / EVAL_FINAL_FILE
    if final_file.exists() and start >= config.n_batches:
        eval_final = json.loads(final_file.read_text())
    else:
        eval_final = evaluate(
            backend, test, config, on_scored=_keep(writer, config, test, "test", eval="final")
        )
        _write_json(final_file, eval_final)
        final_path = backend.save_final("final")
        _append_jsonl(
            ckpt_path,
            {
                "name": "final",
                "batch": config.n_batches,
                "final_path": final_path,
                "time": time.time(),
            },
        )
    rungs_file = run_dir / EVAL_RUNGS_FILE
    if curriculum is not None and not (rungs_file.exists() and start >= config.n_batches):
        _write_json(
            rungs_file,
            _rung_evals(backend, curriculum, config, ckpt_path, eval_base, eval_final),
        )
    summary = {
        "run_dir": str(run_dir),
        "eval_base": eval_base,
        "eval_final": eval_final,
        "improvement": eval_final["accuracy"] - eval_base["accuracy"],
        "setup_s": t_ready - t_start,
        "batches_trained": len(_read_jsonl(metrics_path)),
        "stopped_early": stopped_early,
        "load_average": os.getloadavg(),
        "train_loop_s": loop_s,
        "overhead_share": max(0.0, 1.0 - backend_s / loop_s) if loop_s > 0 else 0.0,
        "total_s": time.perf_counter() - t_start,
    }
    if curriculum is not None:
        summary["curriculum"] = curriculum.state_dict()
    _write_json(run_dir / SUMMARY_FILE, summary)
    write_report_safely(run_dir)
    wandb.log(
        {
            "test/base/correct": eval_base["accuracy"],
            "test/final/correct": eval_final["accuracy"],
        },
        step=config.n_batches,
    )
    wandb.finish()
    (run_dir / DONE_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    close = getattr(backend, "close", None)
    if owns_backend and close is not None:
        close()  # e.g. mark the Tinker session finished; a caller's backend stays open
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``python -m trainers.train`` and ``mult-env-train``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in {"-h", "--help", "help"} for a in args):
        print(usage())
        return 0
    try:
        config = parse_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see trainers.local_backend
    from trainers.interrupt import DeferredInterrupt

    try:
        with DeferredInterrupt():
            summary = run(config)
    except (RunDirError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted; continue with behavior_if_log_dir_exists=resume "
            f"log_path={config.log_path or '<the run directory>'}",
            file=sys.stderr,
        )
        return 130
    base, final = summary["eval_base"], summary["eval_final"]
    print(
        f"held-out accuracy: base {base['accuracy']:.1%} -> trained {final['accuracy']:.1%} "
        f"({summary['improvement'] * 100:+.1f} points) on {base['n']} test problems; "
        f"format {base['format_rate']:.0%} -> {final['format_rate']:.0%}; "
        f"{summary['total_s']:.0f} s. Report: {Path(summary['run_dir']) / 'report.md'}"
    )
    if "curriculum" in summary:
        state = summary["curriculum"]
        reached = ", ".join(
            f"{state['ladder'][i][0]}x{state['ladder'][i][1]}" for i in state["reached"]
        )
        print(f"curriculum: {len(state['moves'])} moves; rungs reached {reached}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
