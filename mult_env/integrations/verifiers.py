"""mult_env as a verifiers environment: the ``verifiers.v1`` API (verifiers 0.3.1 and 0.4.0)
and, on verifiers 0.3.x, which also ships it, the legacy API.

Both APIs load the environment id **``mult-env-v1``** from the module ``mult_env_v1``:

* ``verifiers.v1`` (this module's :func:`load_environment`, ``vf-eval``/``vf-validate`` of 0.4)
  takes the ``Taskset`` and ``Harness`` subclasses that the module exports;
* the legacy API of verifiers 0.3 (``import verifiers as vf; vf.load_environment("mult-env-v1",
  **kwargs)``) calls the module's ``load_environment(**kwargs)``, which is
  :func:`load_legacy_environment`: a ``vf.SingleTurnEnv`` with a train and an eval dataset and
  a rubric built on the same :class:`mult_env.rewards.Scorer`. verifiers 0.4 removed that API.

The v1 API in detail:

verifiers.v1 loads environments by id: ``vf-eval <id>`` (or ``--env.taskset.id <id>``)
imports the installed module named after the id (``-`` becomes ``_``) and takes the
``Taskset`` subclass, and optionally the ``Harness`` subclass, that the module exports in
``__all__``. mult_env ships that module as ``mult_env_v1``, so the environment id is
**``mult-env-v1``** (``-v1`` marks a verifiers-v1 environment, as ``vf-init`` names them)::

    pip install -e '.[verifiers]'     # from a checkout (docs/integrations/verifiers.md)
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
    "SUPPORTED_VERIFIERS",
    "TASKSET_ID",
    "MultiplicationData",
    "MultiplicationHarness",
    "MultiplicationTask",
    "MultiplicationTaskConfig",
    "MultiplicationTaskset",
    "MultiplicationTasksetConfig",
    "load_environment",
    "load_legacy_environment",
]

TASKSET_ID = "mult-env-v1"
"""The verifiers environment id; it resolves to the ``mult_env_v1`` module."""

SUPPORTED_VERIFIERS = ">=0.3.1,<0.5"
"""The verifiers releases this adapter supports (and ``pyproject.toml``'s extra requires):
tested on 0.3.1 (both APIs) and 0.4.0 (``verifiers.v1`` only), the releases in this range."""

_LAZY = frozenset(__all__) - {
    "SUPPORTED_VERIFIERS",
    "TASKSET_ID",
    "load_environment",
    "load_legacy_environment",
}

_INSTALL = (
    f"pip install 'verifiers{SUPPORTED_VERIFIERS}' (what the mult-env[verifiers] extra installs)"
)


def _classes() -> Any:
    try:
        from mult_env.integrations import _verifiers_env
    except ImportError as error:
        if (error.name or "").split(".")[0] not in {"verifiers", "pydantic"}:
            raise
        raise ImportError(
            f"mult_env's verifiers integration needs verifiers{SUPPORTED_VERIFIERS}: {_INSTALL}"
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


def load_legacy_environment(
    *,
    difficulty: str = "medium",
    seed: int = 0,
    num_train: int = 1000,
    test_seed: int = 42,
    num_test: int = 100,
    few_shot: bool = True,
    parser: str = "answer",
    reward: str = "shaped",
    format_coef: float = 0.1,
) -> Any:
    """The ``mult-env-v1`` environment for verifiers 0.3's legacy API (``vf.SingleTurnEnv``).

    What ``vf.load_environment("mult-env-v1", **kwargs)`` returns on verifiers 0.3.x (it
    calls ``mult_env_v1.load_environment``, which is this function). The train dataset holds
    items ``0 .. num_train-1`` of ``ProblemSet(difficulty, seed, "train")``, the eval dataset
    ``num_test`` items of the disjoint test split drawn with ``test_seed`` (the log's "100
    random problems, seed=42"). Columns: ``prompt`` (the chat of
    :func:`mult_env.prompts.build_messages`), ``answer`` (the product, a decimal string) and
    ``info`` (``a``, ``b`` as decimal strings, ``difficulty``, ``split``, ``seed``, ``index``).

    The rubric's rewards are ``correctness`` and ``format_penalty`` (weights 1, summing to the
    Scorer's total) and the metric ``correct`` (weight 0). Only the last assistant message of
    the completion is scored, by the rule of :mod:`mult_env.integrations.text`.

    Raises ``ImportError`` on verifiers without the legacy API (0.4 and later): use
    :func:`load_environment` there.
    """
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    try:
        from mult_env.integrations import _verifiers_legacy
    except ImportError as error:
        if (error.name or "").split(".")[0] not in {"verifiers", "datasets"}:
            raise
        raise ImportError(
            "vf.load_environment('mult-env-v1', ...) is verifiers' legacy API, which only "
            "verifiers 0.3.x ships (pip install 'verifiers==0.3.1'); on verifiers 0.4 build the "
            "environment with mult_env.integrations.verifiers.load_environment(...) or "
            "verifiers.v1.load_environment(verifiers.v1.resolve_env_config("
            "{'taskset': {'id': 'mult-env-v1'}}))"
        ) from error
    return _verifiers_legacy.build_environment(
        difficulty=difficulty,
        seed=seed,
        num_train=num_train,
        test_seed=test_seed,
        num_test=num_test,
        few_shot=few_shot,
        parser=parser,
        reward=reward,
        format_coef=format_coef,
    )
