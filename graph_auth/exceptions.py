"""Everything graph_auth raises derives from GraphAuthError. Messages never contain token values.

Each class also states the HTTP answer a view gets when it escapes (the one mapping; the
middleware, ``api_view`` and ``graph_auth.drf`` render it through ``graph_auth.answers``):

============================  ======  ===========================  ==============================
exception                     status  ``error`` code               Retry-After
============================  ======  ===========================  ==============================
IdentityPlatformUnavailable   503     temporarily_unavailable      DEFAULT_RETRY_AFTER
GraphThrottled                503     graph_throttled              Graph's (or the last back-off)
GraphUnavailable              503     graph_unavailable            DEFAULT_RETRY_AFTER
GraphTimeout                  503     graph_timeout                DEFAULT_RETRY_AFTER
BudgetExceeded                503     budget_exceeded              SHORT_RETRY_AFTER
StorageUnavailable            503     storage_unavailable          SHORT_RETRY_AFTER
GraphForbidden                403     graph_forbidden              -
GraphRequestError (others)    502     graph_error                  -
TokenError                    502     token_error                  -
InteractionRequired           401     sign-in again (browsers), a bearer challenge (APIs)
anything else                 -       not answered: Django's own handling (a bug stays a 500)
============================  ======  ===========================  ==============================
"""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation
from django.utils.translation import gettext_lazy as _

DEFAULT_RETRY_AFTER = 30          # seconds a 503 asks for when the failure named no time
SHORT_RETRY_AFTER = 5             # ... when it was this request's own (its budget, a database error)


class GraphAuthError(Exception):
    """The root of graph_auth's exceptions.

    ``http_status`` None means the failure is not an outside service's: graph_auth gives no answer
    and Django's own handling applies. ``default_detail`` is what a user may be told (no
    configuration, no Microsoft text); ``retry_after`` (seconds) goes with 503 answers.
    """
    http_status: int | None = None
    default_code = "graph_auth_error"
    default_detail = _("Something went wrong while talking to Microsoft.")
    retry_after: float | None = None


class GraphAuthConfigError(GraphAuthError, ImproperlyConfigured):
    """graph_auth is not configured correctly; the message says how to fix it."""


class AuthFlowError(GraphAuthError, SuspiciousOperation):
    """The sign-in callback does not match a flow this browser started (state, replay, expiry)."""


class ClaimsRejected(GraphAuthError, PermissionDenied):
    """The backend's ``verify_claims`` refused the identity (e.g. a tenant not allowed)."""


class InvalidIdToken(GraphAuthError):
    """An ID token failed validation (signature, issuer, audience, lifetime, tenant)."""


class IdentityPlatformUnavailable(GraphAuthError):
    """The identity platform could not be reached or answered with a server error."""
    http_status, default_code = 503, "temporarily_unavailable"
    default_detail = _("Microsoft's sign-in service can't be reached right now. Please try again in a moment.")


class BudgetExceeded(GraphAuthError):
    """The request's time budget (GRAPH_AUTH['REQUEST_BUDGET']) ran out: no call to the identity
    platform or Graph starts past it, and a call or a lock wait it cut short ends with this."""
    http_status, default_code = 503, "budget_exceeded"
    default_detail = _("Microsoft is taking too long to answer right now. Please try again in a moment.")
    retry_after = SHORT_RETRY_AFTER


class StorageUnavailable(GraphAuthError):
    """The database failed while graph_auth read or wrote what it keeps (tokens, sessions, users);
    the underlying ``DatabaseError`` is chained."""
    http_status, default_code = 503, "storage_unavailable"
    default_detail = _("This site can't reach its database right now. Please try again in a moment.")
    retry_after = SHORT_RETRY_AFTER


class TokenError(GraphAuthError):
    """The identity platform refused a token request (msal's error dict, without secrets)."""
    http_status, default_code = 502, "token_error"
    default_detail = _("Microsoft's sign-in service refused a request this site made.")

    def __init__(self, result: dict) -> None:
        self.error = result.get("error", "unknown_error")
        self.description = result.get("error_description", "")
        self.codes = list(result.get("error_codes") or [])
        self.suberror = result.get("suberror")
        self.classification = result.get("classification")
        self.correlation_id = result.get("correlation_id")
        self.claims = result.get("claims")
        first_line = self.description.splitlines()[0] if self.description else ""
        super().__init__(f"{self.error}: {first_line}".rstrip(": "))

    @property
    def aadsts(self) -> int | None:
        return self.codes[0] if self.codes else None


class InteractionRequired(TokenError):
    """Tokens can't be had silently: the user must go through sign-in (again).

    ``scopes`` are the extra permissions to ask for (incremental consent), ``claims`` a claims
    challenge to pass to the authorize endpoint (Conditional Access, CAE).
    """
    http_status, default_code = 401, "interaction_required"
    default_detail = _("You need to sign in again.")

    def __init__(self, result: dict | None = None, *, scopes=None, claims: str | None = None) -> None:
        super().__init__(result or {"error": "interaction_required"})
        self.scopes = list(scopes or [])
        if claims:
            self.claims = claims


class GraphRequestError(GraphAuthError):
    """Graph answered with an error status: ``status_code``, ``code``, ``message``, ``request_id``
    and Graph's ``inner_error`` (its date, request-id, client-request-id: what Microsoft support
    asks for).

    It keeps no response or request: the request carried the ``Authorization`` header, and error
    reporters serialize what an exception holds.
    """
    http_status, default_code = 502, "graph_error"
    default_detail = _("Microsoft Graph could not complete a request this page needs.")

    def __init__(self, status_code: int, code: str, message: str, request_id: str | None = None,
                 inner_error: dict | None = None) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code, self.code, self.message = status_code, code, message
        self.request_id, self.inner_error = request_id, dict(inner_error or {})

    @property
    def response(self):
        raise AttributeError("GraphRequestError no longer keeps the response (its request carried the "
                             "access token): use status_code, code, message, request_id, inner_error")


class GraphUnauthorized(GraphRequestError):
    """Graph answered 401 even after a fresh token."""


class GraphForbidden(GraphRequestError):
    """Graph answered 403. ``scopes`` are those the view declared (``require_scopes``): the only
    ones a new consent could bring; often it can't (``Authorization_RequestDenied``)."""
    http_status, default_code = 403, "graph_forbidden"
    default_detail = _("Microsoft Graph refused access to this information for your account.")

    def __init__(self, *args, scopes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scopes = list(scopes)


class GraphUnavailable(GraphRequestError):
    """Graph could not be reached (no answer at all): ``status_code`` 0, ``code`` "transportError"."""
    http_status, default_code = 503, "graph_unavailable"
    default_detail = _("Microsoft Graph can't be reached right now. Please try again in a moment.")


class GraphTimeout(GraphUnavailable):
    """Graph did not answer within GRAPH_AUTH['TIMEOUT']."""
    default_code = "graph_timeout"
    default_detail = _("Microsoft Graph is taking too long to answer. Please try again in a moment.")


class GraphThrottled(GraphRequestError):
    """Graph kept answering 429/503/504, or asked to wait longer than GRAPH_MAX_RETRY_AFTER."""
    http_status, default_code = 503, "graph_throttled"
    default_detail = _("Microsoft Graph is busy right now. Please try again in a moment.")

    def __init__(self, *args, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after
