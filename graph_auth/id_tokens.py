"""ID-token validation, done here because msal no longer does it: signature against the tenant's
JWKS (cached, refetched once on an unknown ``kid``), issuer tied to the tenant, audience and
authorized party, lifetime, tenant."""
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
_lock = threading.Lock()            # guards the two caches below (held briefly, never over I/O)
_refetch_lock = threading.Lock()    # one unknown-kid refetch at a time
_metadata: dict = {}           # authority -> its OpenID configuration
_jwks: dict = {}               # jwks_uri -> {"keys": {kid: public key}, "refetched_at": monotonic}


def clear_caches() -> None:
    with _lock:
        _metadata.clear()
        _jwks.clear()


def _get_json(url: str) -> dict:
    try:
        response = get_session().get(url)
    except RequestException as exc:
        raise IdentityPlatformUnavailable(f"GET {url} failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise IdentityPlatformUnavailable(f"GET {url} answered {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise IdentityPlatformUnavailable(f"GET {url} did not answer with a JSON object")
    return data


def metadata() -> dict:
    """The authority's OpenID configuration (cached per process and authority)."""
    authority = app_settings.authority
    with _lock:
        document = _metadata.get(authority)
    if document is None:
        document = _get_json(f"{authority}/v2.0/.well-known/openid-configuration")
        if not all(isinstance(document.get(name), str) for name in ("issuer", "jwks_uri")):
            raise IdentityPlatformUnavailable(f"the OpenID configuration of {authority} has no "
                                              "issuer or jwks_uri")
        with _lock:
            _metadata[authority] = document
    return document


def _fetch_keys(uri: str) -> dict:
    """Return the RS256 signing keys a JWKS publishes, by key id (other keys are skipped)."""
    keys = {}
    for jwk in _get_json(uri).get("keys") or []:
        if not isinstance(jwk, dict) or not jwk.get("kid") or jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            logger.warning("skipping an unusable key (kid %r) in %s", jwk.get("kid"), uri)
    return keys


def _signing_key(kid: str | None):
    if not kid:
        raise InvalidIdToken("the ID token header names no signing key ('kid')")
    uri = metadata()["jwks_uri"]
    with _lock:
        entry = _jwks.get(uri)
    if entry is None:
        entry = {"keys": _fetch_keys(uri), "refetched_at": None}
        with _lock:
            entry = _jwks.setdefault(uri, entry)
    if kid not in entry["keys"]:
        # A key rollover the cached JWKS predates: refetch, but at most once per interval, so
        # tokens with made-up key ids can't make every request fetch the JWKS.
        with _refetch_lock:
            with _lock:
                entry = _jwks.get(uri, entry)
            last = entry["refetched_at"]
            if kid not in entry["keys"] and (last is None or time.monotonic() - last >= REFETCH_INTERVAL):
                logger.info("unknown ID-token key id; refetching the JWKS")
                entry = {"keys": _fetch_keys(uri), "refetched_at": time.monotonic()}
                with _lock:
                    _jwks[uri] = entry
    if kid not in entry["keys"]:
        raise InvalidIdToken("the ID token is signed with a key the tenant does not publish")
    return entry["keys"][kid]


def _tenant_of(issuer: str) -> str:
    """The tenant segment of a v2 issuer, ``https://<host>/<tenant>/v2.0``."""
    return issuer.rstrip("/").rsplit("/", 2)[-2]


def configured_tenant() -> str | None:
    """The configured tenant's id (a domain TENANT_ID resolved through the metadata's issuer), or
    None when the authority is multi-tenant (organizations, common)."""
    issuer = metadata()["issuer"]
    return None if "{tenantid}" in issuer else _tenant_of(issuer)


def check_issuer(claims: dict, *, v1: bool = False) -> None:
    """Raise InvalidIdToken unless ``iss`` is the issuer of the token's own ``tid`` (the v2 form,
    or ``https://sts.windows.net/<tid>/`` for v1.0 access tokens) and, for a single-tenant
    authority, ``tid`` is the configured tenant."""
    tid, configured = claims["tid"], configured_tenant()
    if configured is not None and tid != configured:
        raise InvalidIdToken(f"the token was issued by another tenant or authority (tid {tid} is not "
                             "the configured tenant)")
    expected = (f"https://sts.windows.net/{tid}/" if v1 else
                metadata()["issuer"].replace("{tenantid}", tid))
    if claims["iss"] != expected:
        raise InvalidIdToken("the token was issued by another tenant or authority (iss is not the "
                             "issuer of its tid)")


def _check_authorized_party(claims: dict, client_id: str) -> None:
    """OIDC Core 3.1.3.7: with several audiences, ``azp`` must be present; when present, it must be
    this app."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and "azp" not in claims:
        raise InvalidIdToken("the ID token has several audiences and no authorized party ('azp')")
    if "azp" in claims and claims["azp"] != client_id:
        raise InvalidIdToken("the ID token was issued to another party ('azp' is not this app)")


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
    client_id = app_settings.client_id
    try:
        claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=client_id,
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
        if not claims.get(name) or not isinstance(claims[name], str):
            raise InvalidIdToken(f"the ID token has no {name!r} claim")
    _check_authorized_party(claims, client_id)
    check_issuer(claims)
    allowed = app_settings.ALLOWED_TENANTS
    if allowed and claims["tid"] not in allowed:
        raise InvalidIdToken(f"tenant {claims['tid']} is not in GRAPH_AUTH['ALLOWED_TENANTS']")
    return claims


# Used by graph_auth.api to check bearer tokens against the same JWKS cache.
signing_key = _signing_key
