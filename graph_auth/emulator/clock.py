"""A clock the emulator reads for every time-dependent decision; tests can move it."""
from __future__ import annotations

import threading
import time


class Clock:
    """Real time plus an offset, or a frozen instant.

    Tokens, codes, device codes and refresh tokens are issued and checked against this clock, so a
    test can let an hour pass with ``clock.advance(3600)`` instead of sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the emulator's current time, in epoch seconds."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative value); return the new time."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds
        return self.now()

    def freeze(self, at: float | None = None) -> float:
        """Stop the clock at ``at`` (default: now)."""
        at = self.now() if at is None else at
        with self._lock:
            self._frozen = float(at)
        return at

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None

    def reset(self) -> None:
        """Go back to real time."""
        with self._lock:
            self._offset, self._frozen = 0.0, None
