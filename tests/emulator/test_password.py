"""The resource-owner password grant (ROPC) through msal's acquire_token_by_username_password."""
import json

import pytest

from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID

from .conftest import ADELE
from .token_asserts import assert_entra_error, claims_of, client_info_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "Passw0rd!"


@pytest.fixture
def consented(entra_emulator):
    for user in (ADELE, "nestor@contoso.onmicrosoft.com", "isaiah@contoso.onmicrosoft.com"):
        entra_emulator.grant_consent(user, CLI_APP_ID, ["User.Read"])


def test_success(entra_emulator, cli_app, consented):
    result = cli_app.acquire_token_by_username_password(ADELE, PASSWORD, ["User.Read"])
    assert result["token_source"] == "identity_provider" and result["refresh_token"]
    adele = entra_emulator.user(ADELE)
    assert client_info_of(result["client_info"]) == {"uid": adele.id, "utid": CONTOSO_ID}
    assert claims_of(result["access_token"])["scp"] == "User.Read"
    (realm,) = entra_emulator.requests("userrealm")
    assert realm.path == f"/common/userrealm/{ADELE}" and realm.query == {"api-version": "1.0"}
    assert realm.status == 200
    (sent,) = entra_emulator.requests("token", grant_type="password")
    assert sent.form["username"] == ADELE and sent.headers["x-anchormailbox"] == f"upn:{ADELE}"
    (account,) = cli_app.get_accounts()
    assert account["account_source"] == "password" and account["username"] == ADELE
    assert cli_app.acquire_token_silent(["User.Read"], account)["token_source"] == "cache"


def test_username_is_case_insensitive(cli_app, consented):
    result = cli_app.acquire_token_by_username_password(ADELE.upper(), PASSWORD, ["User.Read"])
    assert result["id_token_claims"]["preferred_username"] == ADELE


def test_confidential_client(make_app):
    app = make_app(WEB_APP_ID)
    result = app.acquire_token_by_username_password(ADELE, PASSWORD, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 65001)          # nobody consented yet
    assert result["suberror"] == "consent_required"


def test_wrong_password(cli_app, consented):
    result = cli_app.acquire_token_by_username_password(ADELE, "wrong", ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50126)
    assert cli_app.get_accounts() == []


def test_unknown_user(cli_app):
    result = cli_app.acquire_token_by_username_password("nobody@contoso.onmicrosoft.com", PASSWORD,
                                                        ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50034)


def test_user_of_another_tenant(make_app, consented):
    app = make_app(CLI_APP_ID, tenant=FABRIKAM_ID, public=True)
    result = app.acquire_token_by_username_password(ADELE, PASSWORD, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50034)


@pytest.mark.parametrize("tenant", ["common", "consumers"])
def test_common_and_consumers_authorities_are_refused(make_app, consented, tenant):
    """ROPC only works with a tenant or /organizations (the emulator used to accept /common)."""
    app = make_app(CLI_APP_ID if tenant == "common" else WEB_APP_ID, tenant=tenant, public=tenant == "common")
    result = app.acquire_token_by_username_password(ADELE, PASSWORD, ["User.Read"])
    assert_entra_error(result, "invalid_request", 90010)


def test_organizations_authority(make_app, consented):
    app = make_app(CLI_APP_ID, tenant="organizations", public=True)
    result = app.acquire_token_by_username_password(ADELE, PASSWORD, ["User.Read"])
    assert result["id_token_claims"]["tid"] == CONTOSO_ID


def test_mfa_required(cli_app, consented):
    result = cli_app.acquire_token_by_username_password("nestor@contoso.onmicrosoft.com", PASSWORD,
                                                        ["User.Read"])
    body = assert_entra_error(result, "invalid_grant", 50076)
    assert body["suberror"] == "basic_action"
    challenge = json.loads(body["claims"])                 # a JSON *string*, for claims_challenge
    assert challenge["access_token"]["capolids"]["essential"] is True


def test_disabled_user(cli_app, consented):
    result = cli_app.acquire_token_by_username_password("isaiah@contoso.onmicrosoft.com", PASSWORD,
                                                        ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50057)


def test_missing_password(entra_session):
    from .token_asserts import post_token
    response = post_token(entra_session, {"client_id": CLI_APP_ID, "grant_type": "password",
                                          "username": ADELE, "scope": "User.Read"})
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_request", 900144)
    assert "'password'" in response.json()["error_description"]
