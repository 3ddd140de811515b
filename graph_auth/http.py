"""The one HTTP seam: the ``requests.Session`` that msal and the Graph client use, and the
``httpx.AsyncClient`` of the Graph client's async calls.

In production they are plain clients with a default timeout on every request (msal passes none).
In emulator mode ``login.microsoftonline.com`` and ``graph.microsoft.com`` are served in-process by
the current emulator (or by the one at EMULATOR_URL) and every other host is refused.
"""
from __future__ import annotations

import asyncio
import threading
import weakref

import httpx
import requests
from requests.adapters import HTTPAdapter

from .app_settings import app_settings

_sessions: dict = {}
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # event loop -> {key: client}
_lock = threading.Lock()


class TimeoutHTTPAdapter(HTTPAdapter):
    """An HTTPAdapter that applies a default timeout when the caller gives none."""

    def __init__(self, timeout, **kwargs) -> None:
        self.default_timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)


def _production_session(timeout) -> requests.Session:
    session = requests.Session()
    adapter = TimeoutHTTPAdapter(timeout, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _emulator_session(timeout) -> requests.Session:
    from .emulator.mount import current_emulator
    from .emulator.transport import mount_emulator, mount_remote
    session = requests.Session()
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
