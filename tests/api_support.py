"""Helpers for the protected-API tests: real bearer tokens from the emulator (a single-page app's
delegated token, a daemon's app-only token) and a call that returns (status, JSON body, challenge)."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

import pytest

from graph_auth.emulator.default_directory import (
    CONTOSO_ID,
    DAEMON_APP_ID,
    DAEMON_APP_SECRET,
    SPA_APP_ID,
    WEB_APP_ID,
)

API_SCOPE = f"api://{WEB_APP_ID}/access_as_user"
ADELE = "adele@contoso.onmicrosoft.com"
LOGIN = "https://login.microsoftonline.com"


def spa_token(emulator, session, user=ADELE, scope=API_SCOPE, tenant="organizations") -> str:
    """What the demo's single-page app does: code + PKCE as a public client, redeemed cross-origin."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"client_id": SPA_APP_ID, "response_type": "code", "redirect_uri": "http://localhost:8000/spa/",
              "scope": f"{scope} openid profile offline_access", "state": "s", "response_mode": "fragment",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    result = emulator.sign_in(f"{LOGIN}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}", user)
    response = session.post(f"{LOGIN}/{tenant}/oauth2/v2.0/token", headers={"Origin": "http://localhost:8000"},
                            data={"client_id": SPA_APP_ID, "grant_type": "authorization_code",
                                  "code": result["code"], "redirect_uri": params["redirect_uri"],
                                  "code_verifier": verifier, "scope": scope})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def daemon_token(entra_session):
    """An app-only token for this site's API, from the daemon app (client credentials)."""
    import msal

    def get():
        app = msal.ConfidentialClientApplication(
            DAEMON_APP_ID, client_credential=DAEMON_APP_SECRET, authority=f"{LOGIN}/{CONTOSO_ID}",
            http_client=entra_session, http_cache={})
        return app.acquire_token_for_client([f"api://{WEB_APP_ID}/.default"])["access_token"]
    return get


def call(client, url, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.get(url, **headers)
    return response.status_code, json.loads(response.content), response.get("WWW-Authenticate", "")
