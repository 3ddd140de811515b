"""GraphAuthMiddleware: a lazy ``request.graph``, access tokens refreshed ahead of expiry, the way
back through sign-in when tokens can't be had silently, and an answer (never a 500) when Graph or
the identity platform fails (graph_auth.answers).

Put it after ``AuthenticationMiddleware``. A request that neither uses Graph nor needs a refresh
costs no database query: what the middleware needs (when to refresh) lives in the session. The
refresh ahead and ``request.graph`` share one ``UserTokens``: one read of the user's tokens per
request, and no second refresh after the first.

Each request gets its time budget here (``graph_auth.budget``: REQUEST_BUDGET from now, for all its
calls to the identity platform and Graph). The refresh ahead of expiry is opportunistic: short
(REFRESH_AHEAD_TIMEOUT per call: the page may not need Graph), and skipped while the identity
platform's circuit breaker is open (``graph_auth.breaker``); a view that needs a token and has no
valid one left gets the full TIMEOUT.
A database error in the middleware's own work is answered 503 (``StorageUnavailable``), not a 500.
"""
from __future__ import annotations

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.db import DatabaseError
from django.utils.functional import SimpleLazyObject

from . import answers, breaker, budget
from . import session as keys
from .answers import reauthenticate, wants_json  # noqa: F401  (wants_json's home was here)
from .app_settings import app_settings
from .exceptions import (
    BudgetExceeded,
    GraphAuthConfigError,
    IdentityPlatformUnavailable,
    InteractionRequired,
    StorageUnavailable,
    TokenError,
)
from .graph import GraphClient
from .log import clean
from .session import REAUTH_KEY  # noqa: F401  (its home was here)
from .user_tokens import UserTokens

logger = logging.getLogger(__name__)


def user_graph(request, tokens: UserTokens | None = None) -> GraphClient:
    """The Graph client acting as the signed-in user (what ``request.graph`` is)."""
    return GraphClient(tokens or UserTokens(request))


def request_tokens(request) -> UserTokens:
    """The one ``UserTokens`` of this request (made when first needed)."""
    tokens = getattr(request, "_graph_auth_tokens", None)
    if tokens is None:
        tokens = request._graph_auth_tokens = UserTokens(request)
    return tokens


class GraphAuthMiddleware:
    """Works in sync and async stacks alike: under ASGI it adds no thread hop of its own unless
    the tokens are due (then one, for the refresh); whether they are, the session says."""
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        with budget.for_request():
            self.attach(request)
            try:
                response = self.refresh_if_due(request) if self.is_due(request) else None
            except DatabaseError as exc:
                response = self.storage_failed(request, exc)
            return response or self.get_response(request)

    async def __acall__(self, request):
        with budget.for_request():          # the view's awaits and thread hops see it too
            self.attach(request)
            response = None
            try:
                if await self.ais_due(request):
                    response = await sync_to_async(self.refresh_if_due, thread_sensitive=True)(request)
            except DatabaseError as exc:
                response = await sync_to_async(self.storage_failed, thread_sensitive=True)(request, exc)
            return response or await self.get_response(request)

    @staticmethod
    def attach(request) -> None:
        """Give the request its lazy ``request.graph``; the refresh ahead shares its tokens
        (``request_tokens``), so a request reads the user's cache once and never refreshes twice."""
        request.graph = SimpleLazyObject(lambda: user_graph(request, request_tokens(request)))

    @staticmethod
    def _due(status) -> bool:
        return bool(status and status.get("refresh_at") and time.time() >= status["refresh_at"])

    def is_due(self, request) -> bool:
        """Whether the session says the access token is due for refresh (no query when the
        request has no session cookie)."""
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return False
        return self._due(keys.token_status(session))

    async def ais_due(self, request) -> bool:
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return False
        if hasattr(session, "aget"):            # Django 5.0+: the session's own async read
            return self._due(await session.aget(keys.TOKEN_KEY))
        return await sync_to_async(self.is_due)(request)

    def refresh_if_due(self, request, tokens: UserTokens | None = None):
        """Refresh ahead of expiry (sync code; in async stacks the one thread hop it needs).

        The page may not need Graph at all: each call gets only REFRESH_AHEAD_TIMEOUT, and nothing
        is tried while the identity platform's breaker is open. A cut with no valid token left does
        not open the breaker (the platform may only be slow): a view that needs a token asks for
        it with the full TIMEOUT."""
        if not request.user.is_authenticated or breaker.identity_open():
            return None
        try:
            with budget.capped(app_settings.REFRESH_AHEAD_TIMEOUT):
                (tokens or request_tokens(request)).get_token()
        except InteractionRequired as exc:
            return reauthenticate(request, exc)
        except (IdentityPlatformUnavailable, TokenError, BudgetExceeded, StorageUnavailable) as exc:
            # The access token may still be good; views that need Graph will say if it is not
            # (a refused refresh, e.g. an expired client secret, must not take down every page).
            logger.warning("could not refresh tokens ahead of expiry: %s", clean(exc))
        except GraphAuthConfigError as exc:
            # Every grant fails until the site's configuration is fixed (e.g. a certificate whose key
            # can't be loaded): loud, but the page may not need Graph (views that do fail as usual).
            logger.error("could not refresh tokens ahead of expiry: graph_auth is misconfigured: %s", clean(exc))
        return None

    @staticmethod
    def storage_failed(request, exc: DatabaseError):
        """Answer a database error of the middleware's own work (the session, the user) with the
        mapping's 503; with HANDLE_ERRORS off it stays the site's."""
        error = StorageUnavailable(f"the database failed before the view: {type(exc).__name__}")
        error.__cause__ = exc
        response = answers.respond(request, error)
        if response is None:
            raise exc
        return response

    def process_exception(self, request, exception):
        return answers.respond(request, exception)
