"""A used refresh token as Entra treats it: still valid until it expires or is revoked, each use
answered with a new one (SPA tokens inside their fixed 24 hours); the emulator's strict mode
(``reject_rotated_refresh_tokens``) refuses it instead."""
import msal
import pytest

from graph_auth.emulator import Emulator
from graph_auth.emulator.default_directory import SPA_APP_ID, WEB_APP_ID, WEB_APP_SECRET

from .conftest import ADELE
from .token_asserts import TOKEN_URL, assert_entra_error

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
DAY = 86400
SPA_REDIRECT_URI = "http://localhost:8000/spa/"
SPA_SCOPE = f"api://{WEB_APP_ID}/access_as_user"


def _redeem(make_app, refresh_token: str, scopes=("User.Read",)) -> dict:
    """Redeem ``refresh_token`` with msal, as another worker holding that token would."""
    return make_app().acquire_token_by_refresh_token(refresh_token, list(scopes))


def _post(session, refresh_token: str):
    """POST the refresh-token grant as the web app, as any HTTP client may."""
    return session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "refresh_token",
        "refresh_token": refresh_token, "scope": "User.Read offline_access openid profile"})


def _rotate(app) -> str:
    """Refresh through msal's cache; return the new refresh token msal stored."""
    result = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    assert result["token_source"] == "identity_provider", result
    return result["refresh_token"]


def test_a_used_refresh_token_still_refreshes_and_gets_a_new_one(entra_emulator, signed_in, make_app):
    app, first = signed_in
    newest = _rotate(app)
    again = [_redeem(make_app, first["refresh_token"]) for _ in range(2)]
    issued = [first["refresh_token"], newest, *(r["refresh_token"] for r in again)]
    assert all("access_token" in r for r in again) and len(set(issued)) == 4   # a new one each time
    for token in issued:                                  # none of them was revoked by its use
        assert "access_token" in _redeem(make_app, token)
    assert {r.status for r in entra_emulator.requests("token", grant_type="refresh_token")} == {200}


def test_a_used_refresh_token_on_the_wire(entra_emulator, entra_session, signed_in):
    app, first = signed_in
    _rotate(app)
    response = _post(entra_session, first["refresh_token"])
    assert response.status_code == 200
    assert response.json()["refresh_token"] not in (first["refresh_token"], "")


def test_a_used_refresh_token_expires_on_its_own_clock(entra_emulator, signed_in, make_app):
    app, first = signed_in
    entra_emulator.clock.advance(30 * DAY)
    newest = _rotate(app)                                 # its 90 days start now
    entra_emulator.clock.advance(60 * DAY + 1)            # 90 days since the first was issued
    body = assert_entra_error(_redeem(make_app, first["refresh_token"]), "invalid_grant", 700082)
    assert body["suberror"] == "bad_token"
    assert "access_token" in _redeem(make_app, newest)


@pytest.mark.parametrize("end, code", [
    (lambda em: em.revoke_sessions(ADELE), 50173),                  # revokeSignInSessions
    (lambda em: setattr(em.user(ADELE), "enabled", False), 50057),  # the account disabled
], ids=["revoked", "disabled"])
def test_a_used_refresh_token_ends_with_the_session(entra_emulator, signed_in, make_app, end, code):
    app, first = signed_in
    newest = _rotate(app)
    end(entra_emulator)
    for token in (first["refresh_token"], newest):
        assert_entra_error(_redeem(make_app, token), "invalid_grant", code)


def _spa_sign_in(entra_emulator):
    """Sign Adele in to the single-page app (a public client redeeming cross-origin, as a browser)."""
    entra_emulator.clock.freeze()                 # whole seconds in refresh_token_expires_in
    session = entra_emulator.session(timeout=10)
    session.headers["Origin"] = "http://localhost:8000"
    app = msal.PublicClientApplication(SPA_APP_ID, authority="https://login.microsoftonline.com/organizations",
                                       http_client=session, http_cache={})
    flow = app.initiate_auth_code_flow([SPA_SCOPE], redirect_uri=SPA_REDIRECT_URI)
    result = app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    assert result["refresh_token_expires_in"] == DAY, result
    return app, result


def test_spa_refresh_tokens_keep_the_first_ones_24_hours(entra_emulator):
    app, first = _spa_sign_in(entra_emulator)
    account = app.get_accounts()[0]
    entra_emulator.clock.advance(23 * 3600)
    newest = app.acquire_token_silent_with_error([SPA_SCOPE], account, force_refresh=True)
    reused = app.acquire_token_by_refresh_token(first["refresh_token"], [SPA_SCOPE])
    for result in (newest, reused):                       # new tokens, the first one's window
        assert result["refresh_token"] != first["refresh_token"] and result["refresh_token_expires_in"] == 3600
    entra_emulator.clock.advance(3600)
    for token in (first["refresh_token"], newest["refresh_token"], reused["refresh_token"]):
        body = assert_entra_error(app.acquire_token_by_refresh_token(token, [SPA_SCOPE]), "invalid_grant", 700084)
        assert body["suberror"] == "bad_token"


# -- the strict mode: for tests that prove a client keeps the newest refresh token -----------------
def test_strict_mode_refuses_a_used_refresh_token(entra_emulator, entra_session, signed_in, make_app):
    entra_emulator.settings.reject_rotated_refresh_tokens = True
    app, first = signed_in
    newest = _rotate(app)
    body = assert_entra_error(_redeem(make_app, first["refresh_token"]), "invalid_grant", 70000)
    assert body["suberror"] == "bad_token" and "reject_rotated_refresh_tokens" in body["error_description"]
    response = _post(entra_session, first["refresh_token"])
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_grant", 70000)
    assert "access_token" in _redeem(make_app, newest)   # the newest one was never used


def test_strict_mode_can_be_chosen_when_the_emulator_is_made():
    assert Emulator(reject_rotated_refresh_tokens=True).settings.reject_rotated_refresh_tokens
    assert not Emulator().settings.reject_rotated_refresh_tokens      # Entra's semantics by default
