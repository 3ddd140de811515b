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
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .api import BearerError, OnBehalfOf, check_permissions, validate_access_token
from .graph import GraphClient
from .models import MicrosoftAccount


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
    """Authenticate ``Authorization: Bearer`` tokens issued for this app's API.

    ``request.user`` is the Django user linked to the caller's (tid, oid) if any, else a
    ``TokenUser``; ``request.auth`` holds the token's claims; ``request.graph`` calls Graph on
    behalf of the caller (delegated tokens).
    """

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            claims = validate_access_token(token.strip())
        except BearerError as exc:
            raise exceptions.AuthenticationFailed(exc.description) from None
        django_request = request._request
        django_request.api_claims = claims
        django_request.graph = (SimpleLazyObject(lambda: GraphClient(OnBehalfOf(token.strip(), claims)))
                                if "scp" in claims else None)
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
