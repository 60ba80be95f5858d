"""mult_env: a hack-resistant RL environment for teaching language models multiplication.

Importing the package registers the Gymnasium id ``mult_env/Multiplication-v0``::

    import gymnasium as gym
    import mult_env

    env = gym.make("mult_env/Multiplication-v0", difficulty="medium")
    prompt, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("The answer is 248171.")
"""

from __future__ import annotations

import gymnasium as gym

from mult_env.curriculum import Curriculum
from mult_env.env import ENV_ID, AnyText, MultiplicationEnv
from mult_env.metrics import batch_metrics, best_window, group_stats, peak, viability, windows
from mult_env.parsers import PARSERS, Parser, ParseResult, get_parser, register_parser
from mult_env.problems import DIFFICULTIES, Problem, ProblemSet, resolve_difficulty
from mult_env.prompts import PromptStyle, build_messages, render_text
from mult_env.rewards import (
    REWARDS,
    Reward,
    RewardBreakdown,
    Scorer,
    binary_reward,
    get_reward,
    register_reward,
    shaped_reward,
)

__version__ = "0.1.0"

__all__ = [
    "DIFFICULTIES",
    "ENV_ID",
    "PARSERS",
    "REWARDS",
    "AnyText",
    "Curriculum",
    "MultiplicationEnv",
    "ParseResult",
    "Parser",
    "Problem",
    "ProblemSet",
    "PromptStyle",
    "Reward",
    "RewardBreakdown",
    "Scorer",
    "__version__",
    "batch_metrics",
    "best_window",
    "binary_reward",
    "build_messages",
    "get_parser",
    "get_reward",
    "group_stats",
    "peak",
    "register_parser",
    "register_reward",
    "render_text",
    "resolve_difficulty",
    "shaped_reward",
    "viability",
    "windows",
]

if ENV_ID not in gym.registry:
    # A string entry point: gym.make deep-copies kwargs, so parsers and rewards travel by name.
    gym.register(id=ENV_ID, entry_point="mult_env.env:MultiplicationEnv")
