"""GraphAuthMiddleware: a lazy ``request.graph``, access tokens refreshed ahead of expiry, the way
back through sign-in when tokens can't be had silently, and an answer (never a 500) when Graph or
the identity platform fails (graph_auth.answers).

Put it after ``AuthenticationMiddleware``. A request that neither uses Graph nor needs a refresh
costs no database query: what the middleware needs (when to refresh) lives in the session. The
refresh ahead and ``request.graph`` share one ``UserTokens``: one read of the user's tokens per
request, and no second refresh after the first.
"""
from __future__ import annotations

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.utils.functional import SimpleLazyObject

from . import answers
from . import session as keys
from .answers import reauthenticate, wants_json  # noqa: F401  (wants_json's home was here)
from .exceptions import IdentityPlatformUnavailable, InteractionRequired, TokenError
from .graph import GraphClient
from .log import clean
from .session import REAUTH_KEY  # noqa: F401  (its home was here)
from .user_tokens import UserTokens

logger = logging.getLogger(__name__)


def user_graph(request, tokens: UserTokens | None = None) -> GraphClient:
    """The Graph client acting as the signed-in user (what ``request.graph`` is)."""
    return GraphClient(tokens or UserTokens(request))


class GraphAuthMiddleware:
    """Works in sync and async stacks alike: under ASGI it adds no thread hop of its own unless
    the tokens are due (then one, for the refresh); whether they are, the session says."""
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        tokens = self.attach(request)
        response = self.refresh_if_due(request, tokens) if self.is_due(request) else None
        return response or self.get_response(request)

    async def __acall__(self, request):
        tokens = self.attach(request)
        response = None
        if await self.ais_due(request):
            response = await sync_to_async(self.refresh_if_due, thread_sensitive=True)(request, tokens)
        return response or await self.get_response(request)

    @staticmethod
    def attach(request) -> UserTokens:
        """Give the request its lazy ``request.graph``; the refresh ahead shares its tokens, so a
        request reads the user's cache once and never refreshes twice."""
        tokens = UserTokens(request)
        request.graph = SimpleLazyObject(lambda: user_graph(request, tokens))
        return tokens

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
        """Refresh ahead of expiry (sync code; in async stacks the one thread hop it needs)."""
        if not request.user.is_authenticated:
            return None
        try:
            (tokens or UserTokens(request)).get_token()
        except InteractionRequired as exc:
            return reauthenticate(request, exc)
        except (IdentityPlatformUnavailable, TokenError) as exc:
            # The access token may still be good; views that need Graph will say if it is not
            # (a refused refresh, e.g. an expired client secret, must not take down every page).
            logger.warning("could not refresh tokens ahead of expiry: %s", clean(exc))
        return None

    def process_exception(self, request, exception):
        return answers.respond(request, exception)
