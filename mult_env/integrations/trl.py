"""TRL adapter: a ``datasets.Dataset`` of problems and reward functions for ``GRPOTrainer``.

Why: TRL's ``GRPOTrainer`` takes a dataset with a ``prompt`` column and reward functions with the
signature ``(prompts, completions, **columns) -> list[float]``, where every other dataset column
arrives as a keyword argument (one value per completion). This module provides both, built on
:class:`mult_env.rewards.Scorer`, so TRL users train on exactly the same prompts, parser and
rewards as mult_env's own trainer::

    from trl import GRPOConfig, GRPOTrainer
    from mult_env.integrations.trl import build_dataset, reward_funcs

    trainer = GRPOTrainer(
        model="...",
        reward_funcs=reward_funcs(),  # [correctness, format]: they sum to mult_env's total
        train_dataset=build_dataset("medium", 1000),
        args=GRPOConfig(...),
    )

Dataset columns (see :func:`build_dataset`):

``prompt``
    The chat messages of :func:`mult_env.prompts.build_messages` (a conversational prompt), or,
    when the style pre-fills the assistant turn, the chat-templated text ending in that prefix.
``a``, ``b``, ``answer``
    Operands and product as **decimal strings**: products of large difficulties exceed int64
    (Arrow's widest integer), and one schema for every difficulty beats one that changes type
    at 10 digits. ``int(row["answer"])`` is exact.
``index``
    The item index in the :class:`~mult_env.problems.ProblemSet` (int64), for traceability.
``assistant_prefix``
    The text the assistant turn was pre-filled with (usually ``""``); reward functions prepend
    it to each completion before parsing.

Completions are untrusted model output: the reward functions accept plain strings and
conversational completions (a list of message dicts; the last assistant message's content is
scored), and everything else about them is decided by mult_env's total, linear-time parsers.

Metrics: TRL >= 1.x passes a ``log_metric(name, value)`` callable to reward functions (see
``GRPOTrainer._calculate_rewards``); when it is present, each reward function logs the batch's
``mult_env/accuracy``, ``mult_env/format_rate``, ``mult_env/reward_mean`` and the group-signal
fractions ``mult_env/frac_mixed``, ``mult_env/frac_all_good``, ``mult_env/frac_all_bad``
(:func:`mult_env.metrics.batch_metrics`), averaged by TRL over each logging step. With
``log_completions=True`` it also adds ``parsed`` and ``parse_reason`` columns to TRL's
completions table through the ``log_extra`` hook.

``datasets`` is imported lazily, so importing this module needs neither it nor TRL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from mult_env.integrations.text import completion_text, message_text
from mult_env.metrics import batch_metrics
from mult_env.parsers import Parser, ParseResult
from mult_env.problems import Difficulty, Problem, ProblemSet, Split
from mult_env.prompts import Message, PromptStyle, build_messages
from mult_env.rewards import Reward, RewardBreakdown, Scorer

if TYPE_CHECKING:
    from datasets import Dataset  # type: ignore[import-untyped,import-not-found,unused-ignore]

__all__ = [
    "COMPONENTS",
    "DEFAULT_STYLE",
    "INSTALL_HINT",
    "Component",
    "MultiplicationEnvironment",
    "MultiplicationReward",
    "build_dataset",
    "completion_text",
    "problems_dataset",
    "reward_funcs",
]

INSTALL_HINT = "pip install 'trl>=1.0' 'datasets>=3.0' (what the mult-env[trl] extra installs)"
"""The command that installs what this adapter needs (it works before mult-env is published)."""

Component = Literal["total", "correctness", "format", "accuracy"]
COMPONENTS: tuple[Component, ...] = get_args(Component)
"""What a :class:`MultiplicationReward` can return per completion:

* ``total``: what mult_env trains on, ``correctness + format`` (in ``[-format_coef, 1]``);
* ``correctness``: the correctness reward (``shaped`` or ``binary``) in ``[0, 1]``;
* ``format``: the format term, ``0.0`` if well-formed else ``-format_coef``;
* ``accuracy``: ``1.0`` for the exact product, else ``0.0`` (whatever the correctness reward),
  handy as a logged-only function with ``reward_weights`` 0.

