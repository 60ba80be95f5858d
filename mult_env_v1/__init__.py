"""The verifiers environment package ``mult-env-v1`` (``vf-eval mult-env-v1``).

Both of verifiers' loaders find the environment here:

* ``verifiers.v1`` (verifiers 0.3.1 and 0.4.0) resolves an environment id by importing the
  module of that name and taking the ``Taskset`` (and ``Harness``) subclass it exports in
  ``__all__``;
* verifiers 0.3's legacy ``vf.load_environment("mult-env-v1", **kwargs)`` calls this module's
  ``load_environment(**kwargs)``.

The environment lives in :mod:`mult_env.integrations.verifiers`.
"""

from mult_env.integrations.verifiers import MultiplicationHarness, MultiplicationTaskset
from mult_env.integrations.verifiers import load_legacy_environment as load_environment

__all__ = ["MultiplicationHarness", "MultiplicationTaskset", "load_environment"]
