"""GraphAuthMiddleware: a lazy ``request.graph``, access tokens refreshed ahead of expiry, and the
way back through sign-in when tokens can't be had silently.

Put it after ``AuthenticationMiddleware``. A request that neither uses Graph nor needs a refresh
costs no database query: what the middleware needs (when to refresh) lives in the session. The
refresh ahead and ``request.graph`` share one ``UserTokens``: one read of the user's tokens per
request, and no second refresh after the first.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from . import session as keys
from .exceptions import IdentityPlatformUnavailable, InteractionRequired
from .graph import GraphClient
from .log import clean
from .user_tokens import UserTokens

logger = logging.getLogger(__name__)
REAUTH_KEY = "graph_auth_reauth"          # what the next sign-in must ask for (scopes, claims)


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
        except IdentityPlatformUnavailable as exc:
            # The access token may still be good; views that need Graph will say if it is not.
            logger.warning("could not refresh tokens ahead of expiry: %s", clean(exc))
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, InteractionRequired):
            return reauthenticate(request, exception)
        return None


def wants_json(request) -> bool:
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def reauthenticate(request, error: InteractionRequired):
    """Send the user through sign-in and back to this URL (HTML), or answer 401 (JSON).

    Incremental consent keeps the Django session; a revoked or expired grant ends it first.
    """
    consent = error.scopes and (error.error == "consent_required" or error.suberror == "consent_required"
                                or 65001 in error.codes)
    next_url = request.get_full_path() if request.method in ("GET", "HEAD") else request.headers.get("referer", "/")
    if not consent:
        logout(request)
    request.session[REAUTH_KEY] = {"scopes": list(error.scopes) if consent else [],
                                   "claims": error.claims}
    login_url = f"{reverse('graph_auth:login')}?{urlencode({'next': next_url})}"
    if wants_json(request):
        return JsonResponse({"error": "consent_required" if consent else "reauthentication_required",
                             "login_url": login_url}, status=401)
    return HttpResponseRedirect(login_url)
