"""GraphAuthMiddleware: a lazy ``request.graph``, access tokens refreshed ahead of expiry, the way
back through sign-in when tokens can't be had silently, and an answer (never a 500) when Graph or
the identity platform fails (graph_auth.answers).

Put it after ``AuthenticationMiddleware``. A request that neither uses Graph nor needs a refresh
costs no database query: what the middleware needs (when to refresh) lives in the session.
"""
from __future__ import annotations

import logging
import time

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
        except (IdentityPlatformUnavailable, TokenError) as exc:
            # The access token may still be good; views that need Graph will say if it is not
            # (a refused refresh, e.g. an expired client secret, must not take down every page).
            logger.warning("could not refresh tokens ahead of expiry: %s", clean(exc))
        return None

    def process_exception(self, request, exception):
        return answers.respond(request, exception)
