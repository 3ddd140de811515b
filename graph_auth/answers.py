"""HTTP answers for graph_auth's exceptions, rendered from the one mapping their classes state
(``http_status``, ``default_code``, ``default_detail``, ``retry_after``: see graph_auth.exceptions).

The middleware, ``api_view`` and ``graph_auth.drf`` all answer through here:
- a bearer-token API (``request.api_claims`` is set): JSON; when Graph needs the user, an RFC 6750
  challenge (``obo_failure``);
- a browser: InteractionRequired sends the user through sign-in and back; a Graph 403 in a view
  that declared scopes does too, once; anything else is a page (UNAVAILABLE_TEMPLATE,
  FORBIDDEN_TEMPLATE, GRAPH_ERROR_TEMPLATE), or JSON for XHR/JSON clients.
``GRAPH_AUTH["HANDLE_ERRORS"] = False`` leaves every failure but InteractionRequired to the site.
"""
from __future__ import annotations

import base64
import logging
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.db import DatabaseError
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from . import clock
from . import session as keys
from .app_settings import app_settings
from .exceptions import (
    DEFAULT_RETRY_AFTER,
    GraphAuthConfigError,
    GraphAuthError,
    GraphForbidden,
    GraphRequestError,
    InteractionRequired,
)
from .log import clean
from .pages import render_page

logger = logging.getLogger(__name__)

