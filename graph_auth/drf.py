"""Django REST framework support (optional: import this module only where DRF is installed).

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["graph_auth.drf.GraphBearerAuthentication"]}

    class Me(APIView):
        permission_classes = [HasScopeOrRole]
        required_scopes = ["access_as_user"]        # delegated tokens
        required_roles = ["Reports.Read"]           # app-only tokens
        def get(self, request):
            return Response(request.graph.get("/me"))   # on behalf of the caller
"""
from __future__ import annotations

from django.utils.functional import SimpleLazyObject
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .api import BearerError, OnBehalfOf, check_permissions, granted, token_kind, validate_access_token
from .exceptions import IdentityPlatformUnavailable
from .graph import GraphClient
from .models import MicrosoftAccount


class IdentityPlatformDown(exceptions.APIException):
    """The Microsoft identity platform can't be reached (keys, metadata or on-behalf-of): try later."""
    status_code = 503
    default_detail = "The Microsoft identity platform is unavailable. Try again in a moment."
    default_code = "temporarily_unavailable"


class _OnBehalfOf(OnBehalfOf):
    """On-behalf-of tokens whose platform outages DRF renders as 503 (not 500)."""

    def get_token(self, *args, **kwargs) -> str:
        try:
            return super().get_token(*args, **kwargs)
        except IdentityPlatformUnavailable:
            raise IdentityPlatformDown() from None


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
        except IdentityPlatformUnavailable:
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