``correctness`` and ``format`` with weights 1 sum exactly to ``total``.
"""

DEFAULT_STYLE = PromptStyle()
"""The default prompt style: the log's few-shot prefix, no system prompt, no pre-fill."""

MAX_OPERAND_CHARS = 64
"""Longest operand string accepted from a dataset column (mult_env operands have <= 20 digits)."""


def _missing(module: str, error: ImportError) -> ImportError:
    return ImportError(
        f"mult_env.integrations.trl needs the {module!r} package: {INSTALL_HINT} ({error})"
    )


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------


def _render_prefilled(messages: list[Message], prefix: str, tokenizer: Any) -> str:
    """Chat-template ``messages`` with an open assistant turn, then append ``prefix``.

    TRL 1.16's ``GRPOTrainer`` always renders conversational prompts with
    ``add_generation_prompt=True``, which would *close* a trailing assistant message and open a
    new one, so a pre-filled assistant turn must be rendered to text here. TRL tokenizes text
    prompts with the tokenizer's default special tokens; if that already adds the BOS token the
    template wrote, the template's copy is dropped so it does not appear twice.
    """
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(
            "an assistant_prefix needs a tokenizer with a chat template, to render the prompt "
            "as text ending in the open assistant turn"
        )
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError(f"apply_chat_template returned {type(text).__name__}, expected str")
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos):
        auto_ids = tokenizer("", add_special_tokens=True)["input_ids"]
        if getattr(tokenizer, "bos_token_id", None) in auto_ids:
            text = text[len(bos) :]
    return text + prefix


def problems_dataset(
    problems: Sequence[Problem],
    style: PromptStyle = DEFAULT_STYLE,
    *,
    tokenizer: Any = None,
    indices: Sequence[int] | None = None,
) -> Dataset:
    """A TRL-ready ``datasets.Dataset`` of the given problems (columns: see the module doc).

    The ``prompt`` column is conversational (``build_messages(problem, style)``: few-shot turns
    and system prompt as the style says). If ``style.assistant_prefix`` is non-empty the prompt
    is instead rendered to text with ``tokenizer``'s chat template and ends with the prefix
    (TRL continues text prompts; it does not continue a trailing assistant message), so a
    ``tokenizer`` is then required.
    """
    try:
        import datasets
    except ImportError as e:
        raise _missing("datasets", e) from e
    if indices is None:
        indices = range(len(problems))
    elif len(indices) != len(problems):
        raise ValueError(f"got {len(indices)} indices for {len(problems)} problems")
    prefix = style.assistant_prefix
    if prefix and tokenizer is None:
        raise ValueError(
            f"style.assistant_prefix={prefix!r} needs tokenizer=...: the prompt is rendered "
            "with its chat template and ends with the prefix, because TRL's GRPOTrainer does "
            "not continue a pre-filled assistant message"
        )
    message = {"role": datasets.Value("string"), "content": datasets.Value("string")}
    string = datasets.Value("string")
    features = datasets.Features(
        {
            "prompt": string if prefix else [message],
            "a": string,
            "b": string,
            "answer": string,
            "index": datasets.Value("int64"),
            "assistant_prefix": string,
        }
    )
    prompts: list[Any] = []
    for problem in problems:
        messages = build_messages(problem, style)
        prompts.append(_render_prefilled(messages, prefix, tokenizer) if prefix else messages)
    columns = {
        "prompt": prompts,
        "a": [str(p.a) for p in problems],
        "b": [str(p.b) for p in problems],
        "answer": [str(p.answer) for p in problems],
        "index": [int(i) for i in indices],
        "assistant_prefix": [prefix] * len(problems),
    }
    return datasets.Dataset.from_dict(columns, features=features)


def build_dataset(
    difficulty: Difficulty = "medium",
    n: int = 1000,
    *,
    seed: int = 0,
    split: Split = "train",
    start: int = 0,
    style: PromptStyle = DEFAULT_STYLE,
    tokenizer: Any = None,
) -> Dataset:
    """Items ``start .. start+n-1`` of ``ProblemSet(difficulty, seed, split)`` as a dataset.

    The same ``(difficulty, seed, split, start, n)`` gives the same rows on every machine; use
    ``split="test"`` for a held-out evaluation set (disjoint from every training stream).
    See :func:`problems_dataset` for the columns and the ``tokenizer`` argument.
    """
    if type(n) is not int or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    problem_set = ProblemSet(difficulty, seed=seed, split=split)
    return problems_dataset(
        problem_set.take(n, start), style, tokenizer=tokenizer, indices=range(start, start + n)
    )


