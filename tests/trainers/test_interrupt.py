"""trainers.interrupt: the first Ctrl-C is deferred to the batch boundary, the second is not."""

from __future__ import annotations

import signal

import pytest

from trainers.interrupt import DeferredInterrupt, stop_requested


def test_first_ctrl_c_is_a_request_second_interrupts(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGINT)
    with DeferredInterrupt() as interrupt:
        assert not stop_requested()
        signal.raise_signal(signal.SIGINT)
        assert interrupt.requested and stop_requested()
        assert "finishing this batch" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    assert not stop_requested()


def test_handler_is_restored_after_an_exception() -> None:
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(ValueError), DeferredInterrupt():
        raise ValueError("boom")
    assert signal.getsignal(signal.SIGINT) is before
