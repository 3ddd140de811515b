"""GraphClient: Microsoft Graph for sync and async code, one protocol behind both."""
from __future__ import annotations

from urllib.parse import urlsplit

from .. import budget, clock
from ..app_settings import app_settings
from ..http import get_session
from .aio import AsyncGraph
from .protocol import origin
from .sync import SyncGraph


class GraphClient(SyncGraph, AsyncGraph):
    """A Microsoft Graph client: ``get``/``post``/... for sync code, ``aget``/``apost``/... for
    async code, with the same retries, claims challenges and errors (see ``graph.protocol``).

    ``token_provider`` has ``get_token(scopes=None, *, claims_challenge=None, force_refresh=False)``
    returning an access token (the user's for ``request.graph``, the app's for app-only clients),
    and may have ``aget_token`` with the same arguments (otherwise it runs in a thread).
    ``session`` (requests) and ``async_client`` (httpx) default to graph_auth's HTTP seam; the
    async client is looked up per event loop at call time.
    """

    def __init__(self, token_provider, session=None, base_url: str | None = None,
                 max_retries: int | None = None, max_retry_after: float | None = None,
                 sleep=None, *, async_client=None, asleep=None) -> None:
        self.token_provider = token_provider
        self.session = session or get_session()
        self.async_client = async_client
        self.base_url = (base_url or app_settings.GRAPH_URL).rstrip("/")
        self.max_retries = app_settings.GRAPH_MAX_RETRIES if max_retries is None else max_retries
        self.max_retry_after = (app_settings.GRAPH_MAX_RETRY_AFTER if max_retry_after is None
                                else max_retry_after)
        self.sleep, self.asleep = sleep or clock.sleep, asleep or clock.asleep
        self.required_scopes: list[str] = []       # what the view declared (require_scopes)

    def background_budget(self) -> float:
        """Seconds one call gets outside a request (BACKGROUND_BUDGET, or this client's retry policy's)."""
        return budget.background_budget(self.max_retries, self.max_retry_after)

    @property
    def throttle_key(self) -> str | None:
        """Whose Retry-After this client shares with other requests (the provider's user or app)."""
        return getattr(self.token_provider, "throttle_key", None)

    def declare_scopes(self, scopes) -> None:
        """Remember scopes the view needs: a Graph 403 then may go through consent (once)."""
        self.required_scopes = list(dict.fromkeys([*self.required_scopes, *scopes]))

    def url(self, path: str) -> str:
        """Return the absolute URL for ``path``; an absolute URL must be on Graph's own origin."""
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            if origin(path) != origin(self.base_url):
                raise ValueError(f"refusing to send a Graph token to {parts.netloc or path!r}")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"
