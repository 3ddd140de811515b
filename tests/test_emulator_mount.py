"""The emulator's browser pages inside Django (``/_emulator/``), driven by the test client."""
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings

from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID
from graph_auth.emulator.mount import browser_url, current_emulator, device_login_url

from .emulator.browsing import (
    DjangoBrowser,
    error_text,
    form_for,
    form_post_params,
    forms,
    parse,
    redirect_params,
    text,
)
from .emulator.conftest import ADELE, make_app, web_app

REDIRECT_URI = "http://testserver/auth/callback"
PREFIX = f"/_emulator/{CONTOSO_ID}/oauth2/v2.0"


@pytest.fixture
def browser(entra_emulator):
    return DjangoBrowser(Client(enforce_csrf_checks=True))    # the pages need no CSRF token


def _html(response) -> str:
    return response.content.decode()


def _sign_in(browser, app, **kwargs):
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, **kwargs)
    page = browser.get(flow["auth_uri"])
    if page.status_code == 200 and 'value="signin"' in _html(page):
        page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    if page.status_code == 200 and 'id="permissions"' in _html(page):
        page = browser.submit(page, "consent")
    return flow, page


def test_the_fixture_emulator_is_the_mounts_emulator(entra_emulator):
    assert current_emulator() is entra_emulator
    assert browser_url() == entra_emulator.settings.browser_url == "/_emulator"


def test_home_page(browser):
    page = browser.get("/_emulator/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert ADELE in text(_html(page)) and 'href="/_emulator/devicelogin"' in _html(page)


def test_sign_in_journey_through_the_mount(browser, web_app, entra_emulator):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    assert flow["auth_uri"].startswith(f"{PREFIX}/authorize?")
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    signin = form_for(_html(page), "signin")
    assert signin.action == f"{PREFIX}/authorize" and signin.fields["flow"]

    page = browser.submit(page, "signin", username=ADELE, password="nope")
    assert page.status_code == 200 and "incorrect" in error_text(_html(page))
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    assert page.status_code == 200 and "Permissions requested" in text(_html(page))
    cookie = browser.client.cookies[entra_emulator.settings.sso_cookie]
    assert cookie.value and cookie["path"] == "/_emulator" and cookie["httponly"]
    assert cookie["samesite"] == "Lax"

    response = browser.submit(page, "consent")
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT_URI + "?code=")
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response["Location"]))
    assert result["id_token_claims"]["preferred_username"] == ADELE

    # The cookie is sent back under the mount: the next sign-in skips the pages.
    flow, response = _sign_in(browser, web_app, prompt="none")
    assert "code" in redirect_params(response["Location"])


def test_multipart_posts_work_too(entra_emulator, web_app):
    client = Client()
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = client.get(flow["auth_uri"])
    signin = form_for(_html(page), "signin")
    page = client.post(signin.action, {**signin.fields, "username": ADELE, "password": "Passw0rd!"})
    assert "Permissions requested" in text(_html(page))


def test_form_post_through_the_mount(browser, web_app):
    flow, page = _sign_in(browser, web_app, response_mode="form_post")
    action, fields = form_post_params(_html(page))
    assert action == REDIRECT_URI and fields["state"] == flow["state"]
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, fields)


def test_error_page_through_the_mount(browser):
    response = browser.get(f"{PREFIX}/authorize", client_id="nope", response_type="code",
                           scope="openid", redirect_uri=REDIRECT_URI)
    assert response.status_code == 400 and not response.has_header("Location")
    assert "AADSTS700016" in error_text(_html(response))


def test_sign_out_through_the_mount(browser, web_app, entra_emulator):
    _flow, response = _sign_in(browser, web_app)
    sid = redirect_params(response["Location"])["session_state"]
    page = browser.get(f"{PREFIX}/logout", post_logout_redirect_uri="http://testserver/")
    assert page.status_code == 200
    assert parse(_html(page)).iframes == [f"http://localhost:8000/auth/logout/front-channel?sid={sid}"]
    cookie = browser.client.cookies[entra_emulator.settings.sso_cookie]
    assert cookie.value == "" and str(cookie["max-age"]) == "0" and cookie["path"] == "/_emulator"
    _, response = _sign_in(browser, web_app, prompt="none")
    assert redirect_params(response["Location"])["error"] == "login_required"
    again = browser.post(f"{PREFIX}/logout", {"post_logout_redirect_uri": "http://testserver/"})
    assert again.status_code == 302 and again["Location"] == "http://testserver/"


def test_device_code_page_through_the_mount(browser, make_app):
    app = make_app(CLI_APP_ID, public=True)
    flow = app.initiate_device_flow(scopes=["User.Read"])
    assert flow["verification_uri"] == "https://microsoft.com/devicelogin"      # as Entra says
    assert device_login_url() == "/_emulator/devicelogin"            # where the emulator's page is
    page = browser.get(device_login_url())
    form = forms(_html(page))[0]
    assert form.action == "/_emulator/devicelogin"
    page = browser.post(form.action, {"otc": flow["user_code"].lower()})
    assert form_for(_html(page), "signin").action == "/_emulator/devicelogin"
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    page = browser.submit(page, "consent")
    assert "You're signed in" in text(_html(page))
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["id_token_claims"]["preferred_username"] == ADELE


def test_unknown_path_under_the_mount(browser):
    response = browser.get("/_emulator/nothing/here")
    assert response.status_code == 404


@override_settings(GRAPH_AUTH={"CLIENT_ID": "x", "CLIENT_SECRET": "y"})
@pytest.mark.parametrize("path", ["/_emulator/", f"{PREFIX}/authorize", "/_emulator/devicelogin"])
def test_the_mount_is_404_when_the_emulator_is_off(client, path):
    assert client.get(path).status_code == 404
    assert client.post(path, {"flow": "x"}).status_code == 404


def test_mount_keeps_the_query_and_the_script_prefix(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           login_hint="alex@contoso.onmicrosoft.com")
    page = browser.get(flow["auth_uri"])
    assert form_for(_html(page), "signin").fields["username"] == "alex@contoso.onmicrosoft.com"
    assert urlsplit(form_for(_html(page), "cancel").action).path == f"{PREFIX}/authorize"
