"""The one HTTP seam: the ``requests.Session`` that msal and the Graph client both use.

In production it is a plain Session with a default timeout on every request (msal passes none).
In emulator mode ``login.microsoftonline.com`` and ``graph.microsoft.com`` are served in-process by
the current emulator and every other host is refused.
"""
from __future__ import annotations

import threading

import requests
from requests.adapters import HTTPAdapter

from .app_settings import app_settings

_sessions: dict = {}
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


def without_request(exc: requests.RequestException) -> requests.RequestException:
    """Drop what a requests exception holds of the request and response (the Authorization
    header, a token request's body) before it is chained to one of ours."""
    exc.request = exc.response = None
    return exc


def get_session() -> requests.Session:
    """Return the process-wide Session for the current settings (one per mode and timeout)."""
    emulated, timeout = app_settings.emulator_enabled, app_settings.TIMEOUT
    key = (emulated, timeout, app_settings.EMULATOR_URL if emulated else None)
    session = _sessions.get(key)
    if session is None:
        with _lock:
            session = _sessions.get(key)
            if session is None:
                session = (_emulator_session if emulated else _production_session)(timeout)
                _sessions[key] = session
    return session
