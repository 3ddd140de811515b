"""Protected APIs: views that accept ``Authorization: Bearer <token>`` issued for this app's own API,
and call Graph on behalf of the caller (OBO).

    @api_view(scopes=["access_as_user"])         # delegated tokens need one of these scopes
    def me(request):
        return JsonResponse(request.graph.get("/me"))

    @api_view(roles=["Reports.Read"])            # app-only tokens need one of these app roles
    def report(request): ...

Checked: RS256 signature against the tenant's JWKS; an access token, not an ID token (``azp`` +
``azpacr`` in v2.0 tokens, ``appid`` + ``appidacr`` in v1.0, no ``nonce``/``at_hash``/``c_hash``);
issuer = the issuer of the token's own ``tid`` in the token's version; tenant (the configured one,
or for multi-tenant apps one in ALLOWED_TENANTS, or any with API_ALLOW_ANY_TENANT=True); audience
(API_AUDIENCES: the client id and ``api://<client id>`` by default); expiry; delegated (``scp``) or
app-only (``idtyp`` "app", or ``roles`` without ``scp`` and ``sub`` == ``oid``), with one of the
view's scopes or app roles. Failures are 401/403 JSON answers with a ``WWW-Authenticate`` header
(RFC 6750); failures of Graph and the identity platform inside the view get graph_auth.answers'
JSON answers (503 with Retry-After, 403, 502; 401/403 challenges when Graph needs the user).
"""
from __future__ import annotations

import functools

import jwt
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from . import answers, id_tokens, msal_client
from .answers import BearerError, obo_failure  # noqa: F401  (their home was here)
from .app_settings import app_settings
from .exceptions import BudgetExceeded, GraphAuthError, IdentityPlatformUnavailable, InteractionRequired, InvalidIdToken
from .graph import GraphClient
from .token_store import AppTokenStore
from .tokens import TokenProvider
from .user_tokens import check_refresh_account


def bearer_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerError(401, None, "This API needs an Authorization: Bearer token.")
    return token.strip()


def _audiences() -> list[str]:
    client_id = app_settings.client_id
    return list(app_settings.API_AUDIENCES or [client_id, f"api://{client_id}"])


# Claims only ID tokens carry, and the claims that mark an access token, by token version.
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")
ACCESS_TOKEN_MARKERS = {"1.0": ("appid", "appidacr"), "2.0": ("azp", "azpacr")}


def validate_access_token(token: str) -> dict:
    """Return the claims of an access token issued for this API, or raise BearerError (401)."""
    def invalid(text):
        return BearerError(401, "invalid_token", text)

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise invalid("The token is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise invalid("The token is not signed with RS256.")
    try:
        key = id_tokens.signing_key(header.get("kid"))
    except InvalidIdToken:
        raise invalid("The token is signed with an unknown key.") from None
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=_audiences(),
                            leeway=app_settings.ID_TOKEN_LEEWAY,
                            options={"require": ["exp", "iss", "aud", "tid"]})
    except jwt.ExpiredSignatureError:
        raise invalid("The token has expired.") from None
    except jwt.InvalidAudienceError:
        raise invalid("The token was issued for another audience.") from None
    except jwt.PyJWTError as exc:
        raise invalid(f"The token is not valid: {exc}") from None
    if any(name in claims for name in ID_TOKEN_CLAIMS):
        raise invalid("The token is an ID token, not an access token.")
    markers = ACCESS_TOKEN_MARKERS.get(claims.get("ver"))
    if not markers or not all(isinstance(claims.get(name), str) and claims[name] for name in markers):
        raise invalid("The token is not an access token (no azp and azpacr, or appid and appidacr).")
    if not isinstance(claims["tid"], str) or not claims["tid"]:
        raise invalid("The token has no tenant id.")
    try:
        id_tokens.check_issuer(claims, v1=claims["ver"] == "1.0")
    except InvalidIdToken:
        raise invalid("The token was issued by another tenant or authority.") from None
    _check_tenant(claims["tid"])
    token_kind(claims)
    return claims


def _check_tenant(tid: str) -> None:
    """ALLOWED_TENANTS, when set, names the tenants whose tokens a multi-tenant API accepts;
    without it, only API_ALLOW_ANY_TENANT=True opens it to every tenant."""
    allowed = app_settings.ALLOWED_TENANTS
    if allowed:
        if tid not in allowed:
            raise BearerError(401, "invalid_token", "The token's tenant is not allowed to use this API.")
    elif app_settings.multi_tenant and not app_settings.API_ALLOW_ANY_TENANT:
        raise BearerError(401, "invalid_token", "This multi-tenant API accepts no tenant yet: its "
                                                "GRAPH_AUTH['ALLOWED_TENANTS'] is not set (nor "
                                                "API_ALLOW_ANY_TENANT).")


def token_kind(claims: dict) -> str:
    """Return "delegated" (a user's token: ``scp``) or "app" (app-only: ``idtyp`` "app", or, without
    ``idtyp``, ``roles`` and no ``scp`` with ``sub`` equal to ``oid``); raise BearerError (401) for
    anything else."""
    scp, roles, idtyp = claims.get("scp"), claims.get("roles"), claims.get("idtyp")
    malformed_roles = roles is not None and not (isinstance(roles, list)
                                                 and all(isinstance(r, str) for r in roles))
    if (scp is not None and not isinstance(scp, str)) or malformed_roles:
        raise BearerError(401, "invalid_token", "The token's scp or roles claim is malformed.")
    if scp is not None and idtyp in (None, "user"):
        return "delegated"
    # Without idtyp (an optional claim), Entra's app-only tokens carry roles and no scp, and their
    # subject is the client's service principal: sub == oid (a user's sub is pairwise, never oid).
    app_subject = bool(roles) and bool(claims.get("oid")) and claims.get("sub") == claims.get("oid")
    if scp is None and (idtyp == "app" or (idtyp is None and app_subject)):
        return "app"
    raise BearerError(401, "invalid_token", "The token is neither a delegated nor an app-only access token.")


