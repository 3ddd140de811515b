"""Django REST framework support (optional: import this module only where DRF is installed).

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["graph_auth.drf.GraphBearerAuthentication"],
                      "EXCEPTION_HANDLER": "graph_auth.drf.exception_handler"}

    class Me(APIView):
        permission_classes = [HasScopeOrRole]
        required_scopes = ["access_as_user"]        # delegated tokens
        required_roles = ["Reports.Read"]           # app-only tokens
        def get(self, request):
            return Response(request.graph.get("/me"))   # on behalf of the caller

Failures of Graph and the identity platform get the answers graph_auth's middleware gives
(graph_auth.answers: ``api_view``'s to bearer-token callers, the pages' to session-authenticated
ones): from ``exception_handler``, or from the middleware when DRF re-raises them.
"""
from __future__ import annotations

from django.utils.functional import SimpleLazyObject
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, views
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from . import answers
from .api import BearerError, OnBehalfOf, check_permissions, granted, token_kind, validate_access_token
from .exceptions import BudgetExceeded, GraphAuthError, IdentityPlatformUnavailable
from .graph import GraphClient
from .models import MicrosoftAccount


class GraphAuthAPIException(exceptions.APIException):
    """A graph_auth failure as DRF's own exception: DRF's handler answers with its status, body and
    headers (``Retry-After``, ``WWW-Authenticate``)."""

    def __init__(self, answer: answers.Answer) -> None:
        super().__init__()
        self.status_code = answer.status
        self.detail = dict(answer.body)          # as it is: DRF would turn numbers and None into text
        retry_after = answer.headers.get("Retry-After")
        self.wait = int(retry_after) if retry_after else None
        self.auth_header = answer.headers.get("WWW-Authenticate")


class IdentityPlatformDown(GraphAuthAPIException):
    """The Microsoft identity platform can't be reached (keys or metadata): try later."""

    def __init__(self) -> None:
        super().__init__(answers.describe(IdentityPlatformUnavailable()))


def exception_handler(exc, context):
    """DRF's exception handler, answering graph_auth's failures as graph_auth's middleware does
    (``REST_FRAMEWORK["EXCEPTION_HANDLER"] = "graph_auth.drf.exception_handler"``): a bearer-token
    caller as ``api_view`` does; a caller authenticated by its session (DRF's
    ``SessionAuthentication``: a browser) as the site's pages do, through sign-in again when Graph
    needs the user."""
    if isinstance(exc, GraphAuthError):
        request = context.get("request")
        django_request = getattr(request, "_request", request)     # DRF's Request wraps Django's
        if django_request is not None and getattr(django_request, "api_claims", None) is None:
            response = answers.respond(django_request, exc)
            if response is not None:
                return response
        else:
            answer = answers.api_answer(exc)
            if answer is not None:
                exc = GraphAuthAPIException(answer)
    return views.exception_handler(exc, context)


class _OnBehalfOf(OnBehalfOf):
    """On-behalf-of tokens whose failures (platform down, the user needed) DRF answers by itself,
    whatever its exception handler."""

    def get_token(self, *args, **kwargs) -> str:
        try:
            return super().get_token(*args, **kwargs)
        except GraphAuthError as exc:
            answer = answers.api_answer(exc)
            if answer is None:
                raise
            raise GraphAuthAPIException(answer) from None


class TokenUser:
    """The caller of a protected API who has no user on this site (or an app)."""
    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = is_superuser = False
    pk = id = None

    def __init__(self, claims: dict) -> None:
        self.claims = claims
        self.username = claims.get("preferred_username") or claims.get("oid", "")

    def __str__(self) -> str:
        return self.username

    def get_username(self) -> str:
        return self.username


class GraphBearerAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer`` tokens issued for this app's API: the tokens
    ``api_view`` accepts (graph_auth.api's validation), granting at least one scope or app role.

    ``request.user`` is the Django user linked to the caller's (tid, oid) if any, else a
    ``TokenUser``; ``request.auth`` holds the token's claims; ``request.graph`` calls Graph on
    behalf of the caller (delegated tokens).
    """

    @sensitive_variables()            # the caller's token sits in this frame's locals
    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        try:
            claims = validate_access_token(token)
            if not granted(claims):
                # api_view never accepts it either: any app in an allowed tenant can get an
                # app-only token for this API without an app role.
                raise BearerError(401, "invalid_token", "The token grants no scope or app role.")
        except BearerError as exc:
            raise exceptions.AuthenticationFailed(exc.description) from None
        except (IdentityPlatformUnavailable, BudgetExceeded):
            raise IdentityPlatformDown() from None
        django_request = request._request
        django_request.api_claims = claims
        django_request.graph = (SimpleLazyObject(lambda: GraphClient(_OnBehalfOf(token, claims)))
                                if token_kind(claims) == "delegated" else None)
        account = (MicrosoftAccount.objects.select_related("user")
                   .filter(tenant_id=claims["tid"], object_id=claims.get("oid")).first())
        user = account.user if account and account.user.is_active else TokenUser(claims)
        return user, claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm=""'


class HasScopeOrRole(BasePermission):
    """Allow delegated tokens with one of ``view.required_scopes`` and app-only tokens with one of
    ``view.required_roles``."""
    message = "The token lacks the scope or app role this API needs."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, dict):
            return False
        try:
            check_permissions(request.auth, getattr(view, "required_scopes", None),
                              getattr(view, "required_roles", None))
        except BearerError as exc:
            self.message = exc.description
            return False
        return True
