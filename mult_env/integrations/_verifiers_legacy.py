"""The verifiers 0.3 legacy-API environment behind :func:`mult_env_v1.load_environment`.

Private: use :func:`mult_env.integrations.verifiers.load_legacy_environment` (or verifiers'
own ``vf.load_environment("mult-env-v1")``), which loads this module, and so
``verifiers.legacy``, only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import datasets  # type: ignore[import-untyped,import-not-found,unused-ignore]
import verifiers.legacy as vf  # type: ignore[import-untyped,import-not-found,unused-ignore]

from mult_env.integrations.text import completion_text
from mult_env.problems import Problem, ProblemSet, Split
from mult_env.prompts import PromptStyle, build_messages
from mult_env.rewards import RewardBreakdown, Scorer

__all__ = ["build_dataset", "build_environment"]


def build_dataset(difficulty: str, split: Split, seed: int, n: int, few_shot: bool) -> Any:
    """Items ``0 .. n-1`` of ``ProblemSet(difficulty, seed, split)`` in the legacy row format.

    ``prompt`` is the chat of :func:`mult_env.prompts.build_messages` (verifiers keeps a
    dataset's own ``prompt`` column), ``answer`` the product as a decimal string, ``info`` the
    operands (decimal strings: products of large difficulties exceed Arrow's int64) and where
    the problem comes from.
    """
    problems = ProblemSet(difficulty, seed=seed, split=split)
    da, db = problems.digits
    style = PromptStyle(few_shot=few_shot)
    rows = [problems[i] for i in range(n)]
    return datasets.Dataset.from_dict(
        {
            "prompt": [build_messages(p, style) for p in rows],
            "answer": [str(p.answer) for p in rows],
            "info": [
                {
                    "a": str(p.a),
                    "b": str(p.b),
                    "difficulty": f"{da}x{db}",
                    "split": split,
                    "seed": seed,
                    "index": i,
                }
                for i, p in enumerate(rows)
            ],
        }
    )


def _plain(message: Any) -> Any:
    """verifiers 0.3 hands messages over as its pydantic models; the text rule reads dicts."""
    dump = getattr(message, "model_dump", None)
    return dump() if callable(dump) else message


def _problem(answer: object, info: object) -> Problem:
    if not isinstance(info, Mapping):
        raise TypeError(f"the row's info must be a dict with 'a' and 'b', got {info!r}")
    a, b = info.get("a"), info.get("b")
    if not (isinstance(a, str) and a.isascii() and a.isdigit()):
        raise ValueError(f"info['a'] must be a decimal string, got {a!r}")
    if not (isinstance(b, str) and b.isascii() and b.isdigit()):
        raise ValueError(f"info['b'] must be a decimal string, got {b!r}")
    problem = Problem(int(a), int(b))
    if str(answer) != str(problem.answer):  # a tampered row never scores against a wrong answer
        raise ValueError(f"answer {answer!r} is not {a} * {b} = {problem.answer}")
    return problem


class MultiplicationRubric(vf.Rubric):  # type: ignore[misc]
    """Rewards ``correctness`` and ``format_penalty`` (weights 1: their sum is the Scorer's
    total) and the metric ``correct`` (weight 0), computed by :class:`mult_env.rewards.Scorer`
    on the last assistant message of the completion."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        super().__init__(
            funcs=[self.correctness, self.format_penalty, self.correct], weights=[1.0, 1.0, 0.0]
        )

    def breakdown(self, completion: Any, answer: object, info: object) -> RewardBreakdown:
        """Every reward component of one completion."""
        if isinstance(completion, list | tuple):
            completion = [_plain(m) for m in completion]
        return self.scorer.score(completion_text(completion), _problem(answer, info))

    def correctness(self, completion: Any, answer: Any, info: Any, **kwargs: Any) -> float:
        """The correctness reward (shaped or binary) in ``[0, 1]``."""
        return self.breakdown(completion, answer, info).correctness

    def format_penalty(self, completion: Any, answer: Any, info: Any, **kwargs: Any) -> float:
        """``0.0`` for a well-formed reply, else ``-format_coef``."""
        return self.breakdown(completion, answer, info).format_penalty

    def correct(self, completion: Any, answer: Any, info: Any, **kwargs: Any) -> float:
        """``1.0`` for the exact product, else ``0.0``, whatever the training reward."""
        return float(self.breakdown(completion, answer, info).correct)


def build_environment(
    *,
    difficulty: str,
    seed: int,
    num_train: int,
    test_seed: int,
    num_test: int,
    few_shot: bool,
    parser: str,
    reward: str,
    format_coef: float,
) -> Any:
    """A ``verifiers.SingleTurnEnv``: train rows from the train split, eval rows from the test
    split (disjoint by construction)."""
    scorer = Scorer(parser, reward, format_coef)  # unknown names fail here, not mid-rollout
    return vf.SingleTurnEnv(
        dataset=build_dataset(difficulty, "train", seed, num_train, few_shot),
        eval_dataset=build_dataset(difficulty, "test", test_seed, num_test, few_shot),
        rubric=MultiplicationRubric(scorer),
    )
