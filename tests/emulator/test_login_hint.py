"""The ID token's login_hint claim is opaque, and sending it back as login_hint finds the account:
SSO goes straight through, incremental consent goes straight to the consent page."""
import base64
import json

import pytest

from .browsing import browser, form_for, interactive_sign_in, redirect_params, text
from .conftest import ADELE, REDIRECT_URI

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
ALEX = "alex@contoso.onmicrosoft.com"


def _signed_in(browser, app, user=ADELE, **kwargs):
    flow, params = interactive_sign_in(browser, app, user=user, **kwargs)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    return result


def _hint(result) -> str:
    return result["id_token_claims"]["login_hint"]


def _readable(hint: str):
    try:
        return json.loads(base64.urlsafe_b64decode(hint + "=" * (-len(hint) % 4)))
    except ValueError:
        return None


def test_the_claim_is_opaque(browser, web_app):
    adele = _signed_in(browser, web_app)
    hint = _hint(adele)
    assert hint and _readable(hint) is None                   # nothing an app could parse
    assert ADELE not in hint and adele["id_token_claims"]["oid"] not in hint
    again = _signed_in(browser, web_app, prompt="login")
    assert _hint(again) == hint                                # the same person, the same hint


def test_sign_in_again_with_the_hint_goes_straight_through(browser, web_app):
    adele = _signed_in(browser, web_app)
    _signed_in(browser, web_app, user=ALEX, prompt="login")           # two sessions in the browser
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           login_hint=_hint(adele))
    response = browser.get(flow["auth_uri"])
    assert response.status_code == 302, text(response.text)         # no password page
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert result["id_token_claims"]["oid"] == adele["id_token_claims"]["oid"]


def test_silent_sign_in_with_the_hint(browser, web_app):
    adele = _signed_in(browser, web_app)
    _signed_in(browser, web_app, user=ALEX, prompt="login")
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none",
                                           login_hint=_hint(adele))
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert "code" in params, params                   # without the hint: interaction_required


def test_incremental_consent_with_the_hint_goes_to_the_consent_page(browser, web_app):
    adele = _signed_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["Mail.Read"], redirect_uri=REDIRECT_URI,
                                           login_hint=_hint(adele))
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200 and 'id="permissions"' in page.text, text(page.text)
    assert "Mail.Read" in text(page.text) and ADELE in text(page.text)
    response = browser.submit(page, "consent")
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert "Mail.Read" in result["scope"].split()


def test_the_sign_in_page_shows_the_name_never_the_opaque_hint(browser, web_app):
    hint = _hint(_signed_in(browser, web_app))
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI,
                                           login_hint=hint, prompt="login")
    page = browser.get(flow["auth_uri"])
    assert form_for(page.text, "signin").fields["username"] == ADELE
    assert hint not in page.text


def test_plain_names_still_work_as_hints(browser, web_app):
    adele = _signed_in(browser, web_app)
    _signed_in(browser, web_app, user=ALEX, prompt="login")
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none",
                                           login_hint=ADELE.upper())
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    result = web_app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["oid"] == adele["id_token_claims"]["oid"]


def test_an_unknown_hint_finds_nobody(browser, web_app):
    _signed_in(browser, web_app)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, prompt="none",
                                           login_hint="O.not-a-hint-this-emulator-issued")
    assert redirect_params(browser.get(flow["auth_uri"]).headers["Location"])["error"] == "login_required"
