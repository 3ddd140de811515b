"""Helpers for the ID-token tests: real ID tokens from the emulator through msal's auth-code flow,
and forged ones signed with PyJWT (with the emulator's private keys where the signature must pass)."""
from __future__ import annotations

import jwt
import msal
import pytest

from graph_auth.emulator.default_directory import WEB_APP_ID, WEB_APP_SECRET

from .graph_support import ADELE, REDIRECT_URI

ISSUER = "https://login.microsoftonline.com/{}/v2.0"


@pytest.fixture
def get_id_token(entra_emulator, entra_session):
    """``get_id_token(user)``: a real ID token for the demo app (authority organizations)."""
    def get(user=ADELE):
        app = msal.ConfidentialClientApplication(
            WEB_APP_ID, client_credential=WEB_APP_SECRET, http_client=entra_session, http_cache={},
            authority="https://login.microsoftonline.com/organizations")
        flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
        result = app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], user))
        assert "id_token" in result, result
        entra_emulator.clear_log()          # count only what validate() fetches
        return result["id_token"]
    return get


@pytest.fixture
def adele_token(get_id_token):
    return get_id_token(ADELE)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(emulator, claims: dict, *, key=None, kid=None, **changes) -> str:
    """Sign ``claims`` (with ``changes``; None removes a claim) with the emulator's active key."""
    claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    key = key or emulator.keys.active
    return jwt.encode(claims, key.private_key, algorithm="RS256",
                      headers={"typ": "JWT", "kid": kid or key.kid})


def fetched(emulator, endpoint: str) -> int:
    return len(emulator.requests(endpoint))


def token_response(emulator, session, user, scopes=("User.Read",)) -> dict:
    """The token endpoint's own JSON answer to a code redemption by the demo app for ``user``
    (access and refresh tokens, ID token, client_info), without msal's processing."""
    app = msal.ConfidentialClientApplication(
        WEB_APP_ID, client_credential=WEB_APP_SECRET, http_client=session, http_cache={},
        authority="https://login.microsoftonline.com/organizations")
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
    code = emulator.sign_in(flow["auth_uri"], user)["code"]
    response = session.post("https://login.microsoftonline.com/organizations/oauth2/v2.0/token", data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "authorization_code",
        "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": flow["code_verifier"],
        "scope": " ".join(flow["scope"]), "client_info": "1"})
    assert response.status_code == 200, response.text
    return response.json()