def granted(claims: dict) -> set[str]:
    """The scopes (delegated tokens) or app roles (app-only tokens) a validated token grants."""
    if token_kind(claims) == "delegated":
        return set(claims["scp"].split())
    return set(claims.get("roles") or [])


def check_permissions(claims: dict, scopes=None, roles=None) -> None:
    """Delegated tokens need one of ``scopes``; app-only tokens one of ``roles`` (403 otherwise)."""
    if token_kind(claims) == "delegated":
        if not scopes or not set(scopes) & granted(claims):
            raise BearerError(403, "insufficient_scope",
                              "The token lacks the scope this API needs." if scopes else
                              "This API does not accept delegated (user) tokens.",
                              scope=" ".join(scopes or []))
    elif not roles or not set(roles) & granted(claims):
        raise BearerError(403, "insufficient_scope",
                          "The token lacks the app role this API needs." if roles else
                          "This API does not accept app-only tokens.")


class OnBehalfOf(TokenProvider):
    """Token provider for Graph on behalf of an API caller: the caller's downstream tokens are
    cached per caller (tid, oid) and refreshed with their refresh token; a new OBO exchange is
    made only when the cache can't serve."""

    def __init__(self, assertion: str, claims: dict) -> None:
        super().__init__()
        self.assertion = assertion
        self.store = AppTokenStore.for_caller(claims["tid"], claims["oid"])
        self.throttle_key = f"caller:{claims['tid']}:{claims['oid']}"

    def default_scopes(self) -> list[str]:
        return list(app_settings.OBO_SCOPES)

    def account(self, cache) -> str | None:
        # The caller's row holds one account, filed by msal under the caller's *home* account
        # (client_info): for a guest that is not the token's oid.tid, so take msal's own key.
        return next(iter(msal_client.account_ids(cache)), None)

    def peek(self, cache, want, *, still_valid: bool = False):
        return super().peek(cache, want, still_valid=still_valid) if self.account(cache) else None

    @sensitive_variables()
    def acquire(self, cache, want):
        account_id = self.account(cache)
        if account_id and not want.claims:
            try:
                result = msal_client.acquire_silent(cache, account_id, want.scopes, force_refresh=True)
            except InteractionRequired:
                pass              # the cached refresh token is dead: exchange the assertion again
            else:
                check_refresh_account(result, account_id)     # raises: nothing is saved
                return msal_client.result_hit(result, self.margin)
        result = msal_client.acquire_on_behalf_of(cache, self.assertion, want.scopes,
                                                  claims_challenge=want.claims)
        return msal_client.result_hit(result, self.margin)


# By name, so the API view's own locals (called beneath) stay in error reports; what holds the
# caller's token here is called "token", "header" or "assertion".
@sensitive_variables("token", "header", "assertion")
def authorize(request, scopes=None, roles=None) -> JsonResponse | None:
    """Check the request's bearer token: on success set ``request.api_claims`` and
    ``request.graph`` and return None, else return the refusal."""
    try:
        token = bearer_token(request)
        claims = validate_access_token(token)
        check_permissions(claims, scopes, roles)
    except BearerError as exc:
        return exc.response()
    except (IdentityPlatformUnavailable, BudgetExceeded) as exc:      # its keys or metadata: answered always
        return answers.describe(exc).json()
    request.api_claims = claims
    request.graph = (SimpleLazyObject(lambda: GraphClient(OnBehalfOf(token, claims)))
                     if token_kind(claims) == "delegated" else None)
    return None


def downstream_failure(exc: GraphAuthError) -> JsonResponse:
    """What an API view answers when calling Graph on the caller's behalf failed: the answer the
    middleware and DRF give too (graph_auth.answers); what the mapping doesn't answer is raised."""
    answer = answers.api_answer(exc)
    if answer is None:
        raise exc
    return answer.json()


def api_view(view=None, *, scopes=None, roles=None):
    """Protect a function view with bearer tokens for this API (see the module docstring).

    Inside the view ``request.api_claims`` holds the token's claims and, for delegated tokens,
    ``request.graph`` calls Graph on behalf of the caller. ``async def`` views are supported
    (``await request.graph.aget(...)``).
    """
    def decorate(func):
        if iscoroutinefunction(func):
            async def wrapper(request, *args, **kwargs):
                # Validation may fetch the signing keys (synchronous HTTP): not on the event loop.
                refused = await sync_to_async(authorize, thread_sensitive=False)(request, scopes, roles)
                if refused is not None:
                    return refused
                try:
                    return await func(request, *args, **kwargs)
                except GraphAuthError as exc:
                    return downstream_failure(exc)
        else:
            def wrapper(request, *args, **kwargs):
                refused = authorize(request, scopes, roles)
                if refused is not None:
                    return refused
                try:
                    return func(request, *args, **kwargs)
                except GraphAuthError as exc:
                    return downstream_failure(exc)
        wrapper = csrf_exempt(functools.wraps(func)(wrapper))
        wrapper.graph_auth_api = True          # for the system check on multi-tenant APIs (W030)
        return wrapper

    return decorate(view) if view is not None else decorate
