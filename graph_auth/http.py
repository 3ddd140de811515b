"""The one HTTP seam: the ``requests.Session`` that msal and the Graph client use, and the
``httpx.AsyncClient`` of the Graph client's async calls.

Every call through the Session ends with the request's time budget (``graph_auth.budget``): its
timeout is the caller's (msal passes none: TIMEOUT) cut to what is left of the budget, none starts
once the budget is spent, and a timeout the budget imposed raises ``BudgetExceeded``. In production
they are plain clients; in emulator mode ``login.microsoftonline.com`` and ``graph.microsoft.com``
are served in-process by the current emulator (or by the one at EMULATOR_URL) and every other host
is refused.
"""
from __future__ import annotations

import asyncio
import threading
import weakref
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter

from . import budget
from .app_settings import app_settings
from .exceptions import BudgetExceeded

_sessions: dict = {}
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # event loop -> {key: client}
_lock = threading.Lock()


class BudgetSession(requests.Session):
    """A Session whose calls end with the time budget: a call's timeout is the caller's (TIMEOUT
    when it gives none, as msal does) cut to what is left; none starts once nothing is."""

    def __init__(self, timeout) -> None:
        super().__init__()
        self.default_timeout = timeout

    def send(self, request, **kwargs):
        given = kwargs.get("timeout")
        kwargs["timeout"], by_budget = budget.call_timeout(self.default_timeout if given is None else given)
        try:
            return super().send(request, **kwargs)
        except requests.Timeout as exc:
            if by_budget:       # the budget's doing, not the service's slowness
                raise BudgetExceeded(f"{request.method} {urlsplit(request.url).hostname}: the time "
                                     "budget ran out before the answer") from without_request(exc)
            raise


def _production_session(timeout) -> requests.Session:
    session = BudgetSession(timeout)
    adapter = HTTPAdapter(pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _emulator_session(timeout) -> requests.Session:
    from .emulator.mount import current_emulator
    from .emulator.transport import mount_emulator, mount_remote
    session = BudgetSession(timeout)
    session.trust_env = False
    if app_settings.EMULATOR_URL:          # one emulator shared by several processes
        return mount_remote(session, app_settings.EMULATOR_URL, timeout=timeout)
    return mount_emulator(session, current_emulator, resolve=True, timeout=timeout)


def _async_client(emulated: bool, timeout) -> httpx.AsyncClient:
    # Redirects are followed as requests does (httpx drops the Authorization header on a
    # redirect to another origin, as requests does).
    if not emulated:
        return httpx.AsyncClient(timeout=timeout, follow_redirects=True)
    from .emulator.async_transport import AsyncEmulatorTransport, AsyncRemoteTransport
    from .emulator.mount import current_emulator
    transport = (AsyncRemoteTransport(app_settings.EMULATOR_URL) if app_settings.EMULATOR_URL
                 else AsyncEmulatorTransport(current_emulator, resolve=True, timeout=timeout))
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True, trust_env=False)


def without_request(exc: Exception) -> Exception:
    """Return what may be chained to one of our exceptions: a requests exception without what it
    holds of the request and response (the Authorization header, a token request's body); for
    an httpx exception, a copy of the same type and message with neither request nor traceback
    (the frames of async code beneath the client are not covered by @sensitive_variables)."""
    if isinstance(exc, requests.RequestException):
        exc.request = exc.response = None
        return exc
    try:
        return type(exc)(str(exc))
    except TypeError:                      # a subclass with another constructor
        return httpx.TransportError(f"{type(exc).__name__}: {exc}")


def _key() -> tuple:
    emulated, timeout = app_settings.emulator_enabled, app_settings.TIMEOUT
    return (emulated, timeout, app_settings.EMULATOR_URL if emulated else None)


def get_session() -> requests.Session:
    """Return the process-wide Session for the current settings (one per mode and timeout)."""
    key = _key()
    session = _sessions.get(key)
    if session is None:
        with _lock:
            session = _sessions.get(key)
            if session is None:
                session = (_emulator_session if key[0] else _production_session)(key[1])
                _sessions[key] = session
    return session


def get_async_client() -> httpx.AsyncClient:
    """Return the running event loop's AsyncClient for the current settings (one per loop, mode
    and timeout: httpx's connections belong to the loop that opened them)."""
    loop, key = asyncio.get_running_loop(), _key()
    with _lock:
        clients = _async_clients.setdefault(loop, {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = _async_client(key[0], key[1])
    return client