CONSENT_WINDOW = 600        # seconds: a Graph 403 this soon after its consent round trip gets the page
TEMPLATE_SETTINGS = {503: "UNAVAILABLE_TEMPLATE", 403: "FORBIDDEN_TEMPLATE"}   # else GRAPH_ERROR_TEMPLATE
TITLES = {503: _("Temporarily unavailable"), 403: _("Access denied")}
DEFAULT_TITLE = _("Microsoft could not complete the request")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to a failure: status, JSON body, headers."""
    status: int
    body: dict
    headers: dict = field(default_factory=dict)

    def json(self) -> JsonResponse:
        response = JsonResponse(self.body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def describe(exc: BaseException) -> Answer | None:
    """Return the answer the mapping gives ``exc`` (None: it gives none, Django's handling applies)."""
    status = exc.http_status if isinstance(exc, GraphAuthError) else None
    if status is None:
        return None
    body = {"error": exc.default_code, "error_description": exc.default_detail}
    if isinstance(exc, GraphRequestError):          # what Microsoft support asks for
        body.update(status=exc.status_code, code=exc.code, request_id=exc.request_id)
    headers = {}
    if status == 503:
        wait = exc.retry_after
        if wait is None or not math.isfinite(wait):       # the failure named no (usable) time
            wait = DEFAULT_RETRY_AFTER
        headers["Retry-After"] = str(clock.whole_seconds(wait))      # delay-seconds: an integer
    return Answer(status, body, headers)


class BearerError(Exception):
    """Why a bearer token was refused: an HTTP status and an RFC 6750 error code."""

    def __init__(self, status: int, error: str | None, description: str, scope: str | None = None,
                 claims: str | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.scope, self.claims = status, error, description, scope, claims

    def answer(self) -> Answer:
        params = ['realm=""']
        if self.error:
            params += [f'error="{self.error}"', f'error_description="{self.description}"']
        if self.scope:
            params.append(f'scope="{self.scope}"')
        if self.claims:
            params.append(f'claims="{base64.b64encode(self.claims.encode()).decode()}"')
        body = {"error": self.error or "unauthorized", "error_description": self.description}
        if self.claims:
            body["claims"] = self.claims
        return Answer(self.status, body, {"WWW-Authenticate": "Bearer " + ", ".join(params)})

    def response(self) -> JsonResponse:
        return self.answer().json()


def is_consent(error: InteractionRequired) -> bool:
    return error.error == "consent_required" or error.suberror == "consent_required" or 65001 in error.codes


def obo_failure(exc: InteractionRequired) -> BearerError:
    """What the API tells its caller when Graph can't be had on their behalf without interaction
    (consent missing, a Conditional Access or CAE claims challenge, a revoked session)."""
    if is_consent(exc):
        return BearerError(403, "consent_required", "The user has not consented to what this API "
                                                    "needs from Microsoft Graph.")
    return BearerError(401, "invalid_token" if not exc.claims else "insufficient_claims",
                       "A new sign-in is needed (the session was revoked, or Conditional Access "
                       "asks for more).", claims=exc.claims)


def api_answer(exc: BaseException) -> Answer | None:
    """The answer to a bearer-token API's caller: a challenge when Graph needs the user (always),
    else the mapping's (None with HANDLE_ERRORS off)."""
    if isinstance(exc, InteractionRequired):
        answer = obo_failure(exc).answer()
    else:
        answer = describe(exc) if app_settings.HANDLE_ERRORS else None
    if answer is not None:
        _log(exc, answer)
    return answer


def respond(request, exc: BaseException):
    """Answer ``exc`` escaping a view of ``request``; None leaves it to Django."""
    if getattr(request, "api_claims", None) is not None:        # api_view or GraphBearerAuthentication
        answer = api_answer(exc)
        return answer.json() if answer else None
    if isinstance(exc, InteractionRequired):
        return reauthenticate(request, exc)
    answer = describe(exc) if app_settings.HANDLE_ERRORS else None
    if answer is None:
        return None
    if isinstance(exc, GraphForbidden):
        consent = consent_once(request, exc)
        if consent is not None:
            return consent
    _log(exc, answer)
    return answer.json() if wants_json(request) else page(request, answer, exc)


def _log(exc: BaseException, answer: Answer) -> None:
    level = logging.WARNING if answer.status >= 500 else logging.INFO
    logger.log(level, "answered %s %s: %s", answer.status, answer.body["error"], clean(exc))


def wants_json(request) -> bool:
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _return_url(request) -> str:
    return request.get_full_path() if request.method in ("GET", "HEAD") else request.headers.get("referer", "/")


def reauthenticate(request, error: InteractionRequired):
    """Send the user through sign-in and back to this URL (HTML), or answer 401 (JSON).

    Incremental consent keeps the Django session; a revoked or expired grant ends it first.
    """
    consent = bool(error.scopes) and is_consent(error)
    next_url = _return_url(request)
    if not consent:
        logout(request)
    request.session[keys.REAUTH_KEY] = {"scopes": list(error.scopes) if consent else [], "claims": error.claims}
    login_url = f"{reverse('graph_auth:login')}?{urlencode({'next': next_url})}"
    if wants_json(request):
        return JsonResponse({"error": "consent_required" if consent else "reauthentication_required",
                             "login_url": login_url}, status=401)
    return HttpResponseRedirect(login_url)


def consent_once(request, exc: GraphForbidden):
    """Send the user to consent to the scopes the view declared, unless that was just tried for
    this URL: a 403 again after it gets the 403 page (consent often can't fix a 403)."""
    session, user = getattr(request, "session", None), getattr(request, "user", None)
    if not exc.scopes or session is None or not (user and user.is_authenticated):
        return None
    next_url = _return_url(request)
    asked = session.get(keys.CONSENT_ASKED_KEY) or {}
    if asked.get("next") == next_url and time.time() - asked.get("at", 0) < CONSENT_WINDOW:
        return None
    session[keys.CONSENT_ASKED_KEY] = {"next": next_url, "at": time.time()}
    logger.info("Graph answered 403 (%s); asking for consent to %s", clean(exc.code, 80), clean(" ".join(exc.scopes)))
    return reauthenticate(request, InteractionRequired(
        {"error": "consent_required", "error_description": "Microsoft Graph answered 403."}, scopes=exc.scopes))


def _home_url() -> str:
    try:
        return app_settings.login_redirect_url
    except NoReverseMatch:                 # a URL name this URLconf lacks: the failure page still renders
        return "/"


def page(request, answer: Answer, exc: BaseException):
    """Render the page for ``answer`` (its template comes from the settings)."""
    template = getattr(app_settings, TEMPLATE_SETTINGS.get(answer.status, "GRAPH_ERROR_TEMPLATE"))
    context = {
        "status": answer.status, "code": answer.body["error"], "message": answer.body["error_description"],
        "title": TITLES.get(answer.status, DEFAULT_TITLE), "retry_after": answer.headers.get("Retry-After"),
        "request_id": answer.body.get("request_id"),
        "retry_url": request.get_full_path() if request.method in ("GET", "HEAD") else None,
        "home_url": _home_url(),
        # The exception's text may name hosts, tenants and Microsoft's own words: developers only.
        "detail": clean(exc, 400) if settings.DEBUG else "",
    }
    try:
        response = render_page(request, template, context, status=answer.status)
    except GraphAuthConfigError:           # the site's BASE_TEMPLATE is missing: graph_auth's own
        response = render_page(request, template, context, status=answer.status, standalone=True)
    except DatabaseError:                  # the site's base template reads the database, which fails
        response = render_page(request, template, context, status=answer.status, standalone=True)
    for name, value in answer.headers.items():
        response[name] = value
    add_never_cache_headers(response)          # a page about this user's request, for now only
    return response
