"""``auth_time`` is an optional claim of v2 ID tokens: there only when max_age, a claims request or
the app registration asks for it."""
import warnings

import pytest

from graph_auth.emulator.default_directory import API_APP_ID, API_APP_SECRET, CLI_APP_ID, WEB_APP_ID

from .conftest import ADELE, REDIRECT_URI

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
AUTH_TIME_CLAIMS = '{"id_token":{"auth_time":{"essential":true}}}'


def _sign_in(em, app, **kwargs):
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, **kwargs)
    result = app.acquire_token_by_auth_code_flow(flow, em.sign_in(flow["auth_uri"], ADELE))
    assert "access_token" in result, result
    return result


def _refreshed_claims(app) -> dict:
    (account,) = app.get_accounts()
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert result and "id_token_claims" in result, result
    return result["id_token_claims"]


def test_not_in_id_tokens_by_default(entra_emulator, web_app):
    assert "auth_time" not in _sign_in(entra_emulator, web_app)["id_token_claims"]
    assert "auth_time" not in _refreshed_claims(web_app)


def test_max_age_brings_it_and_msal_checks_it(entra_emulator, web_app):
    entra_emulator.clock.freeze()
    result = _sign_in(entra_emulator, web_app, max_age=600)       # msal raises when it is missing
    assert result["id_token_claims"]["auth_time"] == int(entra_emulator.clock.now())
    # max_age belongs to that sign-in: the ID tokens of later refreshes go without it again.
    assert "auth_time" not in _refreshed_claims(web_app)


def test_claims_request_brings_it(entra_emulator, web_app):
    result = _sign_in(entra_emulator, web_app, claims_challenge=AUTH_TIME_CLAIMS)
    assert "auth_time" in result["id_token_claims"]


def test_optional_claim_of_the_registration_brings_it_with_the_original_time(entra_emulator, entra_directory,
                                                                             web_app):
    entra_directory.apps[WEB_APP_ID].optional_claims = {"id_token": ["auth_time"]}
    entra_emulator.clock.freeze()
    signed_in_at = int(entra_emulator.clock.now())
    assert _sign_in(entra_emulator, web_app)["id_token_claims"]["auth_time"] == signed_in_at
    entra_emulator.clock.advance(1800)
    assert _refreshed_claims(web_app)["auth_time"] == signed_in_at     # when the user signed in


def test_an_access_token_optional_claim_is_not_an_id_token_one(entra_emulator, entra_directory, web_app):
    entra_directory.apps[WEB_APP_ID].optional_claims = {"access_token": ["auth_time"]}
    assert "auth_time" not in _sign_in(entra_emulator, web_app)["id_token_claims"]


def test_device_code_and_password_grants(entra_emulator, entra_directory, cli_app):
    entra_emulator.grant_consent(ADELE, CLI_APP_ID, ["User.Read"])
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE)
    result = cli_app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert "auth_time" not in result["id_token_claims"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = cli_app.acquire_token_by_username_password(ADELE, "Passw0rd!", ["User.Read"])
    assert "auth_time" not in result["id_token_claims"]
    entra_directory.apps[CLI_APP_ID].optional_claims = {"id_token": ["auth_time"]}
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE)
    result = cli_app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert "auth_time" in result["id_token_claims"]


def test_on_behalf_of(entra_emulator, web_app, make_app):
    flow = web_app.initiate_auth_code_flow([f"api://{API_APP_ID}/access_as_user"], redirect_uri=REDIRECT_URI)
    user_token = web_app.acquire_token_by_auth_code_flow(
        flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))["access_token"]
    result = make_app(API_APP_ID, API_APP_SECRET).acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert "id_token_claims" in result and "auth_time" not in result["id_token_claims"]
