"""The verifiers (>= 0.4, ``verifiers.v1``) classes behind :mod:`mult_env.integrations.verifiers`.

Private: import the public names from :mod:`mult_env.integrations.verifiers`, which loads this
module (and so verifiers) only when one of them is first used.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any, Literal

import verifiers.v1 as vf  # type: ignore[import-untyped]
from pydantic import Field, field_validator, model_validator
from verifiers.v1.harnesses.null import NullHarness  # type: ignore[import-untyped]

from mult_env.problems import Problem, ProblemSet, resolve_difficulty
from mult_env.prompts import PromptStyle, build_messages
from mult_env.rewards import RewardBreakdown, Scorer

__all__ = [
    "MultiplicationData",
    "MultiplicationHarness",
    "MultiplicationTask",
    "MultiplicationTaskConfig",
    "MultiplicationTaskset",
    "MultiplicationTasksetConfig",
]

_DECIMAL = re.compile(r"[1-9][0-9]*|0", re.ASCII)


class MultiplicationData(vf.TaskData):  # type: ignore[misc]
    """One problem, as recorded on every verifiers trace (``trace.task.data``).

    Operands and answer are decimal strings: traces travel as JSON and msgpack, and msgpack
    cannot carry the integers of the larger difficulties (products above 2**64).
    """

    a: str
    """First operand."""
    b: str
    """Second operand."""
    answer: str
    """The exact product, the reference answer."""
    difficulty: str
    """Operand digit counts, ``"AxB"`` (``"3x3"`` is the log's medium)."""
    split: Literal["train", "test"]
    """Which disjoint split of the problem space the problem comes from."""
    seed: int
    """Seed of the problem stream."""
    index: int
    """Position in ``ProblemSet(difficulty, seed, split)``."""

    @field_validator("a", "b", "answer")
    @classmethod
    def _canonical_decimal(cls, value: str) -> str:
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"expected a canonical non-negative decimal integer, got {value!r}")
        return value

    @model_validator(mode="after")
    def _answer_is_the_product(self) -> MultiplicationData:
        # Task data can come back from disk or the wire: never score against a wrong answer.
        if int(self.a) * int(self.b) != int(self.answer):
            raise ValueError(f"answer {self.answer} is not {self.a} * {self.b}")
        return self

    @property
    def problem(self) -> Problem:
        """The :class:`~mult_env.problems.Problem` this task asks."""
        return Problem(int(self.a), int(self.b))


class MultiplicationTaskConfig(vf.TaskConfig):  # type: ignore[misc]
    """How replies are scored (``--env.taskset.task.*`` on the verifiers command line)."""

    parser: str = "answer"
    """A registered parser (:data:`mult_env.parsers.PARSERS`): ``answer`` (the log's strict
    "The answer is N."), ``boxed``, ``think_answer``, ``think_boxed``, or ``last_number``
    (exploitable, for comparison only)."""
    reward: str = "shaped"
    """A registered correctness reward: ``shaped`` (partial credit for leading digits) or
    ``binary``."""
    format_coef: float = Field(0.1, ge=0.0, le=1.0)
    """A malformed reply costs this much (the ``format_penalty`` reward)."""

    @model_validator(mode="after")
    def _known_names(self) -> MultiplicationTaskConfig:
        Scorer(self.parser, self.reward, self.format_coef)  # raises on unknown names
        return self


