"""Everything graph_auth raises derives from GraphAuthError. Messages never contain token values."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation


class GraphAuthError(Exception):
    """The root of graph_auth's exceptions."""


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


class TokenError(GraphAuthError):
    """The identity platform refused a token request (msal's error dict, without secrets)."""

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


class GraphThrottled(GraphRequestError):
    """Graph kept answering 429/503/504, or asked to wait longer than GRAPH_MAX_RETRY_AFTER."""

    def __init__(self, *args, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after
