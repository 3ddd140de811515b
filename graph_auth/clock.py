"""The clocks the request budget and the circuit breaker read, in one place (tests replace them)."""
from __future__ import annotations

import time


def monotonic() -> float:
    """Seconds on this process's monotonic clock: deadlines (never shared with another process)."""
    return time.monotonic()


def now() -> float:
    """Seconds since the epoch: what other processes compare (the breaker's records)."""
    return time.time()
