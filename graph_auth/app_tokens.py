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
from .msal_client import Hit
from .token_store import AppTokenStore
from .tokens import TokenProvider

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
_memory: dict = {}                 # (client id, tenant, scopes) -> Hit
_lock = threading.Lock()


def clear_caches() -> None:
    with _lock:
        _memory.clear()


class AppTokens(TokenProvider):
    """Token provider for the app: ``get_token(scopes=None)`` with ``<resource>/.default`` scopes."""

    def __init__(self, tenant: str | None = None) -> None:
        super().__init__()
        tenant = tenant or app_settings.TENANT_ID
        if str(tenant).lower() in ("common", "organizations", "consumers"):
            raise GraphAuthConfigError(
                f"App-only tokens need a specific tenant, not {tenant!r}: pass app_graph(tenant=...) "
                "or set GRAPH_AUTH['TENANT_ID'] to your tenant id or domain.")
        self.tenant = tenant
        self.throttle_key = f"app:{tenant}"

    @property
    def store(self) -> AppTokenStore:
        return AppTokenStore(self.tenant)

    def default_scopes(self) -> list[str]:
        return [GRAPH_DEFAULT]

    def _key(self, want) -> tuple:
        return (app_settings.client_id, self.tenant, tuple(sorted(want.scopes)))

    def remembered(self, want) -> Hit | None:
        with _lock:
            hit = _memory.get(self._key(want))
        return hit if hit is not None and time.time() < hit.refresh_at else None

    @sensitive_variables()
    def acquire(self, cache, want) -> Hit:
        if want.force:                  # msal has no force_refresh for client credentials
            cache.deserialize("{}")
        result = msal_client.acquire_for_client(cache, want.scopes, tenant=self.tenant)
        return msal_client.result_hit(result, self.margin)

    def fetched(self, hit, want, cache, *, acquired: bool) -> None:
        with _lock:
            _memory[self._key(want)] = hit


def app_graph(tenant: str | None = None, **client_options) -> GraphClient:
    """A Graph client acting as the application (needs admin-consented application permissions)."""
    return GraphClient(AppTokens(tenant), **client_options)
