"""The authorize endpoint's interactive journey over the requests transport, driven by real msal:
sign-in page, consent page, SSO cookie and the prompt parameter."""
from graph_auth.emulator.default_directory import CONTOSO_ID

from .browsing import browser, error_text, form_for, forms, interactive_sign_in, redirect_params, text
from .conftest import ADELE, REDIRECT_URI

PASSWORD = "Passw0rd!"
ALEX = "alex@contoso.onmicrosoft.com"
AUTH_TIME_CLAIMS = '{"id_token":{"auth_time":{"essential":true}}}'    # ask for the optional claim


def test_full_interactive_journey_then_msal_redeems(browser, web_app, entra_emulator):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    assert flow["auth_uri"].startswith(f"https://login.microsoftonline.com/{CONTOSO_ID}/")

    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    signin = form_for(page.text, "signin")
    assert signin.fields["flow"] and signin.fields["username"] == ""
    assert signin.action == f"/{CONTOSO_ID}/oauth2/v2.0/authorize"
    listed = text(page.text)
    assert "graph_auth demo" in listed
    for user in ("Adele Vance", ADELE, "Alex Wilber", "Megan Bowen"):
        assert user in listed
    assert "isaiah@" not in listed                                  # disabled
    # A guest's tile shows the name they sign in with (their home account), never the #EXT# UPN.
    assert "fabrice@fabrikam.onmicrosoft.com" in listed and "#EXT#" not in listed

    page = browser.submit(page, "signin", username=ADELE, password="wrong")
    assert page.status_code == 200
    assert "incorrect" in error_text(page.text)
    assert form_for(page.text, "signin").fields["username"] == ADELE
    assert browser.cookie(entra_emulator.settings.sso_cookie) is None

    page = browser.submit(page, "signin", username=ADELE, password=PASSWORD)
    assert page.status_code == 200
    assert browser.cookie(entra_emulator.settings.sso_cookie)
    consent = text(page.text)
    assert "Permissions requested" in consent and ADELE in consent
    for permission in ("User.Read", "Sign you in", "View your basic profile", "offline_access"):
        assert permission in consent
    assert form_for(page.text, "consent").button("decline")

    page = browser.submit(page, "consent")
    assert page.status_code == 302
    location = page.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = redirect_params(location)
    assert {"code", "state", "client_info", "session_state"} <= set(params)
    assert params["state"] == flow["state"]

    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADELE
    assert result["id_token_claims"]["sid"] == params["session_state"]


def test_sso_cookie_skips_the_sign_in_page(browser, web_app):
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    response = browser.get(flow["auth_uri"])
    assert response.status_code == 302, text(response.text)
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert result["id_token_claims"]["preferred_username"] == ADELE


def test_prompt_none_with_and_without_a_session(browser, web_app, make_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    response = browser.get(flow["auth_uri"])
    assert response.status_code == 302
    params = redirect_params(response.headers["Location"])
    assert params["error"] == "login_required" and params["state"] == flow["state"]
    assert params["error_description"].startswith("AADSTS50058")
    assert web_app.acquire_token_by_auth_code_flow(flow, params)["error"] == "login_required"

    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    response = browser.get(flow["auth_uri"])
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert "access_token" in result, result

    # Signed in, but not yet consented to Mail.Read: prompt=none can't ask.
    flow = web_app.initiate_auth_code_flow(["Mail.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert params["error"] == "consent_required" and params["state"] == flow["state"]


def test_prompt_none_with_two_sessions_needs_interaction(browser, web_app):
    interactive_sign_in(browser, web_app)
    interactive_sign_in(browser, web_app, user=ALEX, prompt="login")
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert params["error"] == "interaction_required"
    # login_hint picks one of them
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none",
                                           login_hint=ALEX)
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["preferred_username"] == ALEX


def test_prompt_login_asks_for_the_password_again(browser, web_app, entra_emulator):
    _, first = interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="login",
                                           claims_challenge=AUTH_TIME_CLAIMS)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    assert [f.action_value() for f in forms(page.text)] == ["signin", "cancel"]   # no picker
    entra_emulator.clock.advance(60)
    page = browser.submit(page, "signin", username=ADELE, password=PASSWORD)
    assert page.status_code == 302, text(page.text)
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(page.headers["Location"]))
    assert result["id_token_claims"]["auth_time"] >= entra_emulator.clock.now() - 1
    # Re-authenticating renews the same SSO session: silent sign-in still works afterwards.
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert "code" in params, params
    assert params["session_state"] == first["session_state"]


