"""Consent book-keeping and the token responses every user grant shares."""
from __future__ import annotations

import secrets

from .. import account_claims, tokens
from ..errors import OAuthError
from ..keys import b64url
from ..objects import AppRegistration, User
from ..records import RefreshGrant
from ..scopes import GRAPH, Resource, ScopeRequest, resource_for
from .claims_request import id_token_auth_time, wants_cp1


def static_permissions(em, app: AppRegistration, resource: Resource) -> set[str]:
    """The delegated permissions the app registration lists for ``resource``."""
    granted = set()
    for key, scopes in app.api_permissions.items():
        res = GRAPH if key.lower() == "graph" else resource_for(em.directory, key)
        if res is not None and res.app_id == resource.app_id:
            granted.update(resource.canonical(s) or s for s in scopes)
    return granted


def consented(em, user: User, app: AppRegistration, resource: Resource) -> set[str]:
    granted = set(em.consents.get((user.id, app.client_id), {}).get(resource.app_id, set()))
    if app.admin_consent:
        granted |= static_permissions(em, app, resource)
    return granted


def requested(em, app: AppRegistration, request: ScopeRequest) -> set[str]:
    """The resource permissions a request needs: its scopes, or the static list for /.default."""
    scopes = set(request.scopes)
    if request.default:
        scopes |= static_permissions(em, app, request.resource)
    return scopes


def consent(em, user, app: AppRegistration, request: ScopeRequest) -> None:
    """Record the user's consent to what ``request`` asks of ``app``. When the resource is an API
    that lists ``app`` in its knownClientApplications, consent covers the API's own static
    permissions too (combined consent), so the API can call downstream APIs on-behalf-of the user."""
    em.grant_consent(user, app.client_id, requested(em, app, request), request.resource.app_id)
    api = request.resource.app
    if api is not None and app.client_id in api.known_client_applications:
        for key in api.api_permissions:
            resource = GRAPH if key.lower() == "graph" else resource_for(em.directory, key)
            if resource is not None:
                em.grant_consent(user, api.client_id, static_permissions(em, api, resource),
                                 resource.app_id)


def missing_consent(em, user: User, app: AppRegistration, request: ScopeRequest) -> list[str]:
    return sorted(requested(em, app, request) - consented(em, user, app, request.resource))


def require_consent(em, user: User, app: AppRegistration, request: ScopeRequest) -> None:
    """Refuse a non-interactive grant for permissions the user (or an admin) never consented to.

    ``<resource>/.default`` asks for "whatever has been consented": it fails only when nothing
    has been consented for the resource (the consent prompt would list the static permissions).
    """
    if request.default:
        granted = consented(em, user, app, request.resource)
        missing = sorted(set(request.scopes) - granted)
        if not granted and not missing:
            missing = sorted(static_permissions(em, app, request.resource))
    else:
        missing = missing_consent(em, user, app, request)
    if missing:
        raise OAuthError(
            "invalid_grant", 65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization "
            f"request for this user and resource. Missing: {' '.join(missing)}.",
            suberror="consent_required")


def echo_scope(em, user: User, app: AppRegistration, request: ScopeRequest) -> tuple[list[str], str]:
    """Return (permissions in the access token, the ``scope`` string Entra echoes)."""
    # Entra puts every consented permission of the resource in the token; /.default adds nothing
    # beyond that (its static list only shapes the consent prompt).
    asked = set(request.scopes) if request.default else requested(em, app, request)
    granted = sorted(asked | consented(em, user, app, request.resource))
    echoed = [request.resource.echo(s) for s in granted]
    if "openid" in request.oidc:
        echoed += ["openid", *(["profile"] if "profile" in request.oidc else []), "email"]
    return granted, " ".join(echoed)


def new_refresh_token(em, *, app: AppRegistration, user: User, request: ScopeRequest, sid: str,
                      family: str | None = None, claims: dict | None = None, spa: bool = False) -> str:
    now = em.clock.now()
    lifetime = em.settings.spa_refresh_token_lifetime if spa else em.settings.refresh_token_lifetime
    token = "1.AR" + b64url(secrets.token_bytes(48))
    em.refresh_tokens[token] = RefreshGrant(
        client_id=app.client_id, user_id=user.id, tenant_id=user.tenant_id,
        resource_app_id=request.resource.app_id, scopes=list(request.scopes),
        oidc=sorted(request.oidc), issued_at=now, expires_at=now + lifetime,
        family=family or b64url(secrets.token_bytes(9)), sid=sid, claims=claims or {}, spa=spa)
    return token


def user_token_response(em, *, app: AppRegistration, user: User, request: ScopeRequest, sid: str,
                        auth_time: float, nonce: str | None = None, claims: dict | None = None,
                        client_auth: str = "1", family: str | None = None, spa: bool = False,
                        refresh_expires_at: float | None = None, max_age: bool = False) -> dict:
    """Return the token response of a user grant: access token, ID token, refresh token, client_info."""
    claims = claims or {}
    granted, scope = echo_scope(em, user, app, request)
    access_token, expires_in = tokens.access_token(
        em, client=app, resource=request.resource, tenant_id=user.tenant_id, user=user,
        scopes=granted or sorted(request.oidc - {"offline_access"}), cp1=wants_cp1(claims),
        prefixed=request.prefixed, client_auth=client_auth)
    body = {"token_type": "Bearer", "scope": scope, "expires_in": expires_in,
            "ext_expires_in": expires_in, "access_token": access_token}
    if em.settings.refresh_in:
        body["refresh_in"] = em.settings.refresh_in
    if request.offline:
        body["refresh_token"] = new_refresh_token(em, app=app, user=user, request=request, sid=sid,
                                                  family=family, claims=claims, spa=spa)
        if spa and refresh_expires_at is not None:     # SPA tokens never slide past the first one
            em.refresh_tokens[body["refresh_token"]].expires_at = refresh_expires_at
        if spa:
            body["refresh_token_expires_in"] = int(
                em.refresh_tokens[body["refresh_token"]].expires_at - em.clock.now())
    if "openid" in request.oidc:
        body["id_token"] = tokens.id_token(
            em, user, app, oidc=request.oidc, nonce=nonce, sid=sid,
            auth_time=id_token_auth_time(app, claims, auth_time, max_age=max_age))
    body["client_info"] = account_claims.client_info(em, user)
    return body
