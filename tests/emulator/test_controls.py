"""The emulator's test controls: forced responses, delays, throttling, the clock and the request log."""
import msal
import pytest

from graph_auth.emulator.default_directory import CONTOSO_ID, DAEMON_APP_ID, DAEMON_APP_SECRET

from .conftest import ADELE

KEYS_URL = f"https://login.microsoftonline.com/{CONTOSO_ID}/discovery/v2.0/keys"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


def test_forced_answer_applies_the_given_number_of_times(entra_emulator, entra_session):
    entra_emulator.fail_next("jwks", 503, headers={"Retry-After": "2"}, times=2)
    first, second, third = (entra_session.get(KEYS_URL) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "2"
    body = first.json()
    assert body["error"] == "temporarily_unavailable" and body["error_codes"] == [50089]


def test_forced_answer_with_explicit_body(entra_emulator, entra_session):
    entra_emulator.fail_next("jwks", 500, json={"custom": True})
    response = entra_session.get(KEYS_URL)
    assert response.status_code == 500 and response.json() == {"custom": True}


def test_fault_until_cleared(entra_emulator, entra_session):
    entra_emulator.fail_next("jwks", 500, times=None)
    assert [entra_session.get(KEYS_URL).status_code for _ in range(3)] == [500, 500, 500]
    entra_emulator.clear_faults()
    assert entra_session.get(KEYS_URL).status_code == 200


def test_token_fault_narrowed_by_grant_type(entra_emulator, make_app):
    entra_emulator.fail_next("token", 429, headers={"Retry-After": "5"}, grant_type="refresh_token")
    app = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET)
    result = app.acquire_token_for_client(GRAPH_DEFAULT)      # client_credentials: not affected
    assert "access_token" in result
    assert entra_emulator.faults, "the refresh-token fault is still waiting"


def test_throttled_token_endpoint_reaches_msal(entra_emulator, make_app):
    entra_emulator.fail_next("token", 429, headers={"Retry-After": "5"})
    result = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET).acquire_token_for_client(GRAPH_DEFAULT)
    assert result.get("error") == "temporarily_unavailable", result
    assert len(entra_emulator.requests("token")) == 1


def test_graph_fault_narrowed_by_path(entra_emulator, entra_session, signed_in):
    _, result = signed_in
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    entra_emulator.fail_next("graph:/v1.0/me/photo", 504)
    assert entra_session.get("https://graph.microsoft.com/v1.0/me", headers=headers).status_code == 200
    photo = entra_session.get("https://graph.microsoft.com/v1.0/me/photo/$value", headers=headers)
    assert photo.status_code == 504 and photo.json()["error"]["code"] == "gatewayTimeout"


def test_request_log_filters(entra_emulator, signed_in):
    assert [e.endpoint for e in entra_emulator.requests()] == ["openid-configuration", "token"]
    (token,) = entra_emulator.requests("token", grant_type="authorization_code", method="post")
    assert token.status == 200 and token.form["client_id"]
    assert "code=" not in repr(token) and "secret" not in repr(token)   # repr shows no secrets
    entra_emulator.clear_log()
    assert entra_emulator.requests() == []


def test_clock_moves_token_lifetimes(entra_emulator, entra_session, signed_in):
    _, result = signed_in
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    assert entra_session.get("https://graph.microsoft.com/v1.0/me", headers=headers).status_code == 200
    entra_emulator.clock.advance(entra_emulator.settings.access_token_lifetime + 1)
    expired = entra_session.get("https://graph.microsoft.com/v1.0/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_frozen_clock(entra_emulator):
    at = entra_emulator.clock.freeze(1_800_000_000)
    assert entra_emulator.clock.now() == at
    entra_emulator.clock.advance(60)
    assert entra_emulator.clock.now() == at + 60
    entra_emulator.clock.unfreeze()
    assert entra_emulator.clock.now() >= at + 60


def test_user_lookup(entra_emulator):
    adele = entra_emulator.user(ADELE)
    assert entra_emulator.user(adele.id) is adele and entra_emulator.user(adele) is adele
    with pytest.raises(LookupError):
        entra_emulator.user("nobody@contoso.onmicrosoft.com")


def test_internal_errors_are_500s_and_recorded(entra_emulator, entra_session, monkeypatch):
    from graph_auth.emulator.identity import discovery

    def broken(em, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(discovery, "jwks", broken)
    response = entra_session.get(KEYS_URL)
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert [type(e) for e in entra_emulator.errors] == [RuntimeError]
    entra_emulator.errors.clear()          # the fixture would fail this test otherwise


def test_msal_sees_a_500_as_a_service_error(entra_emulator, make_app):
    entra_emulator.fail_next("token", 500)
    app = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET)
    with pytest.raises(msal.exceptions.MsalServiceError):
        app.acquire_token_for_client(GRAPH_DEFAULT)
