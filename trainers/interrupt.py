"""Ctrl-C that lets the current RL batch finish, so a resumable checkpoint can be saved.

A KeyboardInterrupt raised in the middle of a batch leaves the model in an unknown state: on
Tinker an update already submitted is applied by the service even if the trainer stops
waiting, so the weights may or may not include the interrupted batch and a checkpoint taken
then could not be labelled correctly. :class:`DeferredInterrupt` turns the first Ctrl-C into
a request that the loop honours at the next batch boundary (after the batch's metrics line is
written): it saves a state checkpoint for exactly the batches done and then stops. A second
Ctrl-C raises :class:`KeyboardInterrupt` at once, as usual.

The command line wraps the whole run in one (``with DeferredInterrupt(): run(config)``) and
the loop polls :func:`stop_requested` after each batch; library callers of ``run`` that
install nothing keep Python's default Ctrl-C behaviour.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["DeferredInterrupt", "stop_requested"]

_ACTIVE: list[DeferredInterrupt] = []


def stop_requested() -> bool:
    """Whether Ctrl-C was pressed inside an active :class:`DeferredInterrupt` (the loop checks
    this at each batch boundary; without one installed it is always False)."""
    return any(d.requested for d in _ACTIVE)


class DeferredInterrupt:
    """Context manager: the first SIGINT sets :attr:`requested`; the second one interrupts.

    Outside the main thread (where Python cannot install signal handlers) it does nothing and
    Ctrl-C behaves as usual.
    """

    def __init__(self, message: str = "") -> None:
        self.message = message or (
            "\nCtrl-C: finishing this batch and saving a checkpoint (Ctrl-C again to stop now)"
        )
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(self.message, file=sys.stderr, flush=True)

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        _ACTIVE.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
        if self in _ACTIVE:
            _ACTIVE.remove(self)
