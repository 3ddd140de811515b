"""The end-session endpoint: SSO cookie, post_logout_redirect_uri, logout_hint, front-channel frames."""
from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID, WEB_APP_ID

from .browsing import LOGIN, browser, interactive_sign_in, parse, redirect_params, text
from .conftest import ADELE, REDIRECT_URI

LOGOUT = f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/logout"
HOME = "http://localhost:8000/"
FRONT_CHANNEL = "http://localhost:8000/auth/logout/front-channel"
ALEX = "alex@contoso.onmicrosoft.com"


def _redeem(app, flow, params):
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    return result


def _silent(browser, app, login_hint=None):
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none",
                                       login_hint=login_hint)
    return redirect_params(browser.get(flow["auth_uri"]).headers["Location"])


def test_sign_out_ends_the_session_notifies_the_app_and_returns(browser, web_app, entra_emulator):
    _, params = interactive_sign_in(browser, web_app)
    cookie = entra_emulator.settings.sso_cookie
    assert browser.cookie(cookie)

    page = browser.get(LOGOUT, post_logout_redirect_uri=HOME)
    assert page.status_code == 200 and "You signed out" in text(page.text)
    parsed = parse(page.text)
    assert parsed.iframes == [f"{FRONT_CHANNEL}?sid={params['session_state']}"]
    assert 'id="continue" href="http://localhost:8000/"' in page.text
    assert browser.cookie(cookie) is None                      # Max-Age=0 removed it
    assert "Max-Age=0" in page.headers["Set-Cookie"]

    assert _silent(browser, web_app)["error"] == "login_required"
    # Nothing left to end: straight back to the app.
    response = browser.get(LOGOUT, post_logout_redirect_uri=HOME)
    assert response.status_code == 302 and response.headers["Location"] == HOME


def test_unregistered_post_logout_redirect_uri_is_not_followed(browser, web_app):
    interactive_sign_in(browser, web_app)
    page = browser.get(LOGOUT, post_logout_redirect_uri="https://evil.example/<script>")
    assert page.status_code == 200 and "Location" not in page.headers
    assert "evil.example" not in page.text and 'id="continue"' not in page.text
    assert _silent(browser, web_app)["error"] == "login_required"


def test_sign_out_without_a_redirect_uri_shows_the_page(browser):
    page = browser.get(LOGOUT)
    assert page.status_code == 200 and "You signed out" in text(page.text)
    assert not parse(page.text).iframes


def test_loopback_post_logout_redirect_uri_ignores_the_port(browser):
    response = browser.get(LOGOUT, post_logout_redirect_uri="http://localhost:51234/")
    assert response.status_code == 302 and response.headers["Location"] == "http://localhost:51234/"


def test_logout_hint_ends_only_that_session(browser, web_app, entra_emulator):
    flow, params = interactive_sign_in(browser, web_app)
    adele = _redeem(web_app, flow, params)
    alex_flow, alex_params = interactive_sign_in(browser, web_app, user=ALEX, prompt="login")
    _redeem(web_app, alex_flow, alex_params)
    hint = adele["id_token_claims"]["login_hint"]

    page = browser.post(f"/{CONTOSO_ID}/oauth2/v2.0/logout",
                        {"post_logout_redirect_uri": HOME, "logout_hint": hint})
    assert parse(page.text).iframes == [f"{FRONT_CHANNEL}?sid={params['session_state']}"]
    assert browser.cookie(entra_emulator.settings.sso_cookie) == alex_params["session_state"]

    assert _silent(browser, web_app, login_hint=ADELE)["error"] == "login_required"
    assert "code" in _silent(browser, web_app, login_hint=ALEX)
    assert "code" in _silent(browser, web_app)                     # only Alex is left


def test_logout_hint_may_be_a_username(browser, web_app):
    interactive_sign_in(browser, web_app)
    interactive_sign_in(browser, web_app, user=ALEX, prompt="login")
    browser.get(LOGOUT, logout_hint=ALEX.upper())
    assert _silent(browser, web_app, login_hint=ALEX)["error"] == "login_required"
    assert "code" in _silent(browser, web_app, login_hint=ADELE)


def test_only_apps_the_session_signed_in_to_are_notified(browser, make_app):
    app = make_app(CLI_APP_ID, public=True)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:40001")
    page = browser.get(flow["auth_uri"])
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    page = browser.submit(page, "consent")
    assert page.status_code == 302
    response = browser.get(LOGOUT, post_logout_redirect_uri="http://localhost:40001")
    assert response.status_code == 302                          # the web app was never used


def test_target_is_escaped_in_the_page(browser, web_app, entra_directory):
    target = 'http://localhost:8000/?a="</script><script>alert(1)</script>'
    entra_directory.apps[WEB_APP_ID].redirect_uris.append(target)
    interactive_sign_in(browser, web_app)
    page = browser.get(LOGOUT, post_logout_redirect_uri=target)
    assert "<script>" not in page.text
    assert 'href="http://localhost:8000/?a=&quot;&lt;/script&gt;&lt;script&gt;alert(1)' in page.text


def test_unknown_tenant_is_an_html_error_page(browser):
    page = browser.get(f"{LOGIN}/nowhere.example/oauth2/v2.0/logout")
    assert page.status_code == 400 and page.headers["Content-Type"].startswith("text/html")
    assert "AADSTS90002" in text(page.text)
