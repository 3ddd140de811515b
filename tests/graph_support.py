"""Helpers for the GraphClient tests: a real sign-in at the emulator (graph_auth's msal_client, so
real msal with graph_auth's settings: cp1, the demo app) and token providers that record calls."""
from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass, field

import pytest

from graph_auth import msal_client
from graph_auth.app_settings import app_settings
from graph_auth.exceptions import InteractionRequired
from graph_auth.graph import GraphClient

ADELE = "adele@contoso.onmicrosoft.com"
ALEX = "alex@contoso.onmicrosoft.com"
MEGAN = "megan@contoso.onmicrosoft.com"
FABRICE = "fabrice@fabrikam.onmicrosoft.com"
REDIRECT_URI = "http://testserver/auth/callback"
V1 = "https://graph.microsoft.com/v1.0"


@dataclass
class Call:
    scopes: list
    claims_challenge: str | None
    force_refresh: bool


@dataclass
class MsalTokens:
    """A token provider over a real msal token cache: what graph_auth's UserTokens does without a
    Django user (a cached token when it is fresh, else msal_client.acquire_silent, whose msal
    errors come out as InteractionRequired / TokenError). ``pinned`` is served first (a worker
    still holding an older access token)."""
    cache: object
    account_id: str
    result: dict
    pinned: str | None = None
    calls: list[Call] = field(default_factory=list)

    def get_token(self, scopes=None, *, claims_challenge=None, force_refresh=False) -> str:
        scopes = list(scopes or app_settings.SCOPES)
        self.calls.append(Call(scopes, claims_challenge, force_refresh))
        if not (claims_challenge or force_refresh):
            if self.pinned:
                return self.pinned
            hit = msal_client.peek(self.cache, self.account_id, scopes)
            if hit:
                return hit[0]
        try:
            result = msal_client.acquire_silent(self.cache, self.account_id, scopes,
                                                force_refresh=True, claims_challenge=claims_challenge)
        except InteractionRequired as exc:
            if claims_challenge and not exc.claims:
                exc.claims = claims_challenge           # what UserTokens does: sign in again with them
            raise
        self.pinned = None
        return result["access_token"]

    @property
    def challenges(self) -> list[str]:
        return [c.claims_challenge for c in self.calls if c.claims_challenge]

    @property
    def forced(self) -> int:
        return sum(c.force_refresh for c in self.calls)


@dataclass
class FixedToken:
    """Always the same token, whatever is asked (a provider that cannot refresh)."""
    token: str
    calls: list[Call] = field(default_factory=list)

    def get_token(self, scopes=None, *, claims_challenge=None, force_refresh=False) -> str:
        self.calls.append(Call(list(scopes or []), claims_challenge, force_refresh))
        return self.token


def sign_in(emulator, user=ADELE, scopes=None, cache=None) -> MsalTokens:
    """Run the auth-code flow for ``user`` through graph_auth's msal_client; return a provider."""
    flow = msal_client.start_flow(list(scopes or app_settings.SCOPES), REDIRECT_URI)
    cache = cache or msal_client.new_cache()
    result = msal_client.finish_flow(flow, emulator.sign_in(flow["auth_uri"], user), cache)
    claims = result["id_token_claims"]
    return MsalTokens(cache, f"{claims['oid']}.{claims['tid']}", result)


def client(provider, session, sleeps: list | None = None, **kwargs) -> GraphClient:
    """A GraphClient on ``session`` whose waits (sync and async) are recorded in ``sleeps``
    instead of slept."""
    record = sleeps if sleeps is not None else []

    async def asleep(seconds):
        record.append(seconds)

    return GraphClient(provider, session=session, sleep=record.append, asleep=asleep, **kwargs)


class Awaited:
    """A GraphClient's async methods behind its sync names, awaited on an event loop of its own
    (kept running in a thread, so that async iterators stay lazy across ``next()`` calls): a test
    written for ``get`` checks ``aget`` as well. ``close()`` stops the loop."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _wait(self, awaitable):
        async def run():
            return await awaitable
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def _lazy(self, items):
        while True:
            try:
                yield self._wait(items.__anext__())
            except StopAsyncIteration:
                return

    def __getattr__(self, name):
        if name in AWAITED:                      # graph.get(...) awaits graph.aget(...)
            method = getattr(self.graph, f"a{name}")
            return lambda *args, **kwargs: self._wait(method(*args, **kwargs))
        if name in ITERATED:                     # graph.pages(...) steps through graph.apages(...)
            method = getattr(self.graph, f"a{name}")
            return lambda *args, **kwargs: self._lazy(method(*args, **kwargs))
        return getattr(self.graph, name)


AWAITED = {"request", "get", "post", "patch", "put", "delete", "batch", "require_scopes"}
ITERATED = {"pages", "iterate"}


def challenge_header(claims: dict, *, padded: bool = True) -> str:
    """A WWW-Authenticate header with a CAE claims challenge, as Graph sends it."""
    encoded = base64.b64encode(json.dumps(claims).encode()).decode()
    if not padded:
        encoded = encoded.rstrip("=")
    return ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
            'authorize", client_id="00000003-0000-0000-c000-000000000000", error_description="'
            'Continuous access evaluation resulted in challenge with result: InteractionRequired '
            f'and code: TokenIssuedBeforeRevocationTimestamp", error="insufficient_claims", '
            f'claims="{encoded}"')


def graph_requests(emulator, path: str | None = None, method: str | None = None) -> list:
    """Graph requests the emulator received (``path`` relative to /v1.0)."""
    return emulator.requests("graph", method=method, path=f"/v1.0{path}" if path else None)


def bearer(logged) -> str:
    return {k.lower(): v for k, v in logged.headers.items()}["authorization"].removeprefix("Bearer ")


@pytest.fixture
def adele(entra_emulator) -> MsalTokens:
    """Adele, signed in; the emulator's log starts empty."""
    provider = sign_in(entra_emulator, ADELE)
    entra_emulator.clear_log()
    return provider


@pytest.fixture
def sleeps() -> list:
    """The waits of the ``graph`` fixture's client."""
    return []


@pytest.fixture(params=["sync", "async"])
def graph(request, adele, entra_session, sleeps) -> GraphClient:
    """A GraphClient for Adele on the emulator (not sleeping but recording waits), once through
    its sync methods and once through its async ones (``Awaited``)."""
    graph = client(adele, entra_session, sleeps)
    if request.param == "sync":
        yield graph
        return
    awaited = Awaited(graph)
    yield awaited
    awaited.close()
