"""The grants of the token endpoint (on-behalf-of: ``on_behalf_of.py``). Each returns a token
response dict or raises OAuthError."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

from .. import tokens
from ..errors import OAuthError
from ..objects import User
from ..scopes import parse_scopes
from . import issue, principals
from .claims_request import parse_claims

# What Entra sends with a conditional-access failure: a claims challenge naming the policy (a JSON
# string) that the app passes to the next interactive request (msal's claims_challenge).
MFA_POLICY_ID = "e8c5a2f1-6b3d-4c9e-8a7f-2d1b0c9e8f7a"
MFA_CLAIMS_CHALLENGE = json.dumps({"access_token": {"capolids": {
    "essential": True, "values": [MFA_POLICY_ID]}}}, separators=(",", ":"))


def required(form: dict, name: str) -> str:
    value = form.get(name)
    if not value or not value.strip():
        raise OAuthError("invalid_request", 900144,
                         f"The request body must contain the following parameter: '{name}'.")
    return value


def requested_scopes(em, form, segment):
    return parse_scopes(em.directory, required(form, "scope"), segment)


def check_user_active(user: User | None) -> User:
    if user is None or not user.enabled:
        raise OAuthError("invalid_grant", 50057, "The user account is disabled.",
                         suberror="user_account_disabled")
    return user


def active_principal(em, user_id: str | None) -> tuple[User, User]:
    """Return (principal, home account) when both are enabled: a guest's person signs in at home."""
    user = check_user_active(em.directory.user(user_id))
    return user, check_user_active(em.directory.home_of(user))


def _pkce_ok(code, verifier: str | None) -> bool:
    if not code.code_challenge:
        return True
    if not verifier:
        return False
    if (code.code_challenge_method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("utf-8")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=")
    else:
        computed = verifier.encode("utf-8")
    return secrets.compare_digest(computed, code.code_challenge.encode("utf-8"))


def authorization_code(em, request, form, *, app, segment, tenant, client_auth):
    code_value = required(form, "code")
    code = em.codes.get(code_value)
    now = em.clock.now()
    if code is None or code.client_id != app.client_id:
        raise OAuthError("invalid_grant", 9002313,
                         "Invalid request. Request is malformed or invalid. The provided value for "
                         "the 'code' parameter is not valid.")
    if tenant is not None and tenant.id != code.tenant_id:
        raise OAuthError("invalid_grant", 700005,
                         "Provided Authorization Code is intended to use against other tenant, "
                         "thus rejected.")
    if code.redeemed:
        raise OAuthError("invalid_grant", 54005,
                         "OAuth2 Authorization code was already redeemed, please retry with a new "
                         "valid code or use an existing refresh token.")
    if code.expires_at <= now:
        raise OAuthError("invalid_grant", 70008,
                         "The provided authorization code or refresh token has expired due to "
                         "inactivity. Send a new interactive authorization request for this user "
                         "and resource.")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_grant", 50011,
                         f"The redirect URI '{form.get('redirect_uri')}' specified in the request "
                         "does not match the redirect URI used in the authorization request.")
    if not _pkce_ok(code, form.get("code_verifier")):
        raise OAuthError("invalid_grant", 501481,
                         "The Code_Verifier does not match the code_challenge supplied in the "
                         "authorization request.")
    origin = request.headers.get("origin")
    if code.spa and not origin:
        raise OAuthError("invalid_request", 9002327,
                         "Tokens issued for the 'Single-Page Application' client-type may only be "
                         "redeemed via cross-origin requests.")
    if origin and not code.spa:
        raise OAuthError("invalid_request", 9002326,
                         "Cross-origin token redemption is permitted only for the 'Single-Page "
                         "Application' client-type.")
    code.redeemed = True
    user, _ = active_principal(em, code.user_id)
    scope_request = parse_scopes(em.directory, form.get("scope") or code.scope, segment)
    issue.require_consent(em, user, app, scope_request)
    claims = parse_claims(form.get("claims")) or code.claims
    return issue.user_token_response(
        em, app=app, user=user, request=scope_request, sid=code.sid, auth_time=code.auth_time,
        nonce=code.nonce, claims=claims, client_auth=client_auth, spa=code.spa,
        max_age=code.max_age is not None)