class MultiplicationTask(vf.Task[MultiplicationData, vf.State, MultiplicationTaskConfig]):  # type: ignore[misc]
    """Scores the model's final reply with :class:`mult_env.rewards.Scorer`.

    Two weighted rewards, whose sum (verifiers' ``trace.reward``) is the Scorer's total
    ``correctness + format_coef * (format_ok - 1)``:

    * ``correctness``: the configured reward (shaped or binary) of the parsed answer;
    * ``format_penalty``: 0.0 for a well-formed reply, ``-format_coef`` otherwise.

    Metrics (recorded, not summed): ``correct``, ``format_ok``, ``digits_matched`` and
    ``num_digits``. Only the reply is read (``trace.last_reply``, the last *sampled* assistant
    message), never the few-shot turns of the prompt.
    """

    NEEDS_CONTAINER = False

    @property
    def scorer(self) -> Scorer:
        """The Scorer this task's config describes."""
        return Scorer(self.config.parser, self.config.reward, self.config.format_coef)

    def breakdown(self, trace: vf.Trace) -> RewardBreakdown:
        """Every reward component of the trace's reply."""
        return self.scorer.score(trace.last_reply, self.data.problem)

    @vf.reward(weight=1.0)  # type: ignore[untyped-decorator]
    async def correctness(self, trace: vf.Trace) -> float:
        """The correctness reward in ``[0, 1]``."""
        return self.breakdown(trace).correctness

    @vf.reward(weight=1.0)  # type: ignore[untyped-decorator]
    async def format_penalty(self, trace: vf.Trace) -> float:
        """``0.0`` or ``-format_coef``."""
        return self.breakdown(trace).format_penalty

    @vf.metric  # type: ignore[untyped-decorator]
    async def answer_metrics(self, trace: vf.Trace) -> dict[str, float]:
        """Binary accuracy and format rate, whatever the training reward."""
        scored = self.breakdown(trace)
        return {
            "correct": float(scored.correct),
            "format_ok": float(scored.format_ok),
            "digits_matched": float(scored.digits_matched),
            "num_digits": float(scored.num_digits),
        }

    async def validate(self, runtime: Any = None) -> bool:
        """The gold check of ``vf-validate``: the reference reply, in the format the prompt
        asks for, must score a total of exactly 1.0 with the configured parser and reward.

        Fails for a parser that does not accept the prompt's format (e.g. ``boxed``), which
        would otherwise train on a reward no reply can earn.
        """
        reference = f"The answer is {self.data.answer}."
        return self.scorer.score(reference, self.data.problem).total == 1.0


class MultiplicationTasksetConfig(vf.TasksetConfig):  # type: ignore[misc]
    """Which problems load (``--env.taskset.*`` on the verifiers command line)."""

    difficulty: str = "medium"
    """``tiny``, ``easy``, ``medium`` (3x3, the log's), ``hard``, ``expert`` or ``"AxB"``."""
    split: Literal["train", "test"] = "train"
    """``train`` for training, ``test`` for held-out evaluation (disjoint by construction)."""
    seed: int = Field(0, ge=0)
    """Seed of the problem stream (the log evaluates 100 test problems with seed 42)."""
    num_tasks: int | None = Field(None, ge=1)
    """How many problems; None streams forever (bound an eval with ``-n``)."""
    few_shot: bool = True
    """Prepend the log's three worked examples (12x15, 34x27, 847x293) as earlier turns."""
    task: MultiplicationTaskConfig = MultiplicationTaskConfig()
    """Scoring settings passed to every task."""

    @field_validator("difficulty")
    @classmethod
    def _known_difficulty(cls, value: str) -> str:
        resolve_difficulty(value)
        return value


class MultiplicationTaskset(vf.Taskset[MultiplicationTask, MultiplicationTasksetConfig]):  # type: ignore[misc]
    """Problems of ``ProblemSet(difficulty, seed, split)``, in order, as chat prompts.

    Task ``i`` is item ``i`` of the stream: the same on every machine. Infinite unless
    ``num_tasks`` is set.
    """

    def __init__(self, config: MultiplicationTasksetConfig) -> None:
        super().__init__(config)
        self.INFINITE = config.num_tasks is None

    def load(self) -> Iterator[MultiplicationTask]:
        config = self.config
        problems = ProblemSet(config.difficulty, seed=config.seed, split=config.split)
        da, db = problems.digits
        style = PromptStyle(few_shot=config.few_shot)
        indices = itertools.count() if config.num_tasks is None else range(config.num_tasks)
        for i in indices:
            problem = problems[i]
            data = MultiplicationData(
                id=f"mult_env/{da}x{db}/{config.split}/{config.seed}/{i}",  # 0.4 keeps it
                idx=i,
                name=str(problem),
                prompt=build_messages(problem, style),
                a=str(problem.a),
                b=str(problem.b),
                answer=str(problem.answer),
                difficulty=f"{da}x{db}",
                split=config.split,
                seed=config.seed,
                index=i,
            )
            yield MultiplicationTask(data, config.task)


class MultiplicationHarness(NullHarness):  # type: ignore[misc]
    """The default harness of ``mult-env-v1``: verifiers' tool-less chat loop (``null``).

    Exported so that verifiers picks it instead of its ``bash`` default: an agent with a shell
    can compute ``a * b`` in Python, which would reward tool use instead of the skill this
    environment trains. Another harness can still be chosen with ``--env.agent.harness.id``.
    """
