"""The contract between the RL loop and a model backend (local PyTorch, Tinker, ...).

The loop in :mod:`trainers.train` owns everything that does not depend on where the model
runs: problems, scoring, advantages, KL shaping, metrics, checkpoints bookkeeping, reports.
A backend owns the model: rendering chat messages to tokens, sampling with per-token
log-probabilities, reference (base-model) log-probabilities, one importance-sampling
policy-gradient update, and saving/loading its state.

Token conventions (shared with Tinker's ``importance_sampling`` loss):

* ``Sample.prompt_tokens`` is the fully rendered prompt, including the opening of the
  assistant turn and any assistant prefix.
* ``Sample.tokens`` are the sampled completion tokens, *including* the stop token when the
  model emitted one (it was sampled, so it is trained on), and ``Sample.logprobs[t]`` is the
  sampler's log-probability of ``Sample.tokens[t]``.
* ``Sample.text`` is the decoded assistant text without the stop token or any other special
  token: this is what parsers see (after the prompt's assistant prefix is prepended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]


@dataclass(frozen=True)
class PromptSpec:
    """One prompt to sample from: chat messages plus text pre-filled in the assistant turn."""

    messages: tuple[Message, ...]
    """Conversation so far (system / few-shot turns / the question), as role-content dicts."""
    assistant_prefix: str = ""
    """Text the assistant turn starts with (e.g. ``"The answer is"``); the model continues it."""


@dataclass
class Sample:
    """One sampled completion of one prompt."""

    prompt_tokens: list[int]
    """Rendered prompt tokens (chat template, assistant header and prefix included)."""
    tokens: list[int]
    """Sampled completion tokens, stop token included when one was emitted."""
    logprobs: list[float]
    """Sampler log-probability of each token in ``tokens`` (same length)."""
    text: str
    """Decoded completion without special tokens; parsers see ``assistant_prefix + text``."""
    stopped: bool = True
    """True when sampling ended on a stop token, False when it hit ``max_tokens``."""
    extra: dict[str, float] = field(default_factory=dict)
    """Backend-specific numbers worth logging (never read by the loop)."""


@runtime_checkable
class Backend(Protocol):
    """What the RL loop needs from wherever the model lives."""

    def sample(
        self,
        prompts: Sequence[PromptSpec],
        num_samples: int,
        *,
        max_tokens: int,
        temperature: float,
    ) -> list[list[Sample]]:
        """Sample ``num_samples`` completions for every prompt from the *current* policy.

        Returns one list per prompt, in prompt order. ``temperature == 0`` means greedy.
        """
        ...

    def base_logprobs(self, samples: Sequence[Sample]) -> list[list[float]]:
        """Log-probabilities of each ``sample.tokens`` under the frozen base model."""
        ...

    def train_step(
        self, samples: Sequence[Sample], advantages: Sequence[Sequence[float]]
    ) -> dict[str, float]:
        """One importance-sampling policy-gradient update (forward/backward + optimizer step).

        ``advantages[i][t]`` is the advantage of ``samples[i].tokens[t]``; prompt positions
        carry no advantage. Returns numeric metrics (e.g. ``optim/loss``).
        """
        ...

    def save_state(self, name: str) -> str:
        """Save a resumable checkpoint (weights and optimizer state); returns its path or URI."""
        ...

    def load_state(self, path: str) -> None:
        """Restore a checkpoint written by :meth:`save_state`."""
        ...

    def save_final(self, name: str) -> str:
        """Save the trained weights for sampling/serving; returns the path or URI."""
        ...
