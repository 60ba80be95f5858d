"""``MultiplicationEnv``: a one-step Gymnasium environment (prompt in, completion out, reward)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mult_env.curriculum import Curriculum, make_curriculum
from mult_env.parsers import Parser
from mult_env.problems import Difficulty, Problem, ProblemSet, Split
from mult_env.prompts import PromptStyle, build_messages, render_text, transcript
from mult_env.rewards import Reward, RewardBreakdown, Scorer

__all__ = ["ENV_ID", "AnyText", "MultiplicationEnv"]

ENV_ID = "mult_env/Multiplication-v0"


class AnyText(spaces.Space[str]):
    """A space of arbitrary Python strings: the completions a language model can emit.

    ``spaces.Text`` has a finite charset and would reject real completions (anything with a
    character outside it). Sampling draws short strings mixing ASCII digits, letters,
    punctuation and a few non-ASCII digits, enough to exercise parsers.
    """

    _ALPHABET = string.digits * 4 + string.ascii_letters + " ,.-\n" + "٤௫۷"

    def __init__(self, max_sample_length: int = 32, seed: int | np.random.Generator | None = None):
        super().__init__(shape=None, dtype=None, seed=seed)
        self.max_sample_length = max_sample_length

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            raise ValueError("AnyText.sample does not support masks or probabilities")
        length = int(self.np_random.integers(0, self.max_sample_length + 1))
        picks = self.np_random.integers(0, len(self._ALPHABET), size=length)
        return "".join(self._ALPHABET[i] for i in picks)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)

    def __repr__(self) -> str:
        return "AnyText()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyText)

    __hash__ = spaces.Space.__hash__


class MultiplicationEnv(gym.Env[str, str]):
    """Answer one multiplication problem per episode.

    ## Description

    Each episode shows a language model one problem ``a * b`` (operands with exact digit
    counts set by ``difficulty``) as a prompt, takes its completion as the single action, and
    rewards it through a parser and a reward (see :class:`mult_env.rewards.Scorer`).

    ## Action Space

    :class:`AnyText`: any Python ``str``, the model's completion (after the prompt's assistant
    prefix, if any). Non-``str`` actions raise ``TypeError``.

    ## Observation Space

    ``spaces.Text`` whose charset covers every prompt this env can produce: the plain-text
    rendering of the conversation (see :func:`mult_env.prompts.render_text`). The chat
    messages are in ``info["messages"]``.

    ## Rewards

    ``correctness + format_coef * (format_ok - 1)``, a Python float in ``[-format_coef, 1]``;
    ``info`` carries every component (``correct``, ``format_ok``, ``correctness``,
    ``format_penalty``, ``digits_matched``, ``num_digits``, ``parsed``, ``reason``).
    ``parsed`` is the value read as a decimal string (exact at any size), or None.

    ## Starting State

    ``reset`` draws a problem index from ``self.np_random`` and takes that item of
    ``ProblemSet(difficulty, problem_seed, split)``; ``options={"index": i}`` picks item ``i``
    and ``options={"problem": (a, b)}`` a given problem.

    ## Curriculum

    ``curriculum=`` (a :class:`~mult_env.curriculum.Curriculum` or a spec for
    :func:`~mult_env.curriculum.make_curriculum`) replaces ``difficulty``: ``reset`` draws the
    rung, ``step`` records its correctness, and both ``info`` dicts carry ``"difficulty"``.

    ## Episode End

    Every ``step`` terminates the episode (``terminated=True``, ``truncated=False``).

    ## Vector environments

    Use ``autoreset_mode=gym.vector.AutoresetMode.SAME_STEP`` (the default NEXT_STEP wastes
    every other step of a one-step env) and, for ``AsyncVectorEnv``, ``shared_memory=False``:
    Gymnasium's shared memory silently corrupts string observations.

    In vector envs a curriculum spec builds one controller per copy, and a ``Curriculum``
    object is shared by the copies of a ``SyncVectorEnv`` (see ``docs/concepts.md``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012 (Gymnasium's API)

    def __init__(
        self,
        difficulty: Difficulty = "medium",
        split: Split = "train",
        parser: Parser | str = "answer",
        reward: Reward | str = "shaped",
        format_coef: float = 0.1,
        few_shot: bool = True,
        system_prompt: str | None = None,
        assistant_prefix: str = "",
        problem_seed: int = 0,
        render_mode: str | None = None,
        curriculum: Curriculum | str | dict[str, Any] | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.problems = ProblemSet(difficulty, seed=problem_seed, split=split)
        self.style = PromptStyle(
            few_shot=few_shot, system_prompt=system_prompt, assistant_prefix=assistant_prefix
        )
        self.scorer = Scorer(parser, reward, format_coef, assistant_prefix)
        self.curriculum = make_curriculum(curriculum)
        self._rungs = {
            d: ProblemSet(d, seed=problem_seed, split=split)
            for d in (self.curriculum.ladder if self.curriculum else ())
        }
        self._from_rung = False  # whether this episode's problem came from a curriculum rung
        da, db = max(self._rungs, default=self.problems.digits, key=lambda d: d[0] + d[1])
        largest = Problem(10**da - 1, 10**db - 1)
        longest = render_text(largest, self.style)
        charset = frozenset(string.printable) | frozenset(longest)
        self.observation_space = spaces.Text(max_length=len(longest), min_length=1, charset=charset)
        self.action_space = AnyText()
        self.reward_range = (-self.scorer.format_coef, 1.0)
        self._problem: Problem | None = None
        self._prompt = ""
        self._completion = ""
        self._awaiting_action = False

    @property
    def problem(self) -> Problem:
        """The current episode's problem."""
        if self._problem is None:
            raise RuntimeError("call reset() first")
        return self._problem

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"index", "problem"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; use 'index' or 'problem'")
        if "problem" in options:
            a, b = options["problem"]
            if type(a) is not int or type(b) is not int or a < 0 or b < 0:
                raise ValueError(f"options['problem'] must be two non-negative ints, got {(a, b)}")
            index, problem = -1, Problem(a, b)
        else:
            if self.curriculum is not None:
                self.problems = self._rungs[self.curriculum.choose(self.np_random)]
            chosen = options.get("index")
            if chosen is not None and type(chosen) is not int:
                raise ValueError(f"options['index'] must be an int, got {chosen!r}")
            if chosen is None:
                chosen = int(self.np_random.integers(0, len(self.problems)))
            index, problem = chosen, self.problems[chosen]
        messages = build_messages(problem, self.style)
        self._problem = problem
        self._prompt = transcript(messages, self.style.assistant_prefix)
        self._completion, self._awaiting_action = "", True
        info = {"messages": messages, "problem": problem, "index": index}
        self._from_rung = self.curriculum is not None and "problem" not in options
        if self.curriculum is not None:
            info["difficulty"] = (len(str(problem.a)), len(str(problem.b)))
        return self._prompt, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        problem = self.problem
        if not self._awaiting_action:
            raise RuntimeError("the episode is over: call reset() before step()")
        breakdown = self.scorer.score(action, problem)
        self._completion, self._awaiting_action = action, False
        info = breakdown.to_dict()
        info["problem"] = problem
        if self.curriculum is not None:
            info["difficulty"] = (len(str(problem.a)), len(str(problem.b)))
            if self._from_rung:
                self.curriculum.record([breakdown.correct], info["difficulty"])
        return self._prompt, breakdown.total, True, False, info

    def score_group(self, completions: Sequence[str]) -> list[RewardBreakdown]:
        """Score many completions of the current problem at once (a GRPO group).

        Does not end the episode; for trainers that sample a group per prompt.
        """
        return self.scorer.score_group(completions, self.problem)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self._prompt + self._completion
