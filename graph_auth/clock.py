"""The clocks the request budget, the circuit breaker and the Graph client's waits read, in one
place (tests replace them)."""
from __future__ import annotations

import asyncio
import math
import time

LONGEST_WAIT = 86400        # seconds: no Retry-After is answered, and no breaker record kept, longer


def monotonic() -> float:
    """Seconds on this process's monotonic clock: deadlines (never shared with another process)."""
    return time.monotonic()


def now() -> float:
    """Seconds since the epoch: what other processes compare (the breaker's records)."""
    return time.time()


def sleep(seconds: float) -> None:
    """Wait (the Graph client's Retry-After waits in sync code)."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Wait without blocking the event loop (in async code)."""
    await asyncio.sleep(seconds)


def whole_seconds(seconds: float) -> int:
    """``seconds`` as a Retry-After's delay-seconds or a cache timeout: rounded up, at least 1, at
    most LONGEST_WAIT (so is infinity; NaN too: what no ``ceil`` can take)."""
    if not seconds < LONGEST_WAIT:
        return LONGEST_WAIT
    return max(1, math.ceil(seconds))
