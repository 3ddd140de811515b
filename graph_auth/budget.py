"""The time budget of a request: one deadline for all of its calls to the identity platform and
Graph, enforced as total elapsed time.

``requests`` and httpx timeouts bound each socket operation, not a whole call, and not the calls of
one request together (a refresh, then Graph with its retries). ``GraphAuthMiddleware`` therefore
opens a deadline for each request (``GRAPH_AUTH["REQUEST_BUDGET"]`` seconds from its start), kept in
a context variable: sync code, async code and what ``sync_to_async`` runs for it all see it. Then:

- every HTTP call of the one seam (msal's, the Graph client's, sync and async) gets
  ``timeout=min(TIMEOUT, what is left)``, and none starts once nothing is left (``BudgetExceeded``);
- the Graph client sleeps for a ``Retry-After`` only when the retry still fits, else it fails at
  once (``GraphThrottled`` with the wait: a 503 with ``Retry-After``);
- a wait for another request's refresh lock ends with the deadline (``graph_auth.lock_wait``);
- a refresh ahead of expiry, while the access token is still valid, is capped at
  ``REFRESH_AHEAD_TIMEOUT`` per call (``capped``).

Outside a request (management commands, background jobs) each Graph call and each token
acquisition gets its own, longer deadline: ``BACKGROUND_BUDGET``.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

from . import clock
from .app_settings import app_settings
from .exceptions import BudgetExceeded

_deadline: ContextVar[float | None] = ContextVar("graph_auth_deadline", default=None)    # monotonic s
_cap: ContextVar[float | None] = ContextVar("graph_auth_call_cap", default=None)         # seconds


def background_budget(max_retries: int | None = None, max_retry_after: float | None = None) -> float:
    """Seconds a call gets outside a request: BACKGROUND_BUDGET, by default as long as the call
    could take before budgets existed (a grant, every attempt at TIMEOUT, every Retry-After wait
    of the retry policy: the settings', or a client's own)."""
    configured = app_settings.BACKGROUND_BUDGET
    if configured is not None:
        return float(configured)
    retries = app_settings.GRAPH_MAX_RETRIES if max_retries is None else max_retries
    longest = app_settings.GRAPH_MAX_RETRY_AFTER if max_retry_after is None else max_retry_after
    return (retries + 2) * app_settings.TIMEOUT + retries * longest


class deadline:
    """Run the block with a deadline ``seconds`` from now (None: none); an earlier one stays.
    (A class, not a generator: the middleware opens one per request.)"""
    __slots__ = ("_token", "seconds")

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self._token = seconds, None

    def __enter__(self) -> None:
        if self.seconds is not None:
            at, current = clock.monotonic() + float(self.seconds), _deadline.get()
            self._token = _deadline.set(at if current is None else min(at, current))

    def __exit__(self, *exc_info) -> None:
        if self._token is not None:
            _deadline.reset(self._token)
            self._token = None


def for_request():
    """The deadline of a web request (REQUEST_BUDGET; None: the background budget per call)."""
    return deadline(app_settings.REQUEST_BUDGET)


@contextlib.contextmanager
def outside_requests(seconds: float | None = None):
    """Give the block the background budget (or ``seconds``), unless a deadline is already set
    (a request's)."""
    if _deadline.get() is not None:
        yield
        return
    with deadline(background_budget() if seconds is None else seconds):
        yield


@contextlib.contextmanager
def capped(seconds: float | None):
    """Let no call of the block take longer than ``seconds`` (a refresh ahead of expiry)."""
    if seconds is None:
        yield
        return
    current = _cap.get()
    token = _cap.set(float(seconds) if current is None else min(float(seconds), current))
    try:
        yield
    finally:
        _cap.reset(token)


def cap() -> float | None:
    """The cap on each call of the block running (``capped``), None without one."""
    return _cap.get()


def remaining() -> float | None:
    """Seconds left before the deadline (None: there is none)."""
    at = _deadline.get()
    return None if at is None else at - clock.monotonic()


def fits(wait: float) -> bool:
    """Whether a wait of ``wait`` seconds ends before the deadline (always, without one)."""
    left = remaining()
    return left is None or wait < left


def check(what: str) -> None:
    """Raise BudgetExceeded when the deadline has passed (before starting ``what``)."""
    left = remaining()
    if left is not None and left <= 0:
        raise BudgetExceeded(f"{what}: the time budget ran out before it started")


def call_timeout(timeout):
    """Return ``(timeout, by_budget)`` for one call: at most ``timeout`` (seconds, or a (connect,
    read) pair), the cap and what is left of the deadline; ``by_budget`` says the deadline made it
    shorter (a timeout then means the budget is spent, not that the service is slow)."""
    cap = _cap.get()
    if cap is not None:
        timeout = _shorter(timeout, cap)
    left = remaining()
    if left is None:
        return timeout, False
    if left <= 0:
        raise BudgetExceeded("an HTTP call: the time budget ran out before it started")
    limited = _shorter(timeout, left)
    return limited, limited != timeout


def _shorter(timeout, limit: float):
    if timeout is None:
        return limit
    if isinstance(timeout, tuple):
        return tuple(limit if part is None else min(part, limit) for part in timeout)
    return min(timeout, limit)
