"""The verifiers environment package ``mult-env-v1`` (``vf-eval mult-env-v1``).

verifiers >= 0.4 resolves an environment id by importing the module of that name and taking
the ``Taskset`` (and ``Harness``) subclass it exports in ``__all__``. This package is only that
export; the environment lives in :mod:`mult_env.integrations.verifiers`.
"""

from mult_env.integrations.verifiers import MultiplicationHarness, MultiplicationTaskset

__all__ = ["MultiplicationHarness", "MultiplicationTaskset"]
