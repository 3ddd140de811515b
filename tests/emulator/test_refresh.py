"""The refresh-token grant as msal's silent flows use it: when msal refreshes, rotation, revocation,
expiry, consent, throttling, server errors and claims challenges (CAE, cp1). A used refresh token:
test_refresh_reuse.py."""
import json
import time

import msal
import pytest
from msal.exceptions import MsalServiceError

from graph_auth.emulator.default_directory import API_APP_ID, CONTOSO_ID, WEB_APP_ID

from .conftest import ADELE, REDIRECT_URI
from .token_asserts import TOKEN_URL, assert_entra_error, claims_of

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")


def _refreshes(em):
    return em.requests("token", grant_type="refresh_token")


def _sign_in(em, app, scopes=("User.Read",), user=ADELE):
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
    result = app.acquire_token_by_auth_code_flow(flow, em.sign_in(flow["auth_uri"], user))
    assert "access_token" in result, result
    return app.get_accounts()[0], result


def _rt(app):
    (rt,) = app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
    return rt["secret"]


def _at_entries(app):
    return list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN))


def _age(app):
    """Let the client's clock pass the cached access token's refresh_on (msal reads time.time())."""
    (entry,) = _at_entries(app)
    app.token_cache.modify(msal.TokenCache.CredentialType.ACCESS_TOKEN, entry,
                           {"refresh_on": str(int(time.time()) - 1)})


def test_short_lived_access_token_is_refreshed_once_per_call(entra_emulator, web_app):
    entra_emulator.settings.access_token_lifetime = 200        # msal treats < 300 s as expired
    account, first = _sign_in(entra_emulator, web_app)
    result = web_app.acquire_token_silent(["User.Read"], account)
    assert result["token_source"] == "identity_provider"
    assert result["access_token"] != first["access_token"]
    (refresh,) = _refreshes(entra_emulator)
    assert refresh.status == 200 and refresh.form["refresh_token"] == first["refresh_token"]
    assert set(refresh.form["scope"].split()) == {"User.Read", "offline_access", "openid", "profile"}
    assert refresh.form["client_info"] == "1"
    assert refresh.headers["x-client-current-telemetry"].startswith("4|84,3|")   # reason: expired
    web_app.acquire_token_silent(["User.Read"], account)
    assert len(_refreshes(entra_emulator)) == 2


def test_long_lived_access_token_is_a_cache_hit(entra_emulator, signed_in):
    app, first = signed_in
    result = app.acquire_token_silent(["User.Read"], app.get_accounts()[0])
    assert result["access_token"] == first["access_token"] and result["token_source"] == "cache"
    assert _refreshes(entra_emulator) == []


def test_refresh_in_makes_msal_refresh_when_aging(entra_emulator, web_app):
    entra_emulator.settings.refresh_in = 1800
    account, first = _sign_in(entra_emulator, web_app)
    assert abs(first["refresh_on"] - (time.time() + 1800)) < 5 and "refresh_in" not in first
    assert web_app.acquire_token_silent(["User.Read"], account)["token_source"] == "cache"
    assert _refreshes(entra_emulator) == []
    _age(web_app)                                            # half an hour later, on the client
    result = web_app.acquire_token_silent(["User.Read"], account)
    assert result["token_source"] == "identity_provider"
    (refresh,) = _refreshes(entra_emulator)
    assert refresh.headers["x-client-current-telemetry"].startswith("4|84,4|")   # reason: aging


def test_failed_aging_refresh_falls_back_to_cached_token(entra_emulator, web_app):
    entra_emulator.settings.refresh_in = 1800
    account, first = _sign_in(entra_emulator, web_app)
    _age(web_app)
    entra_emulator.revoke_sessions(ADELE)                    # the refresh fails: invalid_grant
    result = web_app.acquire_token_silent(["User.Read"], account)
    assert result["access_token"] == first["access_token"] and result["token_source"] == "cache"
    assert [r.status for r in _refreshes(entra_emulator)] == [400]


