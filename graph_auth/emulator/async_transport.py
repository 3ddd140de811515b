"""httpx transports for async clients: the routed hosts served by an emulator, every other refused.

``AsyncEmulatorTransport`` serves ``https://login.microsoftonline.com/`` and
``https://graph.microsoft.com/`` in-process, without sockets: it hands each request to the requests
adapter of ``transport`` (one way of turning HTTP into the emulator's WSGI calls) in a worker
thread, since the emulator may sleep for an injected delay and the event loop must not.
``AsyncRemoteTransport`` sends them to an emulator served over HTTP. Both raise
``AsyncNetworkBlocked`` for any other URL, so a test can never reach the network.
"""
from __future__ import annotations

import asyncio

import httpx
import requests
from requests.structures import CaseInsensitiveDict

from .constants import ROUTED_HOSTS
from .transport import EmulatorAdapter


class AsyncNetworkBlocked(httpx.ConnectError):
    """A request to a host the emulator does not serve (no test may reach the network)."""


def _check_routed(request: httpx.Request) -> None:
    url = request.url
    if url.scheme == "https" and url.host in ROUTED_HOSTS and url.port in (None, 443):
        return
    raise AsyncNetworkBlocked(
        f"graph_auth emulator: refusing to reach {url.host!r} ({request.method} "
        f"{str(url).split('?')[0]}); only {', '.join(ROUTED_HOSTS)} are served in emulator mode",
        request=request)


def _read_timeout(request: httpx.Request):
    return (request.extensions.get("timeout") or {}).get("read")


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """Serve the routed hosts from ``target``: a WSGI application, or with ``resolve`` a callable
    returning one per request (so a test can swap the emulator behind a long-lived client)."""

    def __init__(self, target, *, resolve: bool = False, timeout=None) -> None:
        self._adapter = EmulatorAdapter(target, resolve=resolve, timeout=timeout)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _check_routed(request)
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url = request.method, str(request.url)
        prepared.headers = CaseInsensitiveDict(request.headers.multi_items())
        prepared.body = await request.aread()
        try:
            response = await asyncio.to_thread(self._adapter.send, prepared, timeout=_read_timeout(request))
        except requests.exceptions.Timeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from None
        return httpx.Response(response.status_code, headers=list(response.headers.items()),
                              content=response.content, request=request,
                              extensions={"reason_phrase": (response.reason or "").encode()})


class AsyncRemoteTransport(httpx.AsyncBaseTransport):
    """Send the routed hosts' requests to an emulator served over HTTP at ``base_url``, naming the
    production host in ``X-Emulated-Host`` (as ``transport.RemoteAdapter`` does)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _check_routed(request)
        url = request.url
        target = f"{self.base_url}{url.raw_path.decode('ascii')}"
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        forwarded = httpx.Request(request.method, target, headers=[*headers, ("X-Emulated-Host", url.netloc.decode())],
                                  content=await request.aread(), extensions=request.extensions)
        return await self._http.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._http.aclose()


def async_emulator_client(emulator, timeout=None) -> httpx.AsyncClient:
    """Return a new AsyncClient whose Entra and Graph URLs are served by ``emulator``."""
    return httpx.AsyncClient(transport=AsyncEmulatorTransport(emulator, timeout=timeout), timeout=timeout,
                             trust_env=False, follow_redirects=True)
