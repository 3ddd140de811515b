"""Django REST framework: GraphBearerAuthentication authenticates only what api_view would accept,
and an unavailable identity platform is a 503 (with api_view's body: tests/test_error_answers_api.py)."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from graph_auth import session as keys
from graph_auth.emulator.default_directory import CONTOSO_ID, DAEMON_APP_ID, WEB_APP_ID

from .api_support import ADELE, call, daemon_token, spa_token
from .id_token_support import get_id_token

pytest.importorskip("rest_framework")
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.drf_urls")]
FABRICE = "fabrice@fabrikam.onmicrosoft.com"
# graph_auth's exception handler, or DRF's own (which re-raises to graph_auth's middleware)
HANDLERS = {"graph_auth": "graph_auth.drf.exception_handler", "drf": "rest_framework.views.exception_handler"}


def test_a_delegated_token_is_authenticated(client, entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    assert call(client, "/v1/me", token)[:2] == (200, {"displayName": "Adele Vance", "mail": ADELE,
                                                       "user": ADELE})
    assert call(client, "/v1/whoami", token)[:2] == (200, {"user": ADELE})


def test_an_id_token_is_not_authenticated(client, entra_emulator, get_id_token):
    entra_emulator.user(ADELE).app_roles[WEB_APP_ID] = ["Reports.Read"]
    id_token = get_id_token(ADELE)
    for url in ("/v1/me", "/v1/whoami"):
        status, body, challenge = call(client, url, id_token)
        assert status == 401 and "not an access token" in body["detail"] and challenge == 'Bearer realm=""'


def test_an_app_only_token_without_an_app_role_is_not_authenticated(client, entra_emulator, entra_directory,
                                                                     daemon_token):
    """Any app in an allowed tenant can get such a token for the API: it proves nothing."""
    status, body, _ = call(client, "/v1/whoami", daemon_token())
    assert status == 401 and "no scope or app role" in body["detail"]
    entra_directory.apps[DAEMON_APP_ID].application_permissions[f"api://{WEB_APP_ID}"] = ["Reports.Read"]
    assert call(client, "/v1/whoami", daemon_token())[0] == 200


def test_a_token_from_a_tenant_the_api_does_not_allow_is_not_authenticated(client, entra_emulator,
                                                                            entra_session):
    fabrice = spa_token(entra_emulator, entra_session, FABRICE)
    with override_settings(GRAPH_AUTH={"EMULATOR": True}):            # multi-tenant, no tenants named
        status, body, _ = call(client, "/v1/whoami", fabrice)
        assert status == 401 and "ALLOWED_TENANTS" in body["detail"]
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "ALLOWED_TENANTS": [CONTOSO_ID]}):
        assert call(client, "/v1/whoami", fabrice)[0] == 401
        assert call(client, "/v1/whoami", spa_token(entra_emulator, entra_session))[0] == 200


@pytest.mark.parametrize("endpoint", ["openid-configuration", "jwks"])
def test_an_unavailable_identity_platform_is_a_503(client, entra_emulator, entra_session, endpoint):
    token = spa_token(entra_emulator, entra_session)
    entra_emulator.fail_next(endpoint, 503, times=None)
    status, body, _ = call(client, "/v1/me", token)
    assert status == 503 and body["error"] == "temporarily_unavailable" and body["error_description"]


def test_an_unavailable_identity_platform_during_on_behalf_of_is_a_503(client, entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    assert call(client, "/v1/whoami", token)[0] == 200                 # keys fetched and cached
    entra_emulator.fail_next("token", 503, times=None)
    status, body, _ = call(client, "/v1/me", token)
    assert status == 503 and body["error"] == "temporarily_unavailable" and body["error_description"]


# -- the site's signed-in users (DRF's SessionAuthentication): answered as the site's pages are -----
@pytest.fixture(params=HANDLERS)
def handler(request):
    rest = {**getattr(settings, "REST_FRAMEWORK", {}), "EXCEPTION_HANDLER": HANDLERS[request.param]}
    with override_settings(REST_FRAMEWORK=rest):
        yield request.param


@pytest.fixture
def adele(client, entra_emulator, entra_sign_in):
    assert entra_sign_in(client, ADELE, next="/v1/session/me")["Location"] == "/v1/session/me"
    assert client.get("/v1/session/me").json() == {"displayName": "Adele Vance"}
    return client


def test_a_revoked_session_sends_the_browser_through_sign_in_with_the_claims(adele, entra_emulator,
                                                                             entra_sign_in, handler):
    entra_emulator.revoke_sessions(ADELE)           # Graph challenges the cp1 token; the refresh fails
    response = adele.get("/v1/session/me")
    assert response.status_code == 302 and response["Location"] == "/auth/login/?next=%2Fv1%2Fsession%2Fme"
    assert "_auth_user_id" not in adele.session                     # signed out of the site
    login = adele.get(response["Location"])
    claims = json.loads(parse_qs(urlsplit(login["Location"]).query)["claims"][0])
    assert claims["access_token"]["nbf"]["essential"] is True
    assert entra_sign_in(adele, ADELE, next="/v1/session/me")["Location"] == "/v1/session/me"
    assert adele.get("/v1/session/me").json() == {"displayName": "Adele Vance"}


def test_a_revoked_session_gives_json_clients_a_401_with_the_login_url(adele, entra_emulator, handler):
    entra_emulator.revoke_sessions(ADELE)
    response = adele.get("/v1/session/me", HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and "WWW-Authenticate" not in response
    assert response.json() == {"error": "reauthentication_required",
                               "login_url": "/auth/login/?next=%2Fv1%2Fsession%2Fme"}
    assert "_auth_user_id" not in adele.session
    assert json.loads(adele.session[keys.REAUTH_KEY]["claims"])["access_token"]["nbf"]["essential"] is True


def test_a_graph_403_in_a_view_that_declared_scopes_asks_for_consent_once(adele, entra_emulator, handler):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 403, times=None)
    response = adele.get("/v1/session/mail")
    assert response.status_code == 302 and response["Location"] == "/auth/login/?next=%2Fv1%2Fsession%2Fmail"
    assert "_auth_user_id" in adele.session                         # consent keeps the session
    assert adele.session[keys.REAUTH_KEY]["scopes"] == ["Mail.Read"]
    again = adele.get("/v1/session/mail", HTTP_ACCEPT="application/json")     # consent did not help
    assert again.status_code == 403 and again.json()["error"] == "graph_forbidden"
