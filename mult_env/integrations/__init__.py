"""Thin adapters that plug mult_env into other RL trainers.

Each adapter is a module of its own that imports its library lazily (inside functions), so
``import mult_env.integrations.<name>`` works without that library installed and fails with an
``ImportError`` naming the extra to install only when the library is actually needed:

* :mod:`mult_env.integrations.trl` -- TRL's ``GRPOTrainer``: a conversational
  ``datasets.Dataset`` builder and reward functions (``pip install mult-env[trl]``).
* :mod:`mult_env.integrations.verifiers` -- a verifiers environment (``load_environment``).
* :mod:`mult_env.integrations.tinker_cookbook` -- tinker-cookbook's ``rl/types`` protocol
  (``Env``, ``EnvGroupBuilder``, ``RLDataset``).

Nothing is imported here, so importing this package costs nothing.
"""