def test_select_account_shows_the_picker(browser, web_app):
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           prompt="select_account")
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    pick = form_for(page.text, "pick")
    assert pick.fields["sid"] and pick.buttons[0]["name"] == "pick"
    assert "signed in" in text(page.text)
    response = browser.submit(page, "pick")
    assert response.status_code == 302
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert result["id_token_claims"]["preferred_username"] == ADELE


def test_picking_an_ended_session_goes_back_to_sign_in(browser, web_app, entra_emulator):
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           prompt="select_account")
    page = browser.get(flow["auth_uri"])
    entra_emulator.revoke_sessions(ADELE)
    page = browser.submit(page, "pick")
    assert page.status_code == 200 and "Sign in again" in error_text(page.text)


def test_prompt_consent_asks_even_when_consented(browser, web_app):
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="consent")
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and "User.Read" in text(page.text)
    response = browser.submit(page, "consent")
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(
        flow, redirect_params(response.headers["Location"]))


def test_declining_consent_is_access_denied_at_the_redirect_uri(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, state="s-123")
    page = browser.submit(browser.get(flow["auth_uri"]), "signin", username=ADELE, password=PASSWORD)
    response = browser.submit(page, "decline")
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI)
    params = redirect_params(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == "s-123"
    assert params["error_description"].startswith("AADSTS65004")
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "access_denied"
    # The user is still signed in, but the app has no consent: the next time asks again.
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    assert "Permissions requested" in browser.get(flow["auth_uri"]).text


def test_cancel_on_the_sign_in_page(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    response = browser.submit(browser.get(flow["auth_uri"]), "cancel")
    params = redirect_params(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == flow["state"]
    assert params["error_subcode"] == "cancel"
    # the request is over: its page can't be posted again
    again = browser.post(f"/{CONTOSO_ID}/oauth2/v2.0/authorize", {"flow": "x", "action": "cancel"})
    assert again.status_code == 400


def test_login_hint_prefills_the_username(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, login_hint=ALEX)
    page = browser.get(flow["auth_uri"])
    assert form_for(page.text, "signin").fields["username"] == ALEX
    page = browser.submit(page, "signin", password=PASSWORD)
    assert "Permissions requested" in page.text and ALEX in page.text


def test_login_hint_skips_the_other_users_session(browser, web_app):
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, login_hint=ALEX)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    assert not [f for f in forms(page.text) if f.action_value() == "pick"]


def test_domain_hint_filters_the_test_users(browser, make_app):
    app = make_app(tenant="organizations")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                       domain_hint="fabrikam.onmicrosoft.com")
    listed = text(browser.get(flow["auth_uri"]).text)
    assert "fabrice@fabrikam.onmicrosoft.com" in listed and ADELE not in listed
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    listed = text(browser.get(flow["auth_uri"]).text)
    assert "fabrice@fabrikam.onmicrosoft.com" in listed and ADELE in listed


def test_revoked_sessions_no_longer_skip_sign_in(browser, web_app, entra_emulator):
    interactive_sign_in(browser, web_app)
    entra_emulator.revoke_sessions(ADELE)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none")
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert params["error"] == "login_required"
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and form_for(page.text, "signin")
    assert "signed in" not in text(page.text)
    response = browser.submit(page, "signin", username=ADELE, password=PASSWORD)
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(
        flow, redirect_params(response.headers["Location"]))


def test_max_age_and_claims_nbf_force_reauthentication(browser, web_app, entra_emulator):
    entra_emulator.clock.freeze()
    interactive_sign_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, max_age=0)
    assert browser.get(flow["auth_uri"]).status_code == 200              # even in the same instant
    entra_emulator.clock.advance(120)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, max_age=60)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and "signed in" not in text(page.text)   # sign in again
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, max_age=3600)
    response = browser.get(flow["auth_uri"])
    assert response.status_code == 302
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert "access_token" in result, result                               # msal checks auth_time
    nbf = int(entra_emulator.clock.now()) + 1
    challenge = f'{{"access_token":{{"nbf":{{"essential":true,"value":"{nbf}"}}}}}}'
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           claims_challenge=challenge)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    entra_emulator.clock.advance(5)
    response = browser.submit(page, "signin", username=ADELE, password=PASSWORD)
    assert response.status_code == 302


def test_disabled_user_cannot_sign_in(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.submit(browser.get(flow["auth_uri"]), "signin",
                          username="isaiah@contoso.onmicrosoft.com", password=PASSWORD)
    assert page.status_code == 200 and "AADSTS50057" in error_text(page.text)
    page = browser.submit(page, "signin", username="nobody@contoso.onmicrosoft.com", password=PASSWORD)
    assert "username may be incorrect" in error_text(page.text)
