"""mult_env for tinker-cookbook's RL loop: ``Env``, ``EnvGroupBuilder``, ``RLDataset`` (+ builder).

tinker-cookbook (``tinker_cookbook.rl.types``) trains on *environments that speak tokens*: an
``Env`` hands out a ``tinker.ModelInput`` prompt and a stop condition, takes the sampled tokens
as its action and returns a ``StepResult``; an ``EnvGroupBuilder`` makes the group of envs whose
rewards GRPO centres; an ``RLDataset`` yields batches of group builders. This module implements
that protocol for multiplication problems **without importing tinker-cookbook** (its releases
pull in ~1.6 GB and do not install from every package index): the cookbook's loop never
checks ``isinstance`` against its own base classes or result types, it calls methods and reads
attributes, so classes with the same methods and dataclasses with the same fields are
drop-in. The signatures below were checked against tinker-cookbook 0.6.1
(``rl/types.py``, ``rl/problem_env.py``, ``rl/rollout_runner.py``, ``renderers/base.py``).

What it adds over the cookbook's ``ProblemEnv``:

* scoring by :class:`mult_env.rewards.Scorer` (strict ``fullmatch`` parser, the log's shaped
  reward) with the cookbook's format term ``format_coef * (format_ok - 1) + correctness``,
  where ``format_ok`` needs both a well-formed answer and a clean stop (the renderer's stop
  sequence, as ``ProblemEnv(require_stop_sequence_for_format=True)`` does);
* numeric ``metrics`` (``correct``, ``format``, ``correctness``, ...) kept apart from string
  ``logs`` (the problem, the reference answer, the truncated response, the parser's reason);
* one problem per group, reproducible batches (batch ``i`` is a pure function of the seed and
  ``i``), and a held-out test dataset drawn from the disjoint ``test`` split.

Observations are real ``tinker.ModelInput`` objects (the ``[tinker-cookbook]`` extra installs
the ``tinker`` SDK, which is imported only when an env is used; docs/integrations/
tinker-cookbook.md gives the install lines, tinker-cookbook itself included).

Example (``renderer`` is any tinker-cookbook renderer, e.g. from
``tinker_cookbook.renderers.get_renderer("qwen3_instruct", tokenizer)``)::

    from mult_env.integrations.tinker_cookbook import MultiplicationDatasetBuilder

    builder = MultiplicationDatasetBuilder(
        renderer=renderer, batch_size=50, group_size=4, difficulty="medium"
    )
    train_dataset, test_dataset = await builder()
    # pass `builder` as tinker_cookbook.rl.train.Config(dataset_builder=...)
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

import numpy as np

from mult_env.curriculum import Curriculum, make_curriculum
from mult_env.integrations.text import message_text
from mult_env.parsers import Parser
from mult_env.problems import Difficulty, Problem, ProblemSet, Split, resolve_difficulty
from mult_env.prompts import Message, PromptStyle, build_messages
from mult_env.rewards import Reward, RewardBreakdown, Scorer

if TYPE_CHECKING:
    import tinker

__all__ = [
    "Action",
    "Logs",
    "Metrics",
    "MultiplicationCurriculumDataset",
    "MultiplicationDatasetBuilder",
    "MultiplicationEnvConfig",
    "MultiplicationGroupBuilder",
    "MultiplicationProblemEnv",
    "MultiplicationRLDataset",
    "Renderer",
    "StepResult",
    "StopCondition",
]

Action: TypeAlias = list[int]
"""Sampled token ids (tinker-cookbook's ``Action``)."""
StopCondition: TypeAlias = list[str] | list[int]
"""Stop strings or stop token ids (tinker-cookbook's ``completers.StopCondition``)."""
Metrics: TypeAlias = dict[str, float | int]
"""Numbers the training loop averages and logs (tinker-cookbook's ``Metrics``)."""
Logs: TypeAlias = dict[str, str | int | float]
"""Diagnostics shown per transition, never aggregated (tinker-cookbook's ``Logs``)."""


@runtime_checkable
class Renderer(Protocol):
    """The part of tinker-cookbook's ``renderers.Renderer`` that this module uses.

    ``parse_response`` returns ``(message, termination)``: tinker-cookbook >= 0.6 gives a
    ``ParseTermination`` (with ``is_stop_sequence`` / ``is_clean``), older releases a ``bool``
    "parsed cleanly"; both are accepted. The message's text is read by the rule of
    :mod:`mult_env.integrations.text`: ``content`` is a string or a list of content parts (only
    ``{"type": "text"}`` parts are read, so thinking parts are ignored); missing or ``None``
    content is the empty reply (malformed, the format penalty); anything else, bytes included,
    raises ``TypeError``.
    """

    def build_generation_prompt(self, messages: list[Any], /) -> tinker.ModelInput: ...

    def get_stop_sequences(self) -> StopCondition: ...

    def parse_response(self, response: list[int], /) -> tuple[Any, Any]: ...


@dataclass
class StepResult:
    """What :meth:`MultiplicationProblemEnv.step` returns.

    Field for field the same as ``tinker_cookbook.rl.types.StepResult``; the cookbook's rollout
    runner only reads these attributes (and may add keys to ``metrics``, so it is a fresh dict).
    """

    reward: float
    """Immediate reward: ``correctness + format_coef * (format_ok - 1)``."""
    episode_done: bool
    """Always True: one answer per episode."""
    next_observation: tinker.ModelInput
    """An empty ``tinker.ModelInput`` (nothing follows the answer)."""
    next_stop_condition: StopCondition
    """The renderer's stop sequences (unused once the episode is done)."""
    metrics: Metrics = field(default_factory=dict)
    """Numeric values averaged into training logs."""
    logs: Logs = field(default_factory=dict)
    """Diagnostic strings for display (not aggregated)."""


@dataclass(frozen=True)
class MultiplicationEnvConfig:
    """How problems are shown and scored; small, frozen and picklable."""

    parser: str | Parser = "answer"
    """A registered parser name (see :data:`mult_env.parsers.PARSERS`) or a picklable parser."""
    reward: str | Reward = "shaped"
    """A registered correctness reward name (``"shaped"``, ``"binary"``) or a picklable one."""
    format_coef: float = 0.1
    """Penalty for a malformed answer or an unclean stop (tinker-cookbook's default)."""
    few_shot: bool = True
    """Prepend the research log's three worked examples as earlier turns."""
    system_prompt: str | None = None
    """Optional system message."""
    assistant_prefix: str = ""
    """Text pre-filled in the assistant turn (passed to the renderer as ``prefill``); the
    scorer parses ``assistant_prefix + response``."""
    require_stop_sequence_for_format: bool = True
    """Count the format as OK only when the renderer's stop sequence ended the response, as
    ``ProblemEnv`` does by default; False also accepts an EOS stop (``termination.is_clean``).
    A truncated response (no stop) is never well-formed."""
    max_logged_chars: int = 400
    """Responses are untrusted and may be huge: ``logs["response"]`` keeps at most this many
    characters."""

    def __post_init__(self) -> None:
        # Fail at construction, not in the middle of a rollout.
        self.scorer()
        if self.max_logged_chars < 0:
            raise ValueError("max_logged_chars must be non-negative")

    @property
    def style(self) -> PromptStyle:
        """The prompt style these settings describe."""
        return PromptStyle(
            few_shot=self.few_shot,
            system_prompt=self.system_prompt,
            assistant_prefix=self.assistant_prefix,
        )

    def scorer(self) -> Scorer:
        """A :class:`Scorer` with these settings."""
        return Scorer(self.parser, self.reward, self.format_coef, self.assistant_prefix)


def _stopped_cleanly(termination: Any, require_stop_sequence: bool) -> bool:
    """Whether the response ended as it should, for either ``parse_response`` convention."""
    if isinstance(termination, bool):  # tinker-cookbook < 0.6: "parsed cleanly"
        return termination
    attribute = "is_stop_sequence" if require_stop_sequence else "is_clean"
    value = getattr(termination, attribute, None)
    if not isinstance(value, bool):
        raise TypeError(
            f"renderer.parse_response returned termination {termination!r}: expected a bool "
            f"or an object with a bool `{attribute}` (tinker-cookbook's ParseTermination)"
        )
    return value


class MultiplicationProblemEnv:
    """One multiplication problem, answered once, on tokens (tinker-cookbook's ``Env``).

    Single-use, like every cookbook env: :meth:`initial_observation` renders the chat
    messages of :func:`mult_env.prompts.build_messages` with the renderer; :meth:`step`
    decodes the sampled tokens with ``renderer.parse_response``, scores the text with
    :class:`~mult_env.rewards.Scorer` and ends the episode.
    """

    def __init__(
        self,
        problem: Problem,
        renderer: Renderer,
        config: MultiplicationEnvConfig = MultiplicationEnvConfig(),
    ) -> None:
        self.problem = problem
        self.renderer = renderer
        self.config = config
        self.scorer = config.scorer()
        self.breakdown: RewardBreakdown | None = None
        """The step's reward breakdown (None before :meth:`step`); its ``total``,
        ``format_ok`` and ``reason`` include the stop rule, so ``total`` is the step's reward."""

    @property
    def messages(self) -> list[Message]:
        """The conversation shown to the model."""
        return build_messages(self.problem, self.config.style)

    @property
    def stop_condition(self) -> StopCondition:
        """The renderer's stop sequences."""
        return self.renderer.get_stop_sequences()

    async def initial_observation(self) -> tuple[tinker.ModelInput, StopCondition]:
        """The rendered prompt (a ``tinker.ModelInput``) and the stop condition."""
        if self.config.assistant_prefix:
            build: Any = self.renderer.build_generation_prompt
            prompt = build(self.messages, prefill=self.config.assistant_prefix)
        else:
            prompt = self.renderer.build_generation_prompt(self.messages)
        return prompt, self.stop_condition

    async def step(self, action: Action, *, extra: Mapping[str, Any] | None = None) -> StepResult:
        """Score the sampled tokens and end the episode.

        ``extra`` is tinker-cookbook's ``ActionExtra``; its ``stop_reason == "length"`` (the
        sampler hit ``max_tokens``) is reported as the one-hot metric ``stop/max_tokens``,
        anything else as ``stop/completed``, which the cookbook mirrors onto
        ``Trajectory.stop_reason``.
        """
        import tinker

        if self.breakdown is not None:
            raise RuntimeError("MultiplicationProblemEnv is single-use: step() was already called")
        if not isinstance(action, list) or not all(type(t) is int for t in action):
            raise TypeError("action must be a list of int token ids")
        message, termination = self.renderer.parse_response(action)
        text = message_text(message)
        clean = _stopped_cleanly(termination, self.config.require_stop_sequence_for_format)
        scored = self.scorer.score(text, self.problem)
        format_ok = scored.format_ok and clean
        penalty = 0.0 if format_ok else -self.scorer.format_coef
        reward = scored.correctness + penalty
        self.breakdown = dataclasses.replace(
            scored,
            total=reward,
            format_penalty=penalty,
            format_ok=format_ok,
            reason=scored.reason if clean or not scored.format_ok else "no clean stop",
        )
        truncated = extra is not None and extra.get("stop_reason") == "length"
        metrics: Metrics = {
            "correct": float(scored.correct),
            "format": float(format_ok),
            "correctness": scored.correctness,
            "format_parse": float(scored.format_ok),
            "stop_clean": float(clean),
            "digits_matched_frac": scored.digits_matched / scored.num_digits,
            "response_tokens": len(action),
            "stop/max_tokens" if truncated else "stop/completed": 1.0,
        }
        limit = self.config.max_logged_chars
        logs: Logs = {
            "problem": str(self.problem),
            "reference_answer": str(self.problem.answer),
            "response": text if len(text) <= limit else text[:limit] + "...",
            "parsed": "" if scored.parsed is None else str(scored.parsed),
            "reason": self.breakdown.reason,
            "termination": str(termination),
        }
        return StepResult(
            reward=reward,
            episode_done=True,
            next_observation=tinker.ModelInput.empty(),
            next_stop_condition=self.stop_condition,
            metrics=metrics,
            logs=logs,
        )


@dataclass(frozen=True)
class MultiplicationGroupBuilder:
    """``group_size`` envs on the *same* problem (tinker-cookbook's ``EnvGroupBuilder``).

    One problem per group, always: group-relative advantages compare answers to one question.

    Picklable (for the cookbook's distributed rollouts) exactly when its renderer is: every
    other field is plain data. A renderer made by ``tinker_cookbook.renderers.get_renderer``
    pickles as its renderer name and ``model_name`` and is rebuilt in the unpickling process
    with ``tinker_cookbook.tokenizer_utils.get_tokenizer(model_name)``, so the builder
    unpickles wherever that call works there: a Hub model id (downloaded or cached), a local
    directory of tokenizer files (``save_pretrained``) at the same path, or a name registered
    with ``tokenizer_utils.register_tokenizer`` in that process. A tokenizer that only loads
    with extra arguments (a GGUF file's, ``gguf_file=...``) must be registered under the
    renderer's ``model_name`` before unpickling; otherwise unpickling raises the loader's
    error.
    """

    problem: Problem
    renderer: Renderer
    group_size: int
    config: MultiplicationEnvConfig = MultiplicationEnvConfig()
    tags: tuple[str, ...] = ("mult_env",)
    """Returned by :meth:`logging_tags`; the cookbook aggregates metrics per tag."""

    def __post_init__(self) -> None:
        if type(self.group_size) is not int or self.group_size < 1:
            raise ValueError(f"group_size must be a positive int, got {self.group_size!r}")

    async def make_envs(self) -> Sequence[MultiplicationProblemEnv]:
        """Fresh single-use envs, all on :attr:`problem`."""
        return [
            MultiplicationProblemEnv(self.problem, self.renderer, self.config)
            for _ in range(self.group_size)
        ]

    async def compute_group_rewards(
        self, trajectory_group: list[Any], env_group: Sequence[Any]
    ) -> list[tuple[float, Metrics]]:
        """No group-level reward: each answer is scored on its own in :meth:`step`."""
        return [(0.0, {}) for _ in trajectory_group]

    async def cleanup(self) -> None:
        """Nothing to release (the cookbook calls this after every group)."""

    def logging_tags(self) -> list[str]:
        """Tags under which the cookbook aggregates this group's metrics."""
        return list(self.tags)


def _tags(digits: tuple[int, int], split: str) -> tuple[str, ...]:
    return ("mult_env", f"mult_{digits[0]}x{digits[1]}", f"mult_env_{split}")


class MultiplicationRLDataset:
    """Batches of group builders over a :class:`~mult_env.problems.ProblemSet`.

    Batch ``i`` holds problems ``i * batch_size ... (i + 1) * batch_size - 1`` of
    ``ProblemSet(difficulty, seed, split)``: the same on every machine, in any order, and for
    the ``test`` split disjoint from every training problem.
    """

    def __init__(
        self,
        renderer: Renderer,
        *,
        batch_size: int,
        group_size: int,
        n_batches: int,
        difficulty: Difficulty = "medium",
        seed: int = 0,
        split: Split = "train",
        config: MultiplicationEnvConfig = MultiplicationEnvConfig(),
    ) -> None:
        for name, value in (("batch_size", batch_size), ("n_batches", n_batches)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if type(group_size) is not int or group_size < 1:
            raise ValueError(f"group_size must be a positive int, got {group_size!r}")
        self.renderer = renderer
        self.batch_size = batch_size
        self.group_size = group_size
        self.n_batches = n_batches
        self.config = config
        self.problems = ProblemSet(difficulty, seed=seed, split=split)
        self.tags = _tags(self.problems.digits, split)

    def get_batch(self, index: int) -> Sequence[MultiplicationGroupBuilder]:
        """The ``batch_size`` group builders of batch ``index`` (``0 <= index < len(self)``)."""
        index = operator.index(index)  # ints and numpy integers; TypeError for anything else
        if not 0 <= index < self.n_batches:
            raise IndexError(f"batch index {index} out of range [0, {self.n_batches})")
        problems = self.problems.take(self.batch_size, start=index * self.batch_size)
        return [
            MultiplicationGroupBuilder(p, self.renderer, self.group_size, self.config, self.tags)
            for p in problems
        ]

    def __len__(self) -> int:
        return self.n_batches


@dataclass(frozen=True)
class _CurriculumGroupBuilder(MultiplicationGroupBuilder):
    """A :class:`MultiplicationGroupBuilder` that records its group's correctness into a
    curriculum once the cookbook has run the group's rollouts."""

    curriculum: Curriculum | None = field(default=None, compare=False)
    difficulty: tuple[int, int] = (1, 1)

    async def compute_group_rewards(
        self, trajectory_group: list[Any], env_group: Sequence[Any]
    ) -> list[tuple[float, Metrics]]:
        """Record the group (every env has stepped by now), then no group-level reward."""
        correct_G = [bool(env.breakdown.correct) for env in env_group if env.breakdown]
        if self.curriculum is not None and correct_G:
            self.curriculum.record(correct_G, self.difficulty)
        return [(0.0, {}) for _ in trajectory_group]


class MultiplicationCurriculumDataset:
    """Training batches that follow a viability curriculum (tinker-cookbook's ``RLDataset``).

    ``get_batch(i)`` draws each problem's rung with ``curriculum.choose`` from a generator
    seeded by ``(seed, i)`` and takes item ``i * batch_size + j`` of that rung's train split;
    each group builder records its group's correctness into :attr:`curriculum` from
    ``compute_group_rewards``, which the cookbook calls after the group's rollouts. So batch
    ``i`` depends on the curriculum's state when the loop asks for it: a pure function of that
    state and ``i``, but not of ``i`` alone.

    Limits that come from the cookbook's loop, not from this class:

    * the recording happens where ``compute_group_rewards`` runs: in-process (the default) it
      reaches :attr:`curriculum`; with a ``rollout_executor`` of other processes the builders
      are pickled and each records into its own copy, so the curriculum does not move;
    * in async / off-policy training the loop asks for batch ``i + 1`` before batch ``i``'s
      rewards are in, so the curriculum lags by the pipeline's depth;
    * the cookbook's checkpoints do not include this dataset: save ``curriculum.state_dict()``
      next to them and pass the restored curriculum when resuming, or the run restarts the
      controller from its first rung.

    Groups are tagged ``mult_<A>x<B>`` by rung, so the cookbook's per-tag metrics (e.g.
    ``env/mult_2x1/correct``) give the per-rung accuracy.
    """

    def __init__(
        self,
        renderer: Renderer,
        *,
        batch_size: int,
        group_size: int,
        n_batches: int,
        curriculum: Curriculum | str | Mapping[str, Any] = "viability",
        seed: int = 0,
        config: MultiplicationEnvConfig = MultiplicationEnvConfig(),
    ) -> None:
        for name, value in (("batch_size", batch_size), ("n_batches", n_batches)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if type(group_size) is not int or group_size < 1:
            raise ValueError(f"group_size must be a positive int, got {group_size!r}")
        made = make_curriculum(curriculum)
        if made is None:
            raise ValueError("MultiplicationCurriculumDataset needs a curriculum")
        self.curriculum: Curriculum = made
        self.renderer = renderer
        self.batch_size = batch_size
        self.group_size = group_size
        self.n_batches = n_batches
        self.seed = seed
        self.config = config
        self._sets = {d: ProblemSet(d, seed=seed, split="train") for d in made.ladder}

    def get_batch(self, index: int) -> Sequence[MultiplicationGroupBuilder]:
        """The ``batch_size`` group builders of batch ``index``, from the current rung."""
        index = operator.index(index)
        if not 0 <= index < self.n_batches:
            raise IndexError(f"batch index {index} out of range [0, {self.n_batches})")
        rng = np.random.default_rng([self.seed, index])
        builders: list[MultiplicationGroupBuilder] = []
        for j in range(self.batch_size):
            rung = self.curriculum.choose(rng)
            builders.append(
                _CurriculumGroupBuilder(
                    self._sets[rung][index * self.batch_size + j],
                    self.renderer,
                    self.group_size,
                    self.config,
                    _tags(rung, "train"),
                    curriculum=self.curriculum,
                    difficulty=rung,
                )
            )
        return builders

    def __len__(self) -> int:
        return self.n_batches


@dataclass(frozen=True)
class MultiplicationDatasetBuilder:
    """Builds the training dataset and a held-out test dataset (tinker-cookbook's
    ``RLDatasetBuilder``: ``await builder()`` returns ``(train, test)``).

    The defaults reproduce the research log: medium (3x3) problems, 100 batches of 50 problems
    x 4 samples, and a held-out evaluation of 100 problems drawn with seed 42 from the test
    split, sampled once each.
    """

    renderer: Renderer
    """Turns messages into tokens and sampled tokens back into a message."""
    batch_size: int = 50
    """Problems (groups) per training batch."""
    group_size: int = 4
    """Samples per problem."""
    n_batches: int = 100
    """Training batches."""
    difficulty: Difficulty = "medium"
    """A difficulty name, ``"AxB"`` or a pair of digit counts."""
    seed: int = 0
    """Seed of the training problem stream."""
    config: MultiplicationEnvConfig = MultiplicationEnvConfig()
    """Prompt and scoring settings, shared by train and test."""
    n_test_problems: int = 100
    """Held-out problems; 0 for no test dataset."""
    test_seed: int = 42
    """Seed of the held-out stream (the log's "100 random problems, seed=42")."""
    test_group_size: int = 1
    """Samples per held-out problem."""
    test_batch_size: int = 100
    """Held-out problems per evaluation batch."""

    def __post_init__(self) -> None:
        # Every size is checked here, so a bad one fails when the config is written, not in
        # the middle of a run (a zero test_batch_size used to surface as a ZeroDivisionError).
        sizes = ("batch_size", "group_size", "n_batches", "test_group_size", "test_batch_size")
        for name in sizes:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("n_test_problems", "seed", "test_seed"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        resolve_difficulty(self.difficulty)
        if self.n_test_problems % min(self.test_batch_size, self.n_test_problems or 1):
            raise ValueError(
                f"n_test_problems={self.n_test_problems} must be a multiple of "
                f"test_batch_size={self.test_batch_size}"
            )

    async def __call__(self) -> tuple[MultiplicationRLDataset, MultiplicationRLDataset | None]:
        """``(train, test)``; ``test`` is None when ``n_test_problems == 0``."""
        train = MultiplicationRLDataset(
            self.renderer,
            batch_size=self.batch_size,
            group_size=self.group_size,
            n_batches=self.n_batches,
            difficulty=self.difficulty,
            seed=self.seed,
            split="train",
            config=self.config,
        )
        if self.n_test_problems == 0:
            return train, None
        test_batch = min(self.test_batch_size, self.n_test_problems)
        test = MultiplicationRLDataset(
            self.renderer,
            batch_size=test_batch,
            group_size=self.test_group_size,
            n_batches=self.n_test_problems // test_batch,
            difficulty=self.difficulty,
            seed=self.test_seed,
            split="test",
            config=self.config,
        )
        return train, test