# --------------------------------------------------------------------------------------------
# Reward functions
# --------------------------------------------------------------------------------------------


def _operand(value: object, column: str) -> int:
    """A non-negative integer from a dataset cell: an integer (``int``, ``numpy.int64``, any
    type with ``__index__`` but ``bool``) or a string of ASCII digits."""
    if not isinstance(value, str | bool | bytes):
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
        else:
            if number >= 0:
                return number
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_OPERAND_CHARS
        and value.isascii()
        and value.isdigit()
    ):
        return int(value)
    raise ValueError(f"column {column!r} must hold non-negative integers, got {value!r}")


def _column(kwargs: Mapping[str, Any], name: str, n: int) -> Sequence[Any]:
    if name not in kwargs:
        raise KeyError(
            f"the reward function needs the dataset column {name!r} (build the dataset with "
            "mult_env.integrations.trl.build_dataset, or add 'a' and 'b' columns)"
        )
    values: Sequence[Any] = kwargs[name]
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def _optional_column(kwargs: Mapping[str, Any], name: str, n: int) -> Sequence[Any] | None:
    return _column(kwargs, name, n) if kwargs.get(name) is not None else None


def _prompt_prefix(prompt: object) -> str:
    """A conversational prompt ending in an assistant message pre-fills that message."""
    if (
        isinstance(prompt, list)
        and prompt
        and isinstance(prompt[-1], Mapping)
        and prompt[-1].get("role") == "assistant"
    ):
        return message_text(prompt[-1])
    return ""


class MultiplicationReward:
    """A TRL reward function returning one component of mult_env's :class:`RewardBreakdown`.

    Called by TRL as ``reward(prompts=..., completions=..., a=[...], b=[...], ...)`` with one
    entry per completion; returns one float per completion. Problems are rebuilt from the
    ``a`` and ``b`` columns (ints or decimal strings); an ``answer`` column, if present, must
    agree with ``a * b``, so a mislabelled dataset fails loudly instead of training on wrong
    targets. The assistant prefix of each row is the ``assistant_prefix`` column if present,
    else the content of a trailing assistant message in a conversational prompt.

    Instances have a ``__name__`` (``name``, default the component), which TRL uses in its
    logs: ``rewards/<name>/mean``. They are picklable (for multiprocess trainers).
    """

    def __init__(
        self,
        component: Component = "total",
        *,
        parser: Parser | Callable[[str], ParseResult] | str = "answer",
        reward: Reward | Callable[[int | None, int], float] | str = "shaped",
        format_coef: float = 0.1,
        name: str | None = None,
        log_metrics: bool = True,
        log_completions: bool = False,
    ) -> None:
        """Configure the component, the mult_env parser/reward/format term, and logging.

        ``log_metrics`` logs batch metrics through TRL's ``log_metric`` hook when TRL passes
        one (identical values from several functions average to the same number, so it is safe
        to leave on for all of them). ``log_completions`` adds ``parsed``/``parse_reason``
        columns to TRL's completions table; enable it on **one** function only, because each
        call appends a full column.
        """
        if component not in COMPONENTS:
            raise ValueError(f"component must be one of {COMPONENTS}, got {component!r}")
        self.component: Component = component
        self.scorer = Scorer(parser=parser, reward=reward, format_coef=format_coef)
        self.__name__ = name if name is not None else component
        self.log_metrics = log_metrics
        self.log_completions = log_completions

    def breakdowns(
        self,
        prompts: Sequence[Any],
        completions: Sequence[str | Sequence[Mapping[str, Any]]],
        **kwargs: Any,
    ) -> list[RewardBreakdown]:
        """Score every completion against its row's problem (the full breakdowns)."""
        n = len(completions)
        if len(prompts) != n:
            raise ValueError(f"got {len(prompts)} prompts for {n} completions")
        a_col, b_col = _column(kwargs, "a", n), _column(kwargs, "b", n)
        answers = _optional_column(kwargs, "answer", n)
        prefixes = _optional_column(kwargs, "assistant_prefix", n)
        out = []
        for i in range(n):
            problem = Problem(_operand(a_col[i], "a"), _operand(b_col[i], "b"))
            if answers is not None and _operand(answers[i], "answer") != problem.answer:
                raise ValueError(
                    f"row {i}: column 'answer' is {answers[i]!r} but a * b = {problem.answer}"
                )
            prefix = prefixes[i] if prefixes is not None else _prompt_prefix(prompts[i])
            if not isinstance(prefix, str):
                raise TypeError(f"row {i}: assistant_prefix must be a str, got {prefix!r}")
            out.append(self.scorer.score(prefix + completion_text(completions[i]), problem))
        return out

    def values(self, breakdowns: Sequence[RewardBreakdown]) -> list[float]:
        """This function's component of each breakdown."""
        if self.component == "total":
            return [b.total for b in breakdowns]
        if self.component == "correctness":
            return [b.correctness for b in breakdowns]
        if self.component == "format":
            return [b.format_penalty for b in breakdowns]
        return [1.0 if b.correct else 0.0 for b in breakdowns]

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[str | Sequence[Mapping[str, Any]]],
        **kwargs: Any,
    ) -> list[float]:
        """TRL's reward-function signature: one float per completion."""
        breakdowns = self.breakdowns(prompts, completions, **kwargs)
        log_metric = kwargs.get("log_metric")
        if self.log_metrics and callable(log_metric) and breakdowns:
            for key, value in _batch_metrics(breakdowns, kwargs).items():
                log_metric(f"mult_env/{key}", value)
        log_extra = kwargs.get("log_extra")
        if self.log_completions and callable(log_extra):
            log_extra("parsed", [None if b.parsed is None else str(b.parsed) for b in breakdowns])
            log_extra("parse_reason", [b.reason for b in breakdowns])
        return self.values(breakdowns)

    def __repr__(self) -> str:
        return (
            f"MultiplicationReward({self.component!r}, name={self.__name__!r}, "
            f"scorer={self.scorer!r})"
        )


