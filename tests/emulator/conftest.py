"""Fixtures for the emulator's own tests: msal applications wired to the emulator's transport."""
from __future__ import annotations

import msal
import pytest

from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID, WEB_APP_ID, WEB_APP_SECRET

REDIRECT_URI = "http://localhost:8000/auth/callback"
ADELE = "adele@contoso.onmicrosoft.com"


@pytest.fixture
def make_app(entra_session):
    """Build a real, unmodified msal application that talks to the emulator.

    Each app gets its own ``http_cache`` (msal caches 400s for 60 s and 429s for Retry-After).
    """
    def make(client_id=WEB_APP_ID, credential=WEB_APP_SECRET, tenant=CONTOSO_ID, *,
             public=False, **kwargs):
        authority = f"https://login.microsoftonline.com/{tenant}"
        if public:
            return msal.PublicClientApplication(client_id, authority=authority,
                                                http_client=entra_session, http_cache={}, **kwargs)
        return msal.ConfidentialClientApplication(client_id, client_credential=credential,
                                                  authority=authority, http_client=entra_session,
                                                  http_cache={}, **kwargs)
    return make


@pytest.fixture
def web_app(make_app):
    return make_app()


@pytest.fixture
def cli_app(make_app):
    return make_app(CLI_APP_ID, public=True)


@pytest.fixture
def signed_in(entra_emulator, web_app):
    """Run the auth-code flow for Adele (User.Read); return (app, token result)."""
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    assert "access_token" in result, result
    return web_app, result