def refresh_token(em, request, form, *, app, segment, tenant, client_auth):
    value = required(form, "refresh_token")
    grant = em.refresh_tokens.get(value)
    now = em.clock.now()
    if grant is None:
        raise OAuthError("invalid_grant", 9002313,
                         "Invalid request. Request is malformed or invalid. The provided value for "
                         "the 'refresh_token' parameter is not valid.", suberror="bad_token")
    if grant.client_id != app.client_id:
        raise OAuthError("invalid_grant", 70000,
                         "The refresh token was issued to a different client.",
                         suberror="client_mismatch", error_additional_info=["client_mismatch"])
    user, home = active_principal(em, grant.user_id)
    if grant.revoked or grant.issued_at < home.sessions_valid_from:
        raise OAuthError(
            "invalid_grant", 50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
            "The user might have changed or reset their password. The grant was issued on "
            f"'{_iso(grant.issued_at)}' and the TokensValidFrom date (before which tokens are not "
            f"valid) for this user is '{_iso(home.sessions_valid_from)}'.")
    if grant.expires_at <= now:
        if grant.spa:
            raise OAuthError("invalid_grant", 700084,
                             "The refresh token was issued to a single page app (SPA), and therefore "
                             "has a fixed, limited lifetime of 1.00:00:00, which cannot be extended.",
                             suberror="bad_token")
        raise OAuthError("invalid_grant", 700082,
                         "The refresh token has expired due to inactivity. The token was issued on "
                         f"{_iso(grant.issued_at)} and was inactive for "
                         f"{int(em.settings.refresh_token_lifetime // 86400)}.00:00:00.",
                         suberror="bad_token")
    # Entra doesn't revoke a refresh token when it is used; only the emulator's strict mode does.
    if grant.rotated_out and em.settings.reject_rotated_refresh_tokens:
        raise OAuthError("invalid_grant", 70000,
                         "The provided value for the input parameter 'refresh_token' or 'assertion' "
                         "is not valid. (Emulator: this refresh token was already used; the setting "
                         "reject_rotated_refresh_tokens refuses used tokens, Entra accepts them.)",
                         suberror="bad_token")
    if tenant is not None and tenant.id != grant.tenant_id:
        raise OAuthError("invalid_grant", 50020, "The refresh token belongs to another tenant.")
    scope_request = requested_scopes(em, form, segment)
    issue.require_consent(em, user, app, scope_request)
    claims = parse_claims(form.get("claims"))
    grant.rotated_out = True
    sso = em.sso_sessions.get(grant.sid)
    body = issue.user_token_response(
        em, app=app, user=user, request=scope_request, sid=grant.sid,
        auth_time=sso.auth_time if sso else grant.issued_at, claims=claims,
        client_auth=client_auth, family=grant.family, spa=grant.spa,
        refresh_expires_at=grant.expires_at if grant.spa else None)
    return body