def _batch_metrics(
    breakdowns: Sequence[RewardBreakdown], kwargs: Mapping[str, Any]
) -> dict[str, float]:
    """:func:`batch_metrics` over this call's GRPO groups.

    TRL's ``RepeatSampler`` puts the ``num_generations`` completions of one dataset row next to
    each other, and no row twice in one generation batch, so a group is a run of consecutive
    rows of the same dataset row. A row is identified by its ``index`` column (the item index of
    :func:`build_dataset`), ``a``, ``b`` and ``assistant_prefix``: two rows that ask the same
    problem (frequent at small difficulties) are still two groups. Across several processes a
    group may be split, and each part is counted as a group of its own on its process.
    """
    names = ("index", "a", "b", "assistant_prefix")
    columns = [kwargs[name] for name in names if kwargs.get(name) is not None]
    groups: list[list[RewardBreakdown]] = []
    previous: tuple[str, ...] | None = None
    for i, breakdown in enumerate(breakdowns):
        key = tuple(str(column[i]) for column in columns)
        if key != previous or not groups:
            groups.append([])
        groups[-1].append(breakdown)
        previous = key
    return batch_metrics(groups)


def reward_funcs(
    components: Sequence[Component] = ("correctness", "format"),
    *,
    parser: Parser | Callable[[str], ParseResult] | str = "answer",
    reward: Reward | Callable[[int | None, int], float] | str = "shaped",
    format_coef: float = 0.1,
    log_metrics: bool = True,
    log_completions: bool = False,
) -> list[MultiplicationReward]:
    """Reward functions for ``GRPOTrainer(reward_funcs=...)``, one per component.

    The default ``("correctness", "format")`` sums (with TRL's default weights of 1) to
    mult_env's ``total`` while TRL logs each part as ``rewards/correctness/mean`` and
    ``rewards/format/mean``. Use ``("total",)`` for a single function. Only the first function
    logs batch metrics and completion columns, so each is logged once per batch (TRL's
    completions table needs exactly one value per completion).
    """
    if not components:
        raise ValueError("components must name at least one of " + ", ".join(COMPONENTS))
    if len(set(components)) != len(components):
        raise ValueError(f"components must be distinct (TRL keys its logs by name): {components}")
    return [
        MultiplicationReward(
            component,
            parser=parser,
            reward=reward,
            format_coef=format_coef,
            log_metrics=log_metrics and i == 0,
            log_completions=log_completions and i == 0,
        )
        for i, component in enumerate(components)
    ]


