"""Fails clearly everywhere: a configuration the system checks refuse at start-up gives a clear page
(never a bare 500) under a server that runs no checks, with DEBUG off; the SPA demo page refuses to
render without its client ids."""
import logging

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db
NOT_CONFIGURED = 'data-reason="not_configured"'
NO_APP = {}                                           # no CLIENT_ID, no emulator: check graph_auth.E001


def get(path: str):
    """GET as a browser behind a WSGI server would: an exception becomes Django's 500 page."""
    return Client(raise_request_exception=False).get(path)


@pytest.mark.parametrize("graph_auth, fix", [
    (NO_APP, "CLIENT_ID"),
    ({"CLIENT_ID": "00000000-0000-0000-0000-00000000c11e"}, "CLIENT_SECRET"),       # id without a secret
])
def test_sign_in_without_credentials_says_it_is_not_available(graph_auth, fix, caplog):
    with override_settings(DEBUG=False, GRAPH_AUTH=graph_auth), caplog.at_level(logging.ERROR):
        response = get("/auth/login/?next=/mail/")
    body = response.content.decode()
    assert response.status_code == 503 and NOT_CONFIGURED in body
    assert "not set up on this site yet" in body and 'id="graph-auth-retry"' not in body
    assert fix not in body and 'id="graph-auth-hint"' not in body        # no configuration details
    assert fix in caplog.text                                            # the fix is in the log


def test_with_debug_on_the_page_gives_the_fix():
    with override_settings(DEBUG=True, GRAPH_AUTH=NO_APP):
        body = get("/auth/login/").content.decode()
    assert NOT_CONFIGURED in body and 'id="graph-auth-hint"' in body and "CLIENT_SECRET (or CLIENT_CERTIFICATE)" in body


def test_a_secret_never_reaches_the_page():
    secret = "s3cr3t-value-never-shown"
    with override_settings(DEBUG=True, GRAPH_AUTH={"CLIENT_SECRET": secret}):
        body = get("/auth/login/").content.decode()
    assert NOT_CONFIGURED in body and secret not in body


def test_reserved_scopes_are_a_configuration_error_not_a_500(entra_emulator):
    """What check graph_auth.E005 says at start-up: msal refuses openid/profile/offline_access."""
    with override_settings(DEBUG=False, GRAPH_AUTH={"EMULATOR": True, "SCOPES": ["User.Read", "openid"]}):
        response = get("/auth/login/")
    assert response.status_code == 503 and NOT_CONFIGURED in response.content.decode()


def test_the_callback_too(client, entra_emulator):
    location = client.get("/auth/login/")["Location"]
    result = entra_emulator.sign_in(location, "adele@contoso.onmicrosoft.com")
    with override_settings(DEBUG=False, GRAPH_AUTH=NO_APP):             # deployed without its settings
        response = client.get("/auth/callback", result)
    assert response.status_code == 503 and NOT_CONFIGURED in response.content.decode()


def test_pages_that_need_no_configuration_still_work():
    with override_settings(DEBUG=False, GRAPH_AUTH=NO_APP):
        assert get("/auth/logout/").status_code == 200


# -- the demo's single-page app ----------------------------------------------------------------
@pytest.mark.parametrize("graph_auth, spa_client_id", [
    (NO_APP, None),                                                     # nothing configured
    ({"CLIENT_ID": "web", "CLIENT_SECRET": "s"}, None),                 # no SPA registration
    (NO_APP, "spa"),                                                    # no web app exposing the API
])
def test_the_spa_page_refuses_to_render_without_client_ids(graph_auth, spa_client_id):
    with override_settings(DEBUG=False, GRAPH_AUTH=graph_auth, SPA_CLIENT_ID=spa_client_id):
        response = get("/spa/")
    body = response.content.decode()
    assert response.status_code == 503 and 'id="spa-unconfigured"' in body
    assert "spa-config" not in body and "clientId" not in body and "GRAPH_AUTH_SPA_CLIENT_ID" not in body


def test_the_spa_page_tells_a_developer_what_to_set():
    with override_settings(DEBUG=True, GRAPH_AUTH=NO_APP, SPA_CLIENT_ID=None):
        body = get("/spa/").content.decode()
    assert "GRAPH_AUTH_SPA_CLIENT_ID" in body and "GRAPH_AUTH_CLIENT_ID" in body


def test_the_spa_page_with_its_client_ids():
    with override_settings(GRAPH_AUTH={"CLIENT_ID": "web", "CLIENT_SECRET": "s"}, SPA_CLIENT_ID="spa"):
        response = get("/spa/")
    assert response.status_code == 200 and '"clientId": "spa"' in response.content.decode()