def client_credentials(em, request, form, *, app, segment, tenant, client_auth):
    if tenant is None:
        raise OAuthError("invalid_request", 50059,
                         "No tenant-identifying information found in either the request or implied "
                         "by any provided credentials.")
    raw = required(form, "scope")
    scope_request = parse_scopes(em.directory, raw, segment)
    if not scope_request.default or scope_request.scopes or scope_request.oidc:
        raise OAuthError("invalid_scope", 1002012,
                         f"The provided value for scope {raw} is not valid. Client credential flows "
                         "must have a scope value with /.default suffixed to the resource identifier "
                         "(application ID URI).")
    resource = scope_request.resource
    roles = []
    for key, values in app.application_permissions.items():
        res = issue.GRAPH if key.lower() == "graph" else issue.resource_for(em.directory, key)
        if res is not None and res.app_id == resource.app_id:
            roles += values
    token, expires_in = tokens.access_token(em, client=app, resource=resource, tenant_id=tenant.id,
                                            roles=roles, prefixed=scope_request.prefixed,
                                            client_auth=client_auth)
    body = {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": token}
    if em.settings.refresh_in:
        body["refresh_in"] = em.settings.refresh_in
    return body


def password(em, request, form, *, app, segment, tenant, client_auth):
    username = required(form, "username")
    given = required(form, "password")
    if segment == "common" or principals.consumers_endpoint(segment, tenant):
        raise OAuthError("invalid_request", 90010,
                         "The grant type is not supported over the /common or /consumers endpoints. "
                         "Please use the /organizations or tenant-specific endpoint.")
    person = em.directory.person_by_name(username)
    # Only Entra accounts: no personal accounts, not even invited ones. A guest signs in with the
    # home password at the inviting tenant's endpoint.
    here = person if person is None or tenant is None or person.tenant_id == tenant.id else (
        em.directory.guest_of(person, tenant.id))
    if here is None or person.personal:
        raise OAuthError("invalid_grant", 50034,
                         f"The user account {{EmailHidden}} does not exist in the {segment} "
                         "directory. To sign into this application, the account must be added to "
                         "the directory.")
    if not secrets.compare_digest(given.encode(), person.password.encode()):
        raise OAuthError("invalid_grant", 50126,
                         "Error validating credentials due to invalid username or password.")
    check_user_active(person)
    if person.mfa_required:
        raise OAuthError("invalid_grant", 50076,
                         "Due to a configuration change made by your administrator, or because you "
                         "moved to a new location, you must use multi-factor authentication to "
                         f"access '{app.client_id}'.", suberror="basic_action",
                         claims=MFA_CLAIMS_CHALLENGE)
    user, refusal = principals.principal_for(em, segment, tenant, app, person)
    if refusal:
        raise OAuthError("invalid_grant", refusal.code or 50020, refusal.message)
    scope_request = requested_scopes(em, form, segment)
    issue.require_consent(em, user, app, scope_request)
    sid = new_session(em, person)
    return issue.user_token_response(
        em, app=app, user=user, request=scope_request, sid=sid, auth_time=em.clock.now(),
        claims=parse_claims(form.get("claims")), client_auth=client_auth)


def device_code(em, request, form, *, app, segment, tenant, client_auth):
    value = form.get("device_code") or form.get("code")
    if not value:
        raise OAuthError("invalid_request", 900144,
                         "The request body must contain the following parameter: 'device_code'.")
    grant = em.device_codes.get(value)
    now = em.clock.now()
    if grant is None or grant.client_id != app.client_id or grant.redeemed:
        raise OAuthError("bad_verification_code", 70000,
                         "The provided value for the input parameter 'device_code' is not valid.")
    if grant.expires_at <= now:
        raise OAuthError("expired_token", 70019, "Verification code expired.")
    if grant.declined:
        raise OAuthError("authorization_declined", 65004, "User declined to consent to access the app.")
    if grant.user_id is None:
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval - 1
        grant.last_poll = now
        if too_soon:
            grant.interval += 5
            raise OAuthError("slow_down", 70016,
                             "OAuth 2.0 device flow error. Polling too often: slow down.")
        raise OAuthError("authorization_pending", 70016,
                         "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
    grant.redeemed = True
    user, _ = active_principal(em, grant.user_id)
    scope_request = parse_scopes(em.directory, grant.scope, segment)
    sso = em.sso_sessions.get(grant.sid)
    return issue.user_token_response(
        em, app=app, user=user, request=scope_request, sid=grant.sid,
        auth_time=sso.auth_time if sso else now, claims=grant.claims, client_auth=client_auth)


def new_session(em, user: User) -> str:
    from ..records import SsoSession
    sid = secrets.token_hex(16)
    em.sso_sessions[sid] = SsoSession(sid, user.id, em.clock.now())
    return sid


def _iso(ts: float) -> str:
    import time
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts))
