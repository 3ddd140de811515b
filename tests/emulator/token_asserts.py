"""Shared checks for the token-endpoint tests: error-body shape, JWT decoding, JWKS verification."""
from __future__ import annotations

import base64
import json
import re
import uuid

import jwt

from graph_auth.emulator.default_directory import CONTOSO_ID

LOGIN = "https://login.microsoftonline.com"
TOKEN_URL = f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/token"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$")


def assert_entra_error(body: dict, error: str, code: int, *, correlation_id: str | None = None):
    """Assert ``body`` is an identity-platform error with the wire spec's shape (spec §3.4)."""
    assert body["error"] == error, body
    assert body["error_codes"] == [code], body
    description = body["error_description"]
    assert description.startswith(f"AADSTS{code}: "), description
    lines = description.split("\r\n")
    assert lines[-3] == f"Trace ID: {body['trace_id']}", lines
    assert lines[-2] == f"Correlation ID: {body['correlation_id']}", lines
    assert lines[-1] == f"Timestamp: {body['timestamp']}", lines
    assert _STAMP.match(body["timestamp"]), body["timestamp"]
    uuid.UUID(body["trace_id"])
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    if correlation_id is not None:
        assert body["correlation_id"] == correlation_id
    else:
        uuid.UUID(body["correlation_id"])
    return body


def claims_of(token: str) -> dict:
    """The payload of a JWT, unverified."""
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def client_info_of(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def verify_with_jwks(session, token: str, *, audience: str, issuer: str | None = None,
                     tenant: str = CONTOSO_ID) -> dict:
    """Verify ``token`` with PyJWT against the JWKS the emulator publishes for ``tenant``."""
    jwks = session.get(f"{LOGIN}/{tenant}/discovery/v2.0/keys").json()
    keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}
    kid = header_of(token)["kid"]
    assert kid in keys, f"kid {kid} is not published: {sorted(keys)}"
    options = {"verify_iss": issuer is not None}
    return jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience=audience,
                      issuer=issuer, options=options, leeway=5)


def auth_code_flow(app, em, user=None, scopes=("User.Read",), redirect_uri=None):
    """Start msal's auth-code flow and sign ``user`` (Adele) in; return (flow, auth_response)."""
    from .conftest import ADELE, REDIRECT_URI
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=redirect_uri or REDIRECT_URI)
    return flow, em.sign_in(flow["auth_uri"], user or ADELE)


def last_token_request(em):
    """The last request the token endpoint received."""
    return em.requests("token")[-1]


def post_token(session, data=None, *, tenant: str = CONTOSO_ID, **kwargs):
    """A raw POST to the token endpoint (for requests msal would never send)."""
    return session.post(f"{LOGIN}/{tenant}/oauth2/v2.0/token", data=data, **kwargs)