def test_rotation_replaces_the_cached_refresh_token(entra_emulator, signed_in, make_app):
    app, _first = signed_in
    old = _rt(app)
    result = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    assert result["refresh_token"] != old and _rt(app) == result["refresh_token"]   # one RT, rotated
    assert "access_token" in make_app().acquire_token_by_refresh_token(_rt(app), ["User.Read"])
    # The old one stays valid (Entra's semantics): test_refresh_reuse.py


def test_refresh_token_of_another_client(entra_emulator, signed_in, entra_session):
    _, first = signed_in
    response = entra_session.post(TOKEN_URL, data={
        "client_id": API_APP_ID, "client_secret": "emulator-api-secret",
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "User.Read"})
    body = assert_entra_error(response.json(), "invalid_grant", 70000)
    assert body["suberror"] == "client_mismatch"
    assert body["error_additional_info"] == ["client_mismatch"]     # what msal's FOCI probe reads


def test_revoked_sessions(entra_emulator, signed_in):
    app, _ = signed_in
    account = app.get_accounts()[0]
    entra_emulator.revoke_sessions(ADELE)
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert_entra_error(result, "invalid_grant", 50173)
    assert app.acquire_token_silent(["User.Read"], account, force_refresh=True) is None
    # a new sign-in after the revocation works again
    _sign_in(entra_emulator, app)
    assert "access_token" in app.acquire_token_silent(["User.Read"], account, force_refresh=True)


def test_expired_refresh_token(entra_emulator, signed_in):
    app, _ = signed_in
    entra_emulator.clock.advance(entra_emulator.settings.refresh_token_lifetime + 1)
    result = app.acquire_token_silent_with_error(["User.Read"], app.get_accounts()[0],
                                                 force_refresh=True)
    body = assert_entra_error(result, "invalid_grant", 700082)
    assert body["suberror"] == "bad_token" and body["classification"] == ""


def test_refresh_token_sliding_window(entra_emulator, signed_in):
    app, _ = signed_in
    account = app.get_accounts()[0]
    for _ in range(2):         # each refresh issues a new token with a fresh lifetime
        entra_emulator.clock.advance(entra_emulator.settings.refresh_token_lifetime - 60)
        assert "access_token" in app.acquire_token_silent_with_error(["User.Read"], account,
                                                                     force_refresh=True)


def test_disabled_user(entra_emulator, signed_in):
    app, _ = signed_in
    entra_emulator.user(ADELE).enabled = False
    result = app.acquire_token_silent_with_error(["User.Read"], app.get_accounts()[0],
                                                 force_refresh=True)
    assert_entra_error(result, "invalid_grant", 50057)


def test_new_scope_without_consent(entra_emulator, signed_in, make_app):
    app, _ = signed_in
    result = app.acquire_token_silent_with_error(["Mail.Read"], app.get_accounts()[0])
    body = assert_entra_error(result, "invalid_grant", 65001)
    assert body["suberror"] == "consent_required" and body["classification"] == "consent_required"
    entra_emulator.grant_consent(ADELE, WEB_APP_ID, ["Mail.Read"])
    # msal caches the 400 for 60 s: the same app gets the same answer without asking again
    assert app.acquire_token_silent_with_error(["Mail.Read"], app.get_accounts()[0]) == result
    assert [r.status for r in _refreshes(entra_emulator)] == [400]
    app = make_app(token_cache=app.token_cache)          # same tokens, fresh http_cache
    granted = app.acquire_token_silent_with_error(["Mail.Read"], app.get_accounts()[0])
    assert "Mail.Read" in granted["scope"].split()
    assert set(claims_of(granted["access_token"])["scp"].split()) == {"User.Read", "Mail.Read"}


def test_dot_default_gives_what_was_consented(entra_emulator, signed_in):
    app, _ = signed_in                                   # Adele consented to User.Read only
    result = app.acquire_token_silent_with_error(["https://graph.microsoft.com/.default"],
                                                 app.get_accounts()[0])
    assert claims_of(result["access_token"])["scp"] == "User.Read"
    assert claims_of(result["access_token"])["aud"] == "https://graph.microsoft.com"
    assert result["scope"].split()[0] == "User.Read"


