"""The authorize endpoint's validation, response modes, error pages and HTML escaping."""
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from graph_auth.emulator.default_directory import (
    CLI_APP_ID,
    CONTOSO_ID,
    FABRIKAM_APP_ID,
    FABRIKAM_ID,
    SPA_APP_ID,
    WEB_APP_ID,
)

from .browsing import (
    LOGIN,
    browser,
    error_text,
    form_for,
    form_post_params,
    interactive_sign_in,
    redirect_params,
    text,
)
from .conftest import ADELE, REDIRECT_URI

AUTHORIZE = f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/authorize"


def _with(auth_uri: str, **changes) -> str:
    """``auth_uri`` with some query parameters replaced (None: removed)."""
    parts = urlsplit(auth_uri)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


def _authorize(**params) -> str:
    base = {"client_id": WEB_APP_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
            "scope": "openid profile User.Read", "state": "st"}
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in {**base, **params}.items() if v is not None})}"


def _sign_in(browser, url, user=ADELE):
    page = browser.get(url)
    assert page.status_code == 200, page.headers.get("Location")
    page = browser.submit(page, "signin", username=user, password="Passw0rd!")
    if 'id="permissions"' in page.text:
        page = browser.submit(page, "consent")
    return page


def test_home_page_lists_the_test_accounts(browser):
    page = browser.get(LOGIN + "/")
    assert page.status_code == 200 and ADELE in text(page.text) and "Passw0rd!" in page.text
    assert 'href="/devicelogin"' in page.text


def test_form_post_page_posts_hidden_fields_to_the_redirect_uri(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           response_mode="form_post",
                                           state="<script>alert(1)</script>&\"'")
    page = _sign_in(browser, flow["auth_uri"])
    assert page.status_code == 200 and "document.forms[0].submit()" in page.text
    assert '<form method="POST" action="http://localhost:8000/auth/callback">' in page.text
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;" in page.text
    action, fields = form_post_params(page.text)
    assert action == REDIRECT_URI
    assert {"code", "state", "client_info", "session_state"} <= set(fields)
    assert fields["state"] == flow["state"] == "<script>alert(1)</script>&\"'"
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, fields)


def test_fragment_response_mode(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           response_mode="fragment")
    response = _sign_in(browser, flow["auth_uri"])
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "#code=") and "?" not in location
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, redirect_params(location))


def test_authorize_accepts_post(browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    parts = urlsplit(flow["auth_uri"])
    page = browser.post(f"{LOGIN}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()})
    assert page.status_code == 200 and form_for(page.text, "signin").fields["flow"]


@pytest.mark.parametrize("change, code", [
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "AADSTS700016"),
    ({"client_id": FABRIKAM_APP_ID}, "AADSTS700016"),           # single-tenant app elsewhere
    ({"redirect_uri": "https://evil.example/callback"}, "AADSTS50011"),
    ({"redirect_uri": "http://testserver:8080/auth/callback"}, "AADSTS50011"),   # not loopback
    ({"redirect_uri": "http://localhost:8000/auth/callback/extra"}, "AADSTS50011"),
])
def test_unknown_client_or_redirect_uri_is_an_error_page_not_a_redirect(browser, change, code):
    response = browser.get(_authorize(**change))
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert error_text(response.text).startswith(code)


def test_unknown_tenant_is_an_error_page(browser):
    response = browser.get(_authorize().replace(CONTOSO_ID, "nowhere.example.com"))
    assert response.status_code == 400 and "AADSTS90002" in error_text(response.text)


def test_script_in_a_redirect_uri_comes_back_escaped(browser):
    response = browser.get(_authorize(redirect_uri="https://x/<script>alert(1)</script>"))
    assert response.status_code == 400
    assert "<script>" not in response.text and "&lt;script&gt;alert(1)" in response.text


def test_script_in_login_hint_comes_back_escaped(browser):
    hint = '"><script>alert(1)</script>'
    page = browser.get(_authorize(login_hint=hint))
    assert page.status_code == 200 and "<script>" not in page.text
    assert form_for(page.text, "signin").fields["username"] == hint
    page = browser.submit(page, "signin", password="x")
    assert "<script>" not in page.text and "username may be incorrect" in error_text(page.text)


@pytest.mark.parametrize("redirect_uri", ["http://localhost:53187/auth/callback",
                                          "http://127.0.0.1:1234/auth/callback"])
def test_loopback_redirect_uri_port_is_ignored(browser, web_app, redirect_uri):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=redirect_uri)
    response = _sign_in(browser, flow["auth_uri"])
    assert response.headers["Location"].startswith(redirect_uri + "?code=")
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert "access_token" in result, result


def test_public_client_with_a_bare_loopback_registration(browser, make_app):
    app = make_app(CLI_APP_ID, public=True)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:40123",
                                       response_mode="form_post")
    page = _sign_in(browser, flow["auth_uri"])
    action, fields = form_post_params(page.text)
    assert action == "http://localhost:40123"
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, fields)