# --------------------------------------------------------------------------------------------
# environment_factory
# --------------------------------------------------------------------------------------------


class MultiplicationEnvironment:
    """mult_env for TRL's ``GRPOTrainer(environment_factory=MultiplicationEnvironment)``.

    TRL (>= 1.x, experimental there) makes one instance per rollout, calls ``reset(**row)`` with
    the dataset row, exposes the public methods (here only :meth:`submit_answer`) to the model as
    tools, and scores the finished rollout with :meth:`get_reward`. The problem comes from the
    row's ``a`` and ``b`` columns (:func:`build_dataset`), checked like the reward functions
    check them; ``reset`` returns :attr:`INSTRUCTION`, which TRL appends to the last user
    message, so the model is told to answer through the tool.

    The reward is :class:`~mult_env.rewards.Scorer`'s total of the *first* submission, parsed
    by the configured parser (``"answer"``: "N" or "The answer is N."): later submissions are
    ignored, so guessing several times earns nothing, and the tool's reply never says whether
    the answer was right. No submission scores as the empty reply (malformed: ``-format_coef``).
    A submission that is neither a string nor an integer raises ``TypeError``, which TRL hands
    back to the model as the tool's error, and counts as no submission.

    For a one-step task the reward-function route (:func:`reward_funcs`) trains on the same
    reward without a tool-capable chat template or tool schema in every prompt; use this class
    when the problem must be answered through a tool, e.g. alongside tool-using environments
    in a ``dict`` ``environment_factory`` (see ``docs/integrations/trl.md``).
    """

    INSTRUCTION = "\nSubmit N, the exact product, with the submit_answer tool."
    """Appended by TRL to the last user message of the prompt."""

    def __init__(
        self,
        *,
        parser: Parser | Callable[[str], ParseResult] | str = "answer",
        reward: Reward | Callable[[int | None, int], float] | str = "shaped",
        format_coef: float = 0.1,
    ) -> None:
        """Configure the parser, correctness reward and format term (as :class:`Scorer`)."""
        self.scorer = Scorer(parser=parser, reward=reward, format_coef=format_coef)
        self.problem: Problem | None = None
        self.submission: str | None = None
        """The first submitted answer of this rollout (None: nothing submitted yet)."""
        self.submissions = 0
        """How many times :meth:`submit_answer` was called in this rollout."""

    def reset(self, **row: Any) -> str:
        """Start a rollout on the row's problem; returns the instruction TRL appends."""
        problem = Problem(_operand(row.get("a"), "a"), _operand(row.get("b"), "b"))
        answer = row.get("answer")
        if answer is not None and _operand(answer, "answer") != problem.answer:
            raise ValueError(f"column 'answer' is {answer!r} but a * b = {problem.answer}")
        if row.get("assistant_prefix"):
            raise ValueError(
                "environment_factory needs conversational prompts; build the dataset without "
                "an assistant_prefix"
            )
        self.problem, self.submission, self.submissions = problem, None, 0
        return self.INSTRUCTION

    def submit_answer(self, answer: str) -> str:
        """Submit the final answer to the multiplication problem. Only the first submission counts.

        Args:
            answer: The exact product N, e.g. "248171".

        Returns:
            A confirmation that the answer was recorded.
        """
        if self.problem is None:
            raise RuntimeError("reset() must be called before submit_answer()")
        self.submissions += 1
        if isinstance(answer, int) and not isinstance(answer, bool):
            answer = str(answer)  # a JSON number in the tool call's arguments
        if not isinstance(answer, str):
            raise TypeError(f"answer must be a string of digits, not {type(answer).__name__}")
        if self.submission is None:
            self.submission = answer
        return "Answer recorded."

    @property
    def breakdown(self) -> RewardBreakdown:
        """The reward breakdown of this rollout's first submission."""
        if self.problem is None:
            raise RuntimeError("reset() must be called before the rollout is scored")
        return self.scorer.score(self.submission or "", self.problem)

    def get_reward(self) -> float:
        """The rollout's reward (TRL logs it as ``rewards/MultiplicationEnvironment/mean``)."""
        return self.breakdown.total
