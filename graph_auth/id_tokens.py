"""ID-token validation, done here because msal no longer does it: signature against the tenant's
JWKS (cached, refetched once on an unknown ``kid``), issuer, audience, lifetime, tenant."""
from __future__ import annotations

import logging
import threading
import time

import jwt
from requests import RequestException

from .app_settings import app_settings
from .exceptions import IdentityPlatformUnavailable, InvalidIdToken
from .http import get_session

logger = logging.getLogger(__name__)

REFETCH_INTERVAL = 10          # an unknown key id refetches the JWKS, at most this often (s)
_lock = threading.Lock()
_state: dict = {}              # authority -> {"metadata", "keys", "fetched_at"}


def clear_caches() -> None:
    with _lock:
        _state.clear()


def _get_json(url: str) -> dict:
    try:
        response = get_session().get(url)
    except RequestException as exc:
        raise IdentityPlatformUnavailable(f"GET {url} failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise IdentityPlatformUnavailable(f"GET {url} answered {response.status_code}")
    return response.json()


def _entry(refresh: bool = False) -> dict:
    authority = app_settings.authority
    with _lock:
        entry = _state.get(authority)
    if entry is None:
        metadata = _get_json(f"{authority}/v2.0/.well-known/openid-configuration")
        entry = {"metadata": metadata, "keys": {}, "fetched_at": 0.0}
    if refresh or not entry["keys"]:
        jwks = _get_json(entry["metadata"]["jwks_uri"])
        entry = {**entry, "keys": {k["kid"]: jwt.PyJWK(k, algorithm="RS256").key
                                   for k in jwks.get("keys", []) if k.get("kid")},
                 "fetched_at": time.time()}
    with _lock:
        _state[authority] = entry
    return entry


def _signing_key(kid: str | None):
    entry = _entry()
    if kid in entry["keys"]:
        return entry["keys"][kid]
    if time.time() - entry["fetched_at"] >= REFETCH_INTERVAL or not entry["fetched_at"]:
        logger.info("unknown ID-token key id; refetching the JWKS once")
        entry = _entry(refresh=True)
    if kid not in entry["keys"]:
        raise InvalidIdToken("the ID token is signed with a key the tenant does not publish")
    return entry["keys"][kid]


def metadata() -> dict:
    """The authority's OpenID configuration (cached per process)."""
    return _entry()["metadata"]


def expected_issuer(claims: dict) -> str:
    issuer = _entry()["metadata"]["issuer"]
    return issuer.replace("{tenantid}", str(claims.get("tid", "")))


def validate(id_token: str) -> dict:
    """Return the ID token's claims if it is valid for this app, else raise InvalidIdToken.

    The nonce is checked by msal in the auth-code flow; everything else is checked here.
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise InvalidIdToken(f"malformed ID token: {exc}") from exc
    if header.get("alg") != "RS256":
        raise InvalidIdToken(f"unexpected signing algorithm {header.get('alg')!r}")
    key = _signing_key(header.get("kid"))
    try:
        claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=app_settings.client_id,
                            leeway=app_settings.ID_TOKEN_LEEWAY,
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidIdToken("the ID token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidIdToken("the ID token is not valid yet") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidIdToken("the ID token was issued for another application") from exc
    except jwt.PyJWTError as exc:
        raise InvalidIdToken(f"invalid ID token: {exc}") from exc
    for name in ("tid", "oid"):
        if not claims.get(name):
            raise InvalidIdToken(f"the ID token has no {name!r} claim")
    if claims["iss"] != expected_issuer(claims):
        raise InvalidIdToken("the ID token was issued by another tenant or authority")
    allowed = app_settings.ALLOWED_TENANTS
    if allowed and claims["tid"] not in allowed:
        raise InvalidIdToken(f"tenant {claims['tid']} is not in GRAPH_AUTH['ALLOWED_TENANTS']")
    return claims
