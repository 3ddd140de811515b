"""What a request asks of its tokens: the ``claims`` parameter and ``max_age``."""
from __future__ import annotations

from ..errors import OAuthError
from ..wsgi_io import load_json

_MAX_AGE_DIGITS = 12                  # more digits than this is "no limit" (and int() stays cheap)


def parse_claims(raw: str | None) -> dict:
    """Parse a ``claims`` parameter: a JSON object whose members (``id_token``, ``access_token``,
    ...) are objects of claim requests. Anything else is the error Entra gives for it."""
    if not raw:
        return {}
    try:
        claims = load_json(raw)
    except ValueError:
        claims = None
    if not _well_formed(claims):
        raise OAuthError("invalid_request", 50117,
                         "Failed to deserialize policy specified in the request's claim parameter.")
    return claims


def _well_formed(claims) -> bool:
    """Whether ``claims`` has the claims-request shape: {token: {claim: null | {essential, values...}}}."""
    if not isinstance(claims, dict):
        return False
    for requests in claims.values():
        if requests is None:
            continue
        if not isinstance(requests, dict):
            return False
        for request in requests.values():
            if request is None:
                continue
            if not isinstance(request, dict) or not isinstance(request.get("essential", False), bool):
                return False
            if not isinstance(request.get("values", []), list):
                return False
    return True


def wants_cp1(claims: dict) -> bool:
    """Whether the claims request declares the client capability "cp1" (CAE)."""
    xms_cc = (claims.get("access_token") or {}).get("xms_cc") or {}
    values = xms_cc.get("values")
    return isinstance(values, list) and "cp1" in values


def asks_for(claims: dict, token: str, name: str) -> bool:
    """Whether the claims request names claim ``name`` for ``token`` ("id_token", "access_token")."""
    return name in (claims.get(token) or {})


def optional_claim(app, claims: dict, token: str, name: str) -> bool:
    """Whether an optional claim goes in ``token``: the app registration lists it, or the request's
    claims parameter asks for it."""
    return name in app.optional_claims.get(token, ()) or asks_for(claims, token, name)


def id_token_auth_time(app, claims: dict, auth_time: float, *, max_age: bool = False) -> float | None:
    """The ``auth_time`` for an ID token, or None: Entra adds it only when asked, by ``max_age`` in
    the authorize request (OpenID Connect requires it then), a claims request or an optional claim."""
    return auth_time if max_age or optional_claim(app, claims, "id_token", "auth_time") else None


def parse_max_age(raw: str | None) -> int | None:
    """Return ``max_age`` in seconds, or None when absent or not a whole number (then ignored)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):         # "²".isdigit() is True; isascii rules it out
        return None
    return int(raw) if len(raw) <= _MAX_AGE_DIGITS else 10 ** _MAX_AGE_DIGITS
