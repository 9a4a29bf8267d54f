"""SIGINT and SIGTERM as a request to stop a run at the end of its current step.

Ctrl-C or a scheduler's SIGTERM in the middle of a step would lose everything since the last
checkpoint (the whole run before the first one). Instead the handler only records the signal;
the run finishes the step it is in, writes its checkpoint with the same atomic write as the
periodic one and stops (:class:`training.loops.engine.RunInterrupted`), so ``--resume`` continues
it bit for bit. A second signal while the first is pending is not a request: the previous
handlers come back and the signal is raised again, so a second Ctrl-C still stops at once.
"""

from __future__ import annotations

import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """The handlers of :data:`STOP_SIGNALS` while a run is active (installed only from the main
    thread, the one Python delivers signals to); ``signum`` is the first signal received, 0 if none."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame) -> None:
        if self.signum:
            self.restore()
            signal.raise_signal(signum)
            return
        self.signum = signum

    def restore(self) -> None:
        """Put the handlers back that were there before (idempotent)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)   # type: ignore[arg-type]
        self._previous = {}
