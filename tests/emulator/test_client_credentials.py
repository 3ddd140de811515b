"""The client-credentials grant (daemons) through msal's acquire_token_for_client."""
import base64
import warnings

import pytest

from graph_auth.emulator.default_directory import (
    API_APP_ID,
    CLI_APP_ID,
    CONTOSO_ID,
    DAEMON_APP_ID,
    DAEMON_APP_SECRET,
    FABRIKAM_ID,
)
from graph_auth.emulator.tokens import service_principal_id

from .token_asserts import TOKEN_URL, assert_entra_error, claims_of, header_of, verify_with_jwks

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


@pytest.fixture
def daemon(make_app):
    return make_app(DAEMON_APP_ID, DAEMON_APP_SECRET)


def test_secret(entra_emulator, entra_session, daemon):
    result = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    assert result["token_type"] == "Bearer" and result["token_source"] == "identity_provider"
    assert isinstance(result["expires_in"], int) and isinstance(result["ext_expires_in"], int)
    assert not {"refresh_token", "id_token", "client_info"} & set(result)
    claims = claims_of(result["access_token"])     # a Graph token: only Graph verifies it
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{CONTOSO_ID}/"
    assert sorted(claims["roles"]) == ["Mail.Read", "User.Read.All", "User.RevokeSessions.All"]
    assert claims["idtyp"] == "app" and "scp" not in claims
    assert claims["appid"] == DAEMON_APP_ID and claims["appidacr"] == "1"
    assert claims["oid"] == claims["sub"] == service_principal_id(DAEMON_APP_ID, CONTOSO_ID)
    assert claims["tid"] == CONTOSO_ID
    (sent,) = entra_emulator.requests("token")
    assert sent.form["scope"] == GRAPH_DEFAULT[0] and sent.form["grant_type"] == "client_credentials"


def test_second_call_is_a_cache_hit(entra_emulator, daemon):
    first = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    count = len(entra_emulator.requests())
    second = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    assert second["token_source"] == "cache" and second["access_token"] == first["access_token"]
    assert len(entra_emulator.requests()) == count


def test_refresh_in_for_app_tokens(entra_emulator, daemon):
    import time
    entra_emulator.settings.refresh_in = 1800
    result = daemon.acquire_token_for_client(GRAPH_DEFAULT)
    assert abs(result["refresh_on"] - (time.time() + 1800)) < 5
    assert daemon.acquire_token_for_client(GRAPH_DEFAULT)["token_source"] == "cache"


def test_short_lifetime_means_a_new_request_each_time(entra_emulator, daemon):
    entra_emulator.settings.access_token_lifetime = 120
    daemon.acquire_token_for_client(GRAPH_DEFAULT)
    assert daemon.acquire_token_for_client(GRAPH_DEFAULT)["token_source"] == "identity_provider"
    assert len(entra_emulator.requests("token", grant_type="client_credentials")) == 2


@pytest.mark.parametrize("sha1", [False, True], ids=["PS256-x5c", "RS256-x5t"])
def test_certificate(entra_emulator, entra_directory, entra_certificate, make_app, sha1):
    entra_directory.apps[DAEMON_APP_ID].certificates.append(entra_certificate.certificate_pem)
    app = make_app(DAEMON_APP_ID, entra_certificate.msal_credential(sha1=sha1))
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    assert claims_of(result["access_token"])["appidacr"] == "2"
    (sent,) = entra_emulator.requests("token")
    assert header_of(sent.form["client_assertion"])["alg"] == ("RS256" if sha1 else "PS256")
    assert claims_of(sent.form["client_assertion"])["aud"] == TOKEN_URL


def test_unregistered_certificate(entra_certificate, make_app):
    result = make_app(DAEMON_APP_ID, entra_certificate.msal_credential()).acquire_token_for_client(
        GRAPH_DEFAULT)
    assert_entra_error(result, "invalid_client", 700027)


def test_wrong_secret(make_app):
    result = make_app(DAEMON_APP_ID, "wrong").acquire_token_for_client(GRAPH_DEFAULT)
    assert_entra_error(result, "invalid_client", 7000215)


@pytest.mark.parametrize("scopes", [["User.Read.All"], ["https://graph.microsoft.com/User.Read.All"],
                                    ["https://graph.microsoft.com/.default", "openid"]])
def test_scope_must_be_dot_default(daemon, scopes):
    result = daemon.acquire_token_for_client(scopes)
    assert_entra_error(result, "invalid_scope", 1002012)


def test_unknown_resource(daemon):
    result = daemon.acquire_token_for_client(["api://does-not-exist/.default"])
    assert_entra_error(result, "invalid_resource", 500011)


def test_two_resources_at_once(daemon):
    result = daemon.acquire_token_for_client(
        ["https://graph.microsoft.com/.default", f"api://{API_APP_ID}/.default"])
    assert_entra_error(result, "invalid_scope", 28000)


@pytest.mark.parametrize("tenant", ["common", "organizations"])
def test_multi_tenant_authority_is_rejected(make_app, tenant):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET, tenant).acquire_token_for_client(
            GRAPH_DEFAULT)
    assert_entra_error(result, "invalid_request", 50059)


def test_single_tenant_app_in_another_tenant(make_app):
    result = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET, FABRIKAM_ID).acquire_token_for_client(
        GRAPH_DEFAULT)
    assert_entra_error(result, "unauthorized_client", 700016)


def test_custom_api_scope(entra_session, entra_directory, daemon):
    entra_directory.apps[DAEMON_APP_ID].application_permissions[f"api://{API_APP_ID}"] = ["Reports.Read"]
    result = daemon.acquire_token_for_client([f"api://{API_APP_ID}/.default"])
    claims = verify_with_jwks(entra_session, result["access_token"], audience=API_APP_ID,
                              issuer=f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0")
    assert claims["roles"] == ["Reports.Read"] and claims["ver"] == "2.0"
    assert claims["azp"] == DAEMON_APP_ID and claims["azpacr"] == "1" and claims["idtyp"] == "app"


def test_custom_api_without_roles(daemon):
    result = daemon.acquire_token_for_client([f"api://{API_APP_ID}/.default"])
    claims = claims_of(result["access_token"])
    assert claims["aud"] == API_APP_ID and "roles" not in claims


def test_public_client_cannot_use_client_credentials(entra_session):
    response = entra_session.post(TOKEN_URL, data={
        "client_id": CLI_APP_ID, "grant_type": "client_credentials", "scope": GRAPH_DEFAULT[0]})
    assert response.status_code == 401
    assert_entra_error(response.json(), "invalid_client", 7000218)


def test_client_secret_basic(entra_session):
    basic = base64.b64encode(f"{DAEMON_APP_ID}:{DAEMON_APP_SECRET}".encode()).decode()
    response = entra_session.post(TOKEN_URL, headers={"Authorization": f"Basic {basic}"},
                                  data={"grant_type": "client_credentials", "scope": GRAPH_DEFAULT[0]})
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["appid"] == DAEMON_APP_ID
    assert response.headers["Cache-Control"].startswith("no-store")


def test_secret_with_url_encoded_characters_in_basic_auth(entra_session, entra_directory):
    entra_directory.apps[DAEMON_APP_ID].secrets.append("a+b/c=d&e f")
    from urllib.parse import quote_plus
    basic = base64.b64encode(f"{DAEMON_APP_ID}:{quote_plus('a+b/c=d&e f')}".encode()).decode()
    response = entra_session.post(TOKEN_URL, headers={"Authorization": f"Basic {basic}"},
                                  data={"grant_type": "client_credentials", "scope": GRAPH_DEFAULT[0]})
    assert response.status_code == 200, response.text
