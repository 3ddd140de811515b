"""The device-code flow with msal's initiate_device_flow / acquire_token_by_device_flow."""
import threading
import time
import warnings

import pytest

from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID

from .conftest import ADELE
from .token_asserts import LOGIN, assert_entra_error, claims_of, client_info_of

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ONCE = {"exit_condition": lambda flow: True}         # a single poll, no sleeping


def _poll(app, flow):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # msal: "Attempted too soon"
        return app.acquire_token_by_device_flow(flow, **ONCE)


def _polls(em):
    return em.requests("token", grant_type=DEVICE_GRANT)


def test_initiate(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    assert flow["user_code"] and flow["device_code"]
    assert flow["verification_uri"] == "https://microsoft.com/devicelogin"           # as Entra's
    assert flow["message"] == (f"To sign in, use a web browser to open the page "
                               f"https://microsoft.com/devicelogin and enter the code {flow['user_code']} "
                               "to authenticate.")
    assert flow["interval"] == 5 and flow["expires_in"] == 900
    assert abs(flow["expires_at"] - (time.time() + 900)) < 5
    (sent,) = entra_emulator.requests("devicecode")
    assert sent.path == f"/{CONTOSO_ID}/oauth2/v2.0/devicecode" and sent.status == 200
    assert set(sent.form["scope"].split()) == {"User.Read", "offline_access", "openid", "profile"}
    assert "claims" not in sent.form                     # msal's None is dropped by requests


def test_initiate_with_bad_scope_returns_an_error_flow(cli_app):
    flow = cli_app.initiate_device_flow(["No.Such.Permission"])
    assert "user_code" not in flow
    assert_entra_error(flow, "invalid_scope", 70011)


def test_pending_then_approved(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    pending = _poll(cli_app, flow)
    assert_entra_error(pending, "authorization_pending", 70016)
    entra_emulator.clock.advance(flow["interval"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE)
    result = _poll(cli_app, flow)
    assert result["token_source"] == "identity_provider" and result["refresh_token"]
    adele = entra_emulator.user(ADELE)
    assert client_info_of(result["client_info"]) == {"uid": adele.id, "utid": CONTOSO_ID}
    assert result["id_token_claims"]["preferred_username"] == ADELE
    assert claims_of(result["access_token"])["appidacr"] == "0"
    (account,) = cli_app.get_accounts()
    assert account["account_source"] == DEVICE_GRANT
    sent = _polls(entra_emulator)[-1].form
    assert sent["device_code"] == sent["code"] == flow["device_code"]
    assert cli_app.acquire_token_silent(["User.Read"], account)["token_source"] == "cache"


def test_polling_too_fast_is_slow_down(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    assert _poll(cli_app, flow)["error"] == "authorization_pending"
    fast = _poll(cli_app, flow)
    assert fast["error"] == "slow_down"
    assert flow["interval"] == 10                         # msal adds 5 s on slow_down
    entra_emulator.clock.advance(flow["interval"])
    assert _poll(cli_app, flow)["error"] == "authorization_pending"


def test_declined(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.decline_device_code(flow["user_code"])
    result = _poll(cli_app, flow)
    assert result["error"] == "authorization_declined" and "access_token" not in result


def test_declined_consent(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE, consent=False)
    assert _poll(cli_app, flow)["error"] == "authorization_declined"


def test_expired(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.clock.advance(flow["expires_in"] + 1)
    result = _poll(cli_app, flow)
    assert_entra_error(result, "expired_token", 70019)
    with pytest.raises(LookupError):
        entra_emulator.approve_device_code(flow["user_code"], ADELE)


def test_code_cannot_be_redeemed_twice(entra_emulator, cli_app, make_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE)
    assert "access_token" in _poll(cli_app, flow)
    entra_emulator.clock.advance(10)
    again = _poll(make_app(CLI_APP_ID, public=True), flow)
    assert again["error"] == "bad_verification_code"


def test_unknown_device_code(entra_emulator, cli_app):
    flow = cli_app.initiate_device_flow(["User.Read"])
    flow["device_code"] = "DAQABAAEAAAnot-a-real-code"
    assert_entra_error(_poll(cli_app, flow), "bad_verification_code", 70000)


def test_device_code_of_another_client(entra_emulator, make_app, cli_app, entra_directory):
    entra_directory.add_app(client_id="11111111-2222-3333-4444-555555555555", tenant=CONTOSO_ID,
                            display_name="other", public_client=True,
                            api_permissions={"graph": ["User.Read"]})
    flow = cli_app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], ADELE)
    other = make_app("11111111-2222-3333-4444-555555555555", public=True)
    assert _poll(other, flow)["error"] == "bad_verification_code"
    assert "access_token" in _poll(cli_app, flow)


def test_devicecode_unknown_tenant(entra_session):
    response = entra_session.post(f"{LOGIN}/nosuch.example/oauth2/v2.0/devicecode",
                                  data={"client_id": CLI_APP_ID, "scope": "User.Read"})
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_tenant", 90002)


def test_msal_polling_loop(entra_emulator, cli_app):
    """msal's real loop: it polls every ``interval`` seconds until the user approves."""
    entra_emulator.settings.device_code_interval = 1
    flow = cli_app.initiate_device_flow(["User.Read"])
    assert flow["interval"] == 1
    timer = threading.Timer(0.3, entra_emulator.approve_device_code, (flow["user_code"], ADELE))
    timer.start()
    try:
        started = time.monotonic()
        result = cli_app.acquire_token_by_device_flow(flow)
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
    assert "access_token" in result, result
    statuses = [r.status for r in _polls(entra_emulator)]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {400} and len(statuses) >= 2
    assert elapsed < 3
