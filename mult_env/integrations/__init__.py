"""Thin adapters that plug mult_env into other RL trainers.

Each adapter is a module of its own that imports its library lazily (inside functions), so
``import mult_env.integrations.<name>`` works without that library installed and fails with an
``ImportError`` naming the extra to install only when the library is actually needed:

* :mod:`mult_env.integrations.trl` -- TRL's ``GRPOTrainer``: a conversational
  ``datasets.Dataset`` builder, reward functions and an ``environment_factory`` class
  (the ``[trl]`` extra).
* :mod:`mult_env.integrations.verifiers` -- the verifiers environment ``mult-env-v1``, for the
  ``verifiers.v1`` API and verifiers 0.3's legacy one.
* :mod:`mult_env.integrations.tinker_cookbook` -- tinker-cookbook's ``rl/types`` protocol
  (``Env``, ``EnvGroupBuilder``, ``RLDataset``).
* :mod:`mult_env.integrations.text` -- the one rule all of them apply to a model's reply
  before scoring it (text, no content, content parts, and what is not text).

Nothing is imported here, so importing this package costs nothing.
"""