@pytest.mark.parametrize("change, error, code", [
    ({"response_mode": "web_message"}, "invalid_request", "AADSTS900144"),
    ({"response_type": "banana"}, "unsupported_response_type", "AADSTS900144"),
    ({"response_type": None}, "unsupported_response_type", "AADSTS900144"),
    ({"prompt": "never"}, "invalid_request", "AADSTS90023"),
    ({"scope": None}, "invalid_request", "AADSTS900144"),
    ({"claims": "{not json"}, "invalid_request", "AADSTS50117"),
    ({"code_challenge": "abc", "code_challenge_method": "S512"}, "invalid_request", "AADSTS900144"),
])
def test_bad_parameters_are_error_redirects(browser, change, error, code):
    response = browser.get(_authorize(state="keep<me>", **change))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    params = redirect_params(location)
    assert params["error"] == error and params["state"] == "keep<me>"
    assert params["error_description"].startswith(code)


def test_implicit_id_token_is_gated_by_the_registration(browser, entra_directory):
    url = _authorize(response_type="id_token", nonce="n-1", response_mode="form_post")
    params = form_post_params(browser.get(url).text)[1]
    assert params["error"] == "unsupported_response_type" and params["state"] == "st"
    hybrid = browser.get(_authorize(response_type="code id_token", nonce="n-1"))
    assert redirect_params(hybrid.headers["Location"])["error"] == "unsupported_response_type"

    entra_directory.apps[WEB_APP_ID].implicit_id_token = True
    missing_nonce = browser.get(_authorize(response_type="id_token"))
    assert missing_nonce.headers["Location"].startswith(REDIRECT_URI + "#")
    assert redirect_params(missing_nonce.headers["Location"])["error"] == "invalid_request"
    query = browser.get(_authorize(response_type="id_token", nonce="n", response_mode="query"))
    assert redirect_params(query.headers["Location"])["error"] == "invalid_request"

    response = _sign_in(browser, url)
    fields = form_post_params(response.text)[1]
    assert "id_token" in fields and "code" not in fields and "access_token" not in fields
    response = browser.get(_authorize(response_type="code id_token", nonce="n-2"))
    params = redirect_params(response.headers["Location"])       # SSO: straight back
    assert response.headers["Location"].startswith(REDIRECT_URI + "#")
    assert {"code", "id_token", "state", "session_state"} <= set(params)


def test_implicit_access_token_is_gated_by_the_registration(browser, entra_directory, web_app):
    interactive_sign_in(browser, web_app)
    url = _authorize(response_type="token", scope="User.Read")
    assert redirect_params(browser.get(url).headers["Location"])["error"] == "unsupported_response_type"
    entra_directory.apps[WEB_APP_ID].implicit_access_token = True
    params = redirect_params(browser.get(url).headers["Location"])
    assert params["token_type"] == "Bearer" and params["access_token"].count(".") == 2
    assert "User.Read" in params["scope"] and int(params["expires_in"]) > 0
    me = browser.session.get("https://graph.microsoft.com/v1.0/me",
                             headers={"Authorization": f"Bearer {params['access_token']}"})
    assert me.json()["userPrincipalName"] == ADELE


def test_spa_redirect_uri_requires_pkce(browser):
    url = _authorize(client_id=SPA_APP_ID, redirect_uri="http://localhost:8000/spa/",
                     scope=f"openid api://{SPA_APP_ID}/x")
    params = redirect_params(browser.get(url).headers["Location"])
    assert params["error"] == "invalid_request" and params["error_description"].startswith("AADSTS9002325")


def test_single_tenant_app_refuses_a_user_from_another_tenant(browser, make_app):
    app = make_app(FABRIKAM_APP_ID, "fabrikam-secret", tenant=FABRIKAM_ID)    # on organizations: 50194
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/fabrikam/callback")
    page = browser.get(flow["auth_uri"])
    listed = text(page.text)
    assert "fabrice@fabrikam.onmicrosoft.com" in listed and ADELE not in listed
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    assert page.status_code == 200 and error_text(page.text).startswith("AADSTS50020")
    response = browser.submit(page, "signin", username="fabrice@fabrikam.onmicrosoft.com",
                              password="Passw0rd!")
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert result["id_token_claims"]["preferred_username"] == "fabrice@fabrikam.onmicrosoft.com"


def test_user_from_another_tenant_at_a_tenant_endpoint(browser, make_app):
    flow = make_app(tenant=FABRIKAM_ID).initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.submit(browser.get(flow["auth_uri"]), "signin", username=ADELE, password="Passw0rd!")
    assert error_text(page.text).startswith("AADSTS50020")          # Adele was never invited there
    assert "'https://sts.windows.net/" in error_text(page.text) and "'Fabrikam'" in error_text(page.text)


@pytest.mark.parametrize("flow_id", ["", "made-up"])
def test_unknown_flow_is_a_helpful_page(browser, flow_id):
    response = browser.post(AUTHORIZE, {"flow": flow_id, "action": "signin", "username": ADELE})
    assert response.status_code == 400 and "sign in again" in error_text(response.text)


def test_expired_flow_is_a_helpful_page(browser, entra_emulator):
    page = browser.get(_authorize())
    entra_emulator.clock.advance(3 * 3600)
    response = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    assert response.status_code == 400 and "expired" in error_text(response.text)
    assert not entra_emulator.pending                 # forgotten, not kept forever


def test_form_without_an_action_is_a_page(browser):
    page = browser.get(_authorize())
    flow = form_for(page.text, "signin").fields["flow"]
    response = browser.post(AUTHORIZE, {"flow": flow, "action": "consent"})   # not signed in yet
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")
