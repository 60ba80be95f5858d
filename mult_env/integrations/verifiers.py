"""mult_env as a verifiers environment (verifiers >= 0.4, the ``verifiers.v1`` API).

verifiers 0.4 loads environments by id: ``vf-eval <id>`` (or ``--env.taskset.id <id>``)
imports the installed module named after the id (``-`` becomes ``_``) and takes the
``Taskset`` subclass, and optionally the ``Harness`` subclass, that the module exports in
``__all__``. mult_env ships that module as ``mult_env_v1``, so the environment id is
**``mult-env-v1``** (``-v1`` marks a verifiers-v1 environment, as ``vf-init`` names them)::

    pip install "mult-env[verifiers]"
    vf-eval mult-env-v1 -n 100 --env.taskset.split test --env.taskset.seed 42 --model ...

In Python, :func:`load_environment` builds the same ``vf.Env``; the classes are importable
from here (loading verifiers on first use, so ``import mult_env.integrations.verifiers`` works
without it):

* :class:`MultiplicationTaskset` (config :class:`MultiplicationTasksetConfig`): problems of
  ``ProblemSet(difficulty, seed, split)`` as chat prompts (the log's few-shot turns, then the
  question); ``split="train"`` for training, ``split="test"`` for held-out evaluation;
* :class:`MultiplicationTask` (config :class:`MultiplicationTaskConfig`): rewards
  ``correctness`` and ``format_penalty`` computed by :class:`mult_env.rewards.Scorer`, which
  sum to the Scorer's total, plus metrics; its ``validate`` is ``vf-validate``'s gold check;
* :class:`MultiplicationHarness`: verifiers' tool-less chat harness (``null``), the default
  here instead of ``bash``, whose shell would let a model compute the product in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import verifiers.v1 as vf  # type: ignore[import-untyped]

    from mult_env.integrations._verifiers_env import (
        MultiplicationData,
        MultiplicationHarness,
        MultiplicationTask,
        MultiplicationTaskConfig,
        MultiplicationTaskset,
        MultiplicationTasksetConfig,
    )

__all__ = [
    "TASKSET_ID",
    "MultiplicationData",
    "MultiplicationHarness",
    "MultiplicationTask",
    "MultiplicationTaskConfig",
    "MultiplicationTaskset",
    "MultiplicationTasksetConfig",
    "load_environment",
]

TASKSET_ID = "mult-env-v1"
"""The verifiers environment id; it resolves to the ``mult_env_v1`` module."""

_LAZY = frozenset(__all__) - {"TASKSET_ID", "load_environment"}


def _classes() -> Any:
    try:
        from mult_env.integrations import _verifiers_env
    except ImportError as error:
        if (error.name or "").split(".")[0] not in {"verifiers", "pydantic"}:
            raise
        raise ImportError(
            "mult_env's verifiers integration needs verifiers>=0.4: "
            "pip install 'mult-env[verifiers]'"
        ) from error
    return _verifiers_env


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(_classes(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_environment(
    *,
    difficulty: str = "medium",
    split: Literal["train", "test"] = "train",
    seed: int = 0,
    num_tasks: int | None = None,
    few_shot: bool = True,
    parser: str = "answer",
    reward: str = "shaped",
    format_coef: float = 0.1,
    **env: Any,
) -> vf.Env:
    """The ``mult-env-v1`` verifiers environment (a ``verifiers.v1.SingleAgentEnv``).

    Built the way verifiers' own entry points build it: the config is validated by
    ``vf.resolve_env_config`` and the env constructed by ``vf.load_environment``.

    Args:
        difficulty: ``tiny`` .. ``expert`` or ``"AxB"`` (exact operand digit counts).
        split: ``"train"`` for training, ``"test"`` for held-out evaluation.
        seed: Seed of the problem stream.
        num_tasks: Number of problems; None streams forever.
        few_shot: Prepend the research log's three worked examples.
        parser: Registered parser name (see :data:`mult_env.parsers.PARSERS`).
        reward: ``"shaped"`` or ``"binary"`` (or any registered reward name).
        format_coef: Penalty for a malformed reply.
        **env: Further ``EnvConfig`` fields, e.g. ``agent={"runtime": {"type": "docker"}}``.

    Returns:
        The ``vf.Env``; its taskset is ``env.taskset``.
    """
    _classes()
    import verifiers.v1 as vf

    taskset = {
        "id": TASKSET_ID,
        "difficulty": difficulty,
        "split": split,
        "seed": seed,
        "num_tasks": num_tasks,
        "few_shot": few_shot,
        "task": {"parser": parser, "reward": reward, "format_coef": format_coef},
    }
    config = vf.resolve_env_config({**env, "taskset": taskset})
    return vf.load_environment(config)
