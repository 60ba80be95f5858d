"""Property-based checks for parsers and rewards, built on hypothesis.

Gymnasium gives environment authors ``check_env``; this package gives reward authors the same
for answer parsers and reward functions. A policy optimised against a reward searches for every
completion that pays, so a reward must be checked against what a policy will *try*, not only
against well-behaved answers::

    from mult_env.testing import check_reward

    def test_my_reward():
        check_reward(my_reward)              # raises CheckError naming property and example

:func:`check_parser` and :func:`check_reward` run the library's properties (totality, the true
answer in every accepted form scores the maximum, nothing else does, bounded range, monotone
shaping, no credit for near misses, linear-time parsing) and return a :class:`CheckReport`.
:mod:`mult_env.testing.strategies` holds the hypothesis strategies they draw from, for use in
your own property tests.

This package needs hypothesis, which ``import mult_env`` never imports: install the extra with
``pip install 'mult-env[testing]'``.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "mult_env.testing needs hypothesis; install it with: pip install 'mult-env[testing]'"
    ) from e

from mult_env.testing.checks import (
    PARSER_PROPERTIES,
    REWARD_PROPERTIES,
    CheckError,
    CheckReport,
    Violation,
    check_parser,
    check_reward,
)
from mult_env.testing.strategies import (
    FAMILIES,
    STYLES,
    Family,
    NearMiss,
    Style,
    arbitrary_text,
    near_misses,
    problems,
    surface_forms,
)

__all__ = [
    "FAMILIES",
    "PARSER_PROPERTIES",
    "REWARD_PROPERTIES",
    "STYLES",
    "CheckError",
    "CheckReport",
    "Family",
    "NearMiss",
    "Style",
    "Violation",
    "arbitrary_text",
    "check_parser",
    "check_reward",
    "near_misses",
    "problems",
    "surface_forms",
]
