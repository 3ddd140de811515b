"""The device-code login page (verification_uri) and msal's polling that follows it."""
import pytest

from .browsing import LOGIN, browser, error_text, form_for, forms, text
from .conftest import ADELE

DEVICELOGIN = f"{LOGIN}/devicelogin"                 # the emulator's page (its browser URL)
VERIFICATION_URI = "https://microsoft.com/devicelogin"  # what Entra tells the user to open


@pytest.fixture
def device_flow(browser, cli_app):
    flow = cli_app.initiate_device_flow(scopes=["User.Read"])
    assert "user_code" in flow, flow
    return flow


def _poll_once(app, flow):
    """One poll, no waiting (the test plays the user in between, so no need to sleep)."""
    flow.pop("latest_attempt_at", None)
    return app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)


def _enter(browser, code):
    page = browser.get(DEVICELOGIN)
    assert page.status_code == 200
    form = forms(page.text)[0]
    assert form.action == "/devicelogin" and "otc" in form.fields
    return browser.post(form.action, {"otc": code})


def _dashed_lower(code: str) -> str:
    return f"{code[:4]}-{code[4:]}".lower()


@pytest.mark.parametrize("typed", [str, _dashed_lower, lambda c: f"  {c.lower()} "])
def test_enter_code_sign_in_consent_then_msal_gets_tokens(browser, cli_app, device_flow, typed):
    assert device_flow["verification_uri"] == VERIFICATION_URI
    assert VERIFICATION_URI in device_flow["message"] and device_flow["user_code"] in device_flow["message"]
    assert _poll_once(cli_app, device_flow)["error"] == "authorization_pending"

    page = _enter(browser, typed(device_flow["user_code"]))
    assert page.status_code == 200
    signin = form_for(page.text, "signin")
    assert signin.action == "/devicelogin" and signin.fields["flow"]
    assert "graph_auth CLI" in text(page.text)

    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    assert "Permissions requested" in text(page.text) and "User.Read" in text(page.text)
    page = browser.submit(page, "consent")
    assert page.status_code == 200 and "You're signed in" in text(page.text)
    assert "graph_auth CLI" in text(page.text)

    result = _poll_once(cli_app, device_flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADELE
    # The code is spent: entering it again does nothing.
    again = _enter(browser, device_flow["user_code"])
    assert error_text(again.text) and not [f for f in forms(again.text) if "flow" in f.fields]


def test_wrong_code_shows_an_error_and_keeps_what_was_typed(browser, device_flow):
    page = _enter(browser, '<b>NOPE</b>')
    assert page.status_code == 200 and "didn't work" in error_text(page.text)
    assert "<b>" not in page.text and forms(page.text)[0].fields["otc"] == "<b>NOPE</b>"


def test_code_in_the_link_prefills_the_form(browser, device_flow):
    page = browser.get(DEVICELOGIN, otc=device_flow["user_code"])
    assert forms(page.text)[0].fields["otc"] == device_flow["user_code"]


def test_decline_consent_then_poll_gets_authorization_declined(browser, cli_app, device_flow):
    page = _enter(browser, device_flow["user_code"])
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    page = browser.submit(page, "decline")
    assert page.status_code == 200 and "cancelled" in text(page.text).lower()
    assert _poll_once(cli_app, device_flow)["error"] == "authorization_declined"


def test_cancel_on_the_sign_in_page_declines(browser, cli_app, device_flow):
    page = browser.submit(_enter(browser, device_flow["user_code"]), "cancel")
    assert "cancelled" in text(page.text).lower()
    assert _poll_once(cli_app, device_flow)["error"] == "authorization_declined"


def test_expired_code(browser, cli_app, device_flow, entra_emulator):
    entra_emulator.clock.advance(device_flow["expires_in"] + 1)
    page = _enter(browser, device_flow["user_code"])
    assert "expired" in error_text(page.text)
    assert _poll_once(cli_app, device_flow)["error"] == "expired_token"


def test_code_expiring_while_signing_in(browser, cli_app, device_flow, entra_emulator):
    page = _enter(browser, device_flow["user_code"])
    entra_emulator.clock.advance(device_flow["expires_in"] + 1)
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    page = browser.submit(page, "consent")
    assert page.status_code == 400 and "expired" in error_text(page.text)


def test_signed_in_browser_picks_the_account(browser, cli_app, device_flow):
    page = browser.submit(_enter(browser, device_flow["user_code"]), "signin",
                          username=ADELE, password="Passw0rd!")
    browser.submit(page, "consent")
    _poll_once(cli_app, device_flow)

    second = cli_app.initiate_device_flow(scopes=["User.Read"])
    page = _enter(browser, second["user_code"])
    assert form_for(page.text, "pick").fields["sid"]          # "signed in" tile
    page = browser.submit(page, "pick")                        # consented before: no consent page
    assert "You're signed in" in text(page.text)
    assert _poll_once(cli_app, second)["id_token_claims"]["preferred_username"] == ADELE


def test_a_code_is_approved_only_once(browser, cli_app, device_flow):
    page = _enter(browser, device_flow["user_code"])
    page2 = _enter(browser, device_flow["user_code"])            # a second tab, same code
    done = browser.submit(browser.submit(page, "signin", username=ADELE, password="Passw0rd!"),
                          "consent")
    assert "You're signed in" in text(done.text)
    late = browser.submit(page2, "signin", username="alex@contoso.onmicrosoft.com",
                          password="Passw0rd!")
    late = browser.submit(late, "consent") if 'id="permissions"' in late.text else late
    assert "You're signed in" not in text(late.text)
    assert _poll_once(cli_app, device_flow)["id_token_claims"]["preferred_username"] == ADELE
