"""The on-behalf-of grant (jwt-bearer with requested_token_use=on_behalf_of): an API exchanges its
caller's access token for one to a downstream API, as that caller."""
from __future__ import annotations

from .. import tokens
from ..errors import OAuthError
from . import issue
from .claims_request import parse_claims
from .grants import active_principal, new_session, requested_scopes, required


def on_behalf_of(em, request, form, *, app, segment, tenant, client_auth):
    if form.get("requested_token_use") != "on_behalf_of":
        raise OAuthError("invalid_request", 900144,
                         "The request body must contain the following parameter: "
                         "'requested_token_use' with the value 'on_behalf_of'.")
    assertion = required(form, "assertion")
    try:
        claims = tokens.decode(em, assertion, app.identifiers)
    except tokens.TokenInvalid as exc:
        raise _assertion_error(exc, app) from exc
    if claims.get("idtyp") == "app" or "scp" not in claims:
        raise OAuthError("invalid_grant", 50013,
                         "Assertion is an app-only token; the on-behalf-of flow needs a delegated "
                         "(user) access token.")
    user, home = active_principal(em, claims.get("oid"))
    if em.issued_at(claims) < home.sessions_valid_from:
        raise OAuthError("invalid_grant", 50173,
                         "The provided grant has expired due to it being revoked, a fresh auth "
                         "token is needed.")
    if tenant is not None and tenant.id != claims.get("tid"):
        raise OAuthError("invalid_grant", 50013,
                         "Assertion was issued by another tenant than the one in the request.")
    scope_request = requested_scopes(em, form, segment)
    issue.require_consent(em, user, app, scope_request)
    sid = new_session(em, home)
    return issue.user_token_response(
        em, app=app, user=user, request=scope_request, sid=sid, auth_time=claims.get("iat", 0),
        claims=parse_claims(form.get("claims")), client_auth=client_auth)


def _assertion_error(exc, app) -> OAuthError:
    if exc.reason == "malformed":
        return OAuthError("invalid_request", 50027, "JWT token is invalid or malformed.")
    if exc.reason == "audience":
        return OAuthError("invalid_grant", 500131,
                          "Assertion audience does not match the Client app presenting the "
                          f"assertion. The expected audience is one of: {', '.join(app.identifiers)}.")
    if exc.reason in ("expired", "not_yet_valid"):
        return OAuthError("invalid_grant", 500133,
                          "Assertion is not within its valid time range. Ensure that the access "
                          "token is not expired before using it for user assertion.")
    return OAuthError("invalid_grant", 50013, "Assertion failed signature validation.")
