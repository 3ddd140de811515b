"""App-only access (client credentials): Graph as the application itself, for background jobs,
management commands and admin pages. ``app_graph()`` returns a GraphClient like ``request.graph``.

Tokens are cached in memory for this process and in an encrypted ``AppTokenCache`` row shared by
every process; a new token is requested (under the row lock) only when both are stale.
"""
from __future__ import annotations

import threading
import time

from django.views.decorators.debug import sensitive_variables

from . import msal_client
from .app_settings import app_settings
from .exceptions import GraphAuthConfigError
from .graph import GraphClient
from .token_store import AppTokenStore

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
_memory: dict = {}                 # (client id, tenant, scopes) -> (token, expires_on)
_lock = threading.Lock()


def clear_caches() -> None:
    with _lock:
        _memory.clear()


class AppTokens:
    """Token provider for the app: ``get_token(scopes=None)`` with ``<resource>/.default`` scopes."""

    def __init__(self, tenant: str | None = None) -> None:
        tenant = tenant or app_settings.TENANT_ID
        if str(tenant).lower() in ("common", "organizations", "consumers"):
            raise GraphAuthConfigError(
                f"App-only tokens need a specific tenant, not {tenant!r}: pass app_graph(tenant=...) "
                "or set GRAPH_AUTH['TENANT_ID'] to your tenant id or domain.")
        self.tenant = tenant

    @sensitive_variables()
    def get_token(self, scopes=None, *, claims_challenge=None, force_refresh: bool = False) -> str:
        scopes = list(scopes or [GRAPH_DEFAULT])
        key = (app_settings.client_id, self.tenant, tuple(sorted(scopes)))
        margin = max(app_settings.REFRESH_MARGIN, msal_client.AT_MIN_VALIDITY)
        if not force_refresh:
            with _lock:
                token, expires_on = _memory.get(key, (None, 0))
            if token and expires_on - time.time() >= margin:
                return token
        store = AppTokenStore(self.tenant)
        hit = None if force_refresh else msal_client.peek(store.load(), None, scopes, margin)
        if hit is None:
            with store.locked() as cache:
                hit = None if force_refresh else msal_client.peek(cache, None, scopes, margin)
                if hit is None:
                    if force_refresh:          # msal has no force_refresh for client credentials
                        cache.deserialize("{}")
                    result = msal_client.acquire_for_client(cache, scopes, tenant=self.tenant)
                    hit = (result["access_token"], int(time.time()) + int(result.get("expires_in", 0)))
        with _lock:
            _memory[key] = hit
        return hit[0]


def app_graph(tenant: str | None = None, **client_options) -> GraphClient:
    """A Graph client acting as the application (needs admin-consented application permissions)."""
    return GraphClient(AppTokens(tenant), **client_options)