def test_dot_default_without_any_consent(entra_emulator, make_app):
    import warnings

    from graph_auth.emulator.default_directory import CLI_APP_ID
    app = make_app(CLI_APP_ID, public=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = app.acquire_token_by_username_password(
            ADELE, "Passw0rd!", ["https://graph.microsoft.com/.default"])
    body = assert_entra_error(result, "invalid_grant", 65001)
    assert "User.Read" in body["error_description"]


def test_refresh_token_works_for_another_resource(entra_emulator, signed_in):
    app, _ = signed_in
    entra_emulator.grant_consent(ADELE, WEB_APP_ID, ["access_as_user"], API_APP_ID)
    scope = f"api://{API_APP_ID}/access_as_user"
    result = app.acquire_token_silent_with_error([scope], app.get_accounts()[0])
    assert result["scope"].split()[0] == scope
    at = claims_of(result["access_token"])
    assert at["aud"] == API_APP_ID and at["ver"] == "2.0" and at["scp"] == "access_as_user"
    assert at["azp"] == WEB_APP_ID and at["iss"] == f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0"
    cached = app.acquire_token_silent([scope], app.get_accounts()[0])
    assert cached["token_source"] == "cache"


def test_throttled_refresh(entra_emulator, signed_in):
    app, _ = signed_in
    account = app.get_accounts()[0]
    entra_emulator.fail_next("token", 429, headers={"Retry-After": "3"})
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert result["error"] == "temporarily_unavailable"
    assert_entra_error(result, "temporarily_unavailable", result["error_codes"][0])
    # msal remembers the 429 for Retry-After seconds (per http_cache): no second request
    again = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert again["trace_id"] == result["trace_id"]
    assert [r.status for r in _refreshes(entra_emulator)] == [429]


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_raises(entra_emulator, signed_in, status):
    app, _ = signed_in
    entra_emulator.fail_next("token", status)
    with pytest.raises(MsalServiceError, match=f"HTTP Error: {status}"):
        app.acquire_token_silent_with_error(["User.Read"], app.get_accounts()[0], force_refresh=True)


def test_server_error_during_aging_refresh_raises_too(entra_emulator, web_app):
    """msal only falls back to the cached token on *network* errors (requests exceptions)."""
    entra_emulator.settings.refresh_in = 1800
    account, _ = _sign_in(entra_emulator, web_app)
    _age(web_app)
    entra_emulator.fail_next("token", 500)
    with pytest.raises(MsalServiceError):
        web_app.acquire_token_silent(["User.Read"], account)


def test_claims_challenge_with_cp1(entra_emulator, make_app):
    app = make_app(client_capabilities=["cp1"])
    account, first = _sign_in(entra_emulator, app)
    assert claims_of(first["access_token"])["xms_cc"] == ["cp1"]
    challenge = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1700000000"}}})
    result = app.acquire_token_silent_with_error(["User.Read"], account, claims_challenge=challenge)
    assert result["token_source"] == "identity_provider"           # claims bypass the cache
    assert claims_of(result["access_token"])["xms_cc"] == ["cp1"]
    sent = json.loads(_refreshes(entra_emulator)[-1].form["claims"])
    assert sent["access_token"]["nbf"]["value"] == "1700000000"
    assert sent["access_token"]["xms_cc"] == {"values": ["cp1"]}


def test_without_cp1_no_xms_cc(signed_in):
    _, result = signed_in
    assert "xms_cc" not in claims_of(result["access_token"])


def test_claims_challenge_after_revocation_needs_interaction(entra_emulator, make_app):
    app = make_app(client_capabilities=["cp1"])
    account, _ = _sign_in(entra_emulator, app)
    entra_emulator.revoke_sessions(ADELE)
    challenge = json.dumps({"access_token": {"nbf": {"essential": True,
                                                     "value": str(int(time.time()))}}})
    result = app.acquire_token_silent_with_error(["User.Read"], account, claims_challenge=challenge)
    assert_entra_error(result, "invalid_grant", 50173)
