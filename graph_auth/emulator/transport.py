"""A requests transport that serves Entra's and Graph's production URLs from an emulator in-process.

No sockets, no TLS: ``https://login.microsoftonline.com/`` and ``https://graph.microsoft.com/``
are mounted on a ``requests.Session`` with an adapter that calls the emulator's WSGI app.
Every other URL raises ``NetworkBlocked`` so a test can never reach the network.
"""
from __future__ import annotations

import http.client
import io
import sys
import types
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict

from .constants import ROUTED_HOSTS
from .errors import EmulatorTimeout


class NetworkBlocked(requests.exceptions.ConnectionError):
    """A request to a host the emulator does not serve (no test may reach the network)."""


class BlockingAdapter(BaseAdapter):
    """Refuse every request: mounted for ``http://`` and ``https://`` under the routed hosts."""

    def send(self, request, **kwargs):
        host = urlsplit(request.url).hostname
        raise NetworkBlocked(
            f"graph_auth emulator: refusing to reach {host!r} ({request.method} {request.url.split('?')[0]}); "
            f"only {', '.join(ROUTED_HOSTS)} are served in emulator mode", request=request)

    def close(self):
        pass


class EmulatorAdapter(BaseAdapter):
    """Send requests to a WSGI application instead of the network.

    ``target`` is a WSGI callable, or a zero-argument callable returning one (looked up per
    request, so a test can swap the emulator behind a long-lived session).
    """

    def __init__(self, target, *, resolve: bool = False, timeout=None) -> None:
        super().__init__()
        self._target, self._resolve, self._timeout = target, resolve, timeout

    def _app(self):
        return self._target() if self._resolve else self._target

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):           # a generator / file body
            body = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in body)
        environ = {
            # Decoded as a WSGI server does (wsgiref: unquote as latin-1): /users/a%40b is /users/a@b.
            "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote(parts.path or "/", "iso-8859-1"),
            "QUERY_STRING": parts.query, "SERVER_NAME": parts.hostname,
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": parts.netloc, "wsgi.version": (1, 0), "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
            "graph_auth.emulator.timeout": _read_timeout(timeout if timeout is not None else self._timeout),
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        try:
            chunks = self._app()(environ, start_response)
        except EmulatorTimeout as exc:
            raise requests.exceptions.ReadTimeout(str(exc), request=request) from exc
        return self._build_response(request, captured, b"".join(chunks))

    @staticmethod
    def _build_response(request, captured, content: bytes):
        response = requests.Response()
        response.status_code = int(captured["status"].split(" ", 1)[0])
        response.reason = captured["status"].split(" ", 1)[1] if " " in captured["status"] else ""
        response.headers = CaseInsensitiveDict()
        for name, value in captured["headers"]:
            if name.lower() in response.headers:   # e.g. several Set-Cookie headers
                response.headers[name] = f"{response.headers[name]}, {value}"
            else:
                response.headers[name] = value
        response._content = content
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = request.url
        response.request = request
        response.raw = _Raw(content, captured["headers"])
        requests.cookies.extract_cookies_to_jar(response.cookies, request, response.raw)
        return response

    def close(self):
        pass


def _read_timeout(timeout):
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout


class _Raw(io.BytesIO):
    """The body, plus the header object requests reads Set-Cookie from for the session's jar."""

    def __init__(self, content: bytes, headers) -> None:
        super().__init__(content)
        msg = http.client.HTTPMessage()
        for name, value in headers:
            msg[name] = value
        self._original_response = types.SimpleNamespace(msg=msg)


def mount_emulator(session: requests.Session, target, *, resolve: bool = False,
                   timeout=None) -> requests.Session:
    """Route the production hosts of ``session`` to ``target`` and block everything else.

    ``timeout`` is the default for requests that give none (msal gives none): a forced delay
    longer than it raises ``requests.exceptions.ReadTimeout``, as a slow server would.
    """
    blocker = BlockingAdapter()
    session.mount("http://", blocker)
    session.mount("https://", blocker)
    adapter = EmulatorAdapter(target, resolve=resolve, timeout=timeout)
    for host in ROUTED_HOSTS:
        session.mount(f"https://{host}/", adapter)
    return session


class RemoteAdapter(HTTPAdapter):
    """Send Entra/Graph requests to an emulator served over HTTP (``python -m graph_auth.emulator``,
    or a Django site's ``/_emulator/`` mount), naming the production host in ``X-Emulated-Host``
    so the emulator routes them as if they had reached that host."""

    def __init__(self, base_url: str, timeout=None) -> None:
        super().__init__(pool_maxsize=64)
        self.base_url, self.default_timeout = base_url.rstrip("/"), timeout

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers["X-Emulated-Host"] = parts.netloc
        request.url = f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)


def mount_remote(session: requests.Session, base_url: str, *, timeout=None) -> requests.Session:
    """Route the production hosts of ``session`` to an emulator at ``base_url``; block the rest."""
    blocker = BlockingAdapter()
    session.mount("http://", blocker)
    session.mount("https://", blocker)
    adapter = RemoteAdapter(base_url, timeout)
    session.mount(base_url.rstrip("/") + "/", HTTPAdapter())
    for host in ROUTED_HOSTS:
        session.mount(f"https://{host}/", adapter)
    return session


def emulator_session(emulator, timeout=None) -> requests.Session:
    """Return a new Session whose Entra and Graph URLs are served by ``emulator``."""
    session = requests.Session()
    session.trust_env = False          # no proxies or CA bundles from the environment matter here
    return mount_emulator(session, emulator, timeout=timeout)
