"""RL trainers for mult_env: one backend-independent loop (:mod:`trainers.train`) and its
backends (:mod:`trainers.local_backend` for PyTorch on this machine, :mod:`trainers.tinker_backend`
for the hosted Tinker API).

Nothing heavy is imported here: ``import trainers`` works without torch or tinker installed;
each backend module imports its own dependencies.
"""

from __future__ import annotations

__all__: list[str] = []
