"""Minting and checking the emulator's RS256 tokens (ID tokens, access tokens, client_info)."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid

import jwt
from jwt.algorithms import RSAAlgorithm

from . import account_claims
from .constants import GRAPH_APP_ID
from .keys import b64url
from .objects import AppRegistration, User, stable_id
from .scopes import Resource

GROUP_OVERAGE_LIMIT = 200        # more groups than this: the overage claim replaces "groups"


def service_principal_id(client_id: str, tenant_id: str) -> str:
    return stable_id("serviceprincipal", f"{tenant_id}:{client_id}")


def pairwise_sub(user: User, client_id: str) -> str:
    return b64url(hashlib.sha256(f"{user.id}:{client_id}".encode()).digest())[:43]


def _opaque() -> str:
    return b64url(uuid.uuid4().bytes)


def sign(em, claims: dict, *, nonce: bool = False) -> str:
    """Return ``claims`` as an RS256 JWT; with ``nonce``, as Entra signs tokens for Microsoft Graph.

    Such a token's header carries a random ``nonce``, but the signature covers the header with
    the nonce replaced by its SHA-256 (base64url), so nobody but Graph can verify it: Graph's
    tokens are not for apps to validate."""
    key = em.keys.active
    if not nonce:
        return jwt.encode(claims, key.private_key, algorithm="RS256",
                          headers={"typ": "JWT", "kid": key.kid, "x5t": key.kid})
    header = {"typ": "JWT", "nonce": b64url(secrets.token_bytes(32)), "alg": "RS256", "x5t": key.kid,
              "kid": key.kid}
    payload = _segment(claims)
    signed = f"{_segment(_hashed_nonce(header))}.{payload}".encode("ascii")
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signed, key.private_key)
    return f"{_segment(header)}.{payload}.{b64url(signature)}"


def _segment(data: dict) -> str:
    return b64url(json.dumps(data, separators=(",", ":")).encode())


def _hashed_nonce(header: dict) -> dict:
    """The header as signed: the same keys in the same order, the nonce replaced by its hash."""
    return {**header, "nonce": b64url(hashlib.sha256(header["nonce"].encode()).digest())}


def _as_signed(token: str, header: dict) -> str:
    """Return the token as it was signed (its header's nonce hashed), to check the signature."""
    if not isinstance(header.get("nonce"), str):
        raise TokenInvalid("signature", "the header's nonce is not a string")
    return f"{_segment(_hashed_nonce(header))}.{token.split('.', 1)[1]}"


def _times(now: float, lifetime: int) -> dict:
    return {"iat": int(now), "nbf": int(now), "exp": int(now) + int(lifetime)}


def _group_claims(em, user: User, app: AppRegistration) -> dict:
    if not app.group_membership_claims:
        return {}
    security_only = app.group_membership_claims == "SecurityGroup"
    groups = [g.id for g in em.directory.groups_of(user, security_only=security_only, transitive=True)]
    if len(groups) > GROUP_OVERAGE_LIMIT:
        # Entra still points at the retired Azure AD Graph: clients must not call this URL.
        return {"_claim_names": {"groups": "src1"},
                "_claim_sources": {"src1": {"endpoint": (
                    f"https://graph.windows.net/{user.tenant_id}/users/{user.id}/getMemberObjects")}}}
    return {"groups": groups}


def _roles_for(user: User, app: AppRegistration) -> list[str]:
    return list(user.app_roles.get(app.client_id, []))


def id_token(em, user: User, app: AppRegistration, *, oidc, nonce: str | None, sid: str,
             auth_time: float | None = None) -> str:
    """Return an ID token; ``auth_time`` only when given (Entra adds it only when asked for)."""
    now = em.clock.now()
    claims = {"aud": app.client_id, "iss": em.issuer(user.tenant_id),
              **_times(now, em.settings.id_token_lifetime),
              "sub": pairwise_sub(user, app.client_id), "oid": user.id, "tid": user.tenant_id,
              "ver": "2.0", "uti": _opaque(), "rh": "0.emulated", "aio": _opaque(), "sid": sid}
    claims.update(account_claims.id_token_claims(em, user, app, oidc, auth_time))
    if nonce is not None:
        claims["nonce"] = nonce
    if auth_time is not None:
        claims["auth_time"] = int(auth_time)
    claims.update(_group_claims(em, user, app))
    roles = _roles_for(user, app)
    if roles:
        claims["roles"] = roles
    return sign(em, claims)


def access_token(em, *, client: AppRegistration, resource: Resource, tenant_id: str,
                 user: User | None = None, scopes=(), roles=(), cp1: bool = False,
                 prefixed: bool = False, client_auth: str = "1") -> tuple[str, int]:
    """Return (token, expires_in) for ``resource``, delegated when ``user`` is given."""
    now = em.clock.now()
    lifetime = em.settings.access_token_lifetime
    version = 1 if resource.is_graph or resource.app is None else resource.app.access_token_version
    if resource.is_graph:
        audience = "https://graph.microsoft.com" if prefixed else GRAPH_APP_ID
    else:
        audience = resource.identifier if version == 1 else resource.app_id
    claims = {"aud": audience,
              "iss": f"https://sts.windows.net/{tenant_id}/" if version == 1 else em.issuer(tenant_id),
              **_times(now, lifetime), "tid": tenant_id, "ver": f"{version}.0", "uti": _opaque(),
              "rh": "0.emulated", "aio": _opaque(), "idtyp": "user" if user else "app"}
    if version == 1:
        claims.update(appid=client.client_id, appidacr=client_auth, app_displayname=client.display_name)
    else:
        claims.update(azp=client.client_id, azpacr=client_auth)
    if user is not None:
        claims.update(oid=user.id, sub=pairwise_sub(user, resource.app_id), name=user.display_name,
                      scp=" ".join(scopes))
        claims.update(account_claims.access_token_claims(em, user, resource.app, version))
        if resource.app is not None:
            claims.update(_group_claims(em, user, resource.app))
            user_roles = _roles_for(user, resource.app)
            if user_roles:
                claims["roles"] = user_roles
    else:
        sp = service_principal_id(client.client_id, tenant_id)
        claims.update(oid=sp, sub=sp)
        if roles:
            claims["roles"] = list(roles)
    if cp1:
        claims["xms_cc"] = ["cp1"]
    em.issue_times[claims["uti"]] = now
    return sign(em, claims, nonce=resource.is_graph), lifetime


class TokenInvalid(Exception):
    """Why an emulator-issued token was refused: malformed, signature, audience, expired, not_yet_valid."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def decode(em, token: str, audiences, *, leeway: int = 0) -> dict:
    """Check an emulator-issued token (signature, audience, lifetime by the emulator's clock)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("malformed", str(exc)) from exc
    key = em.keys.get(header.get("kid"))
    if key is None or header.get("alg") != "RS256":
        raise TokenInvalid("signature", "the signing key is not one of the emulator's")
    if "nonce" in header:             # a Graph token: the emulator, as its issuer, knows the scheme
        token = _as_signed(token, header)
    try:
        claims = jwt.decode(token, key.public_key, algorithms=["RS256"], audience=list(audiences),
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.InvalidAudienceError as exc:
        raise TokenInvalid("audience", str(exc)) from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("signature", str(exc)) from exc
    now = em.clock.now()
    if claims.get("exp", 0) + leeway <= now:
        raise TokenInvalid("expired")
    if claims.get("nbf", 0) - leeway > now + 300:       # Entra allows 5 minutes of skew
        raise TokenInvalid("not_yet_valid")
    return claims
