"""GraphAuthMiddleware: a lazy ``request.graph``, access tokens refreshed ahead of expiry, and the
way back through sign-in when tokens can't be had silently.

Put it after ``AuthenticationMiddleware``. A request that neither uses Graph nor needs a refresh
costs no database query: what the middleware needs (when to refresh) lives in the session.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

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


def user_graph(request) -> GraphClient:
    """The Graph client acting as the signed-in user (what ``request.graph`` is)."""
    return GraphClient(UserTokens(request))


class GraphAuthMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.graph = SimpleLazyObject(lambda: user_graph(request))
        response = self.refresh_if_due(request)
        return response or self.get_response(request)

    def refresh_if_due(self, request):
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return None
        status = keys.token_status(session)
        if not status or not status.get("refresh_at") or time.time() < status["refresh_at"]:
            return None
        if not request.user.is_authenticated:
            return None
        try:
            UserTokens(request).refresh()
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
