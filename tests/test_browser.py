"""The sign-in journey in a real headless Chromium (Debian's chromium, driven by Playwright)."""
import os
import shutil

import pytest

from graph_auth.emulator.default_directory import WEB_APP_ID

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but there is no Chromium at {CHROMIUM} (.ci/run installs it)")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the live server's database work
    # happens in its own thread, so Django's async-safety guard does not apply here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_sign_in_see_profile_and_sign_out(page, live_server, entra_emulator):
    page.goto(f"{live_server.url}/")
    page.click("#graph-auth-login")

    # The emulator's sign-in page (served by the same Django process under /_emulator/).
    page.wait_for_selector("#signin")
    assert "/_emulator/" in page.url
    page.fill("#username", "adele@contoso.onmicrosoft.com")
    page.fill("#password", "wrong")
    page.click("#submit")
    assert "incorrect" in page.inner_text("#error")
    page.fill("#password", "Passw0rd!")
    page.click("#submit")

    # First sign-in to this app: the consent page lists what the demo asks for.
    page.wait_for_selector("#permissions")
    assert "User.Read" in page.inner_text("#permissions")
    page.click("#accept")

    # Back on the demo: the profile comes from Graph.
    page.wait_for_selector("#display-name")
    assert page.url == f"{live_server.url}/profile/"
    assert page.inner_text("#display-name") == "Adele Vance"
    assert page.inner_text("#job-title") == "Product Manager"
    page.wait_for_function("document.querySelector('img.avatar').complete")     # loads after the page
    assert page.evaluate("document.querySelector('img.avatar').naturalWidth") > 0    # the photo

    page.click("#sign-out")
    page.wait_for_load_state()
    assert "You signed out" in page.content() or page.url.rstrip("/") == live_server.url
    # Signed out of the site too: the profile asks for sign-in again.
    page.goto(f"{live_server.url}/profile/")
    assert "/_emulator/" in page.url or "/auth/login" in page.url


def test_single_page_app_calls_the_api_which_calls_graph_on_behalf_of_the_user(page, live_server, entra_emulator):
    page.goto(f"{live_server.url}/spa/")
    page.click("#spa-sign-in")
    page.wait_for_selector("#signin")                       # the emulator's sign-in page
    page.fill("#username", "adele@contoso.onmicrosoft.com")
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_selector("#permissions")
    assert f"api://{WEB_APP_ID}/access_as_user" in page.inner_text("#permissions")
    page.click("#accept")
    page.wait_for_function("document.getElementById('spa-status').textContent.startsWith('Signed in')")
    assert "#" not in page.url and "code=" not in page.url   # the code does not linger in the URL
    page.click("#spa-call-api")
    page.wait_for_function("document.getElementById('spa-status').textContent.startsWith('API answered')")
    assert page.inner_text("#spa-status") == "API answered: Adele Vance"
    redemption = entra_emulator.requests("token", grant_type="authorization_code")[-1]
    assert redemption.headers.get("origin") == live_server.url          # a cross-origin-style redemption
    assert "client_secret" not in redemption.form and "code_verifier" in redemption.form
    assert entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")


def test_a_guest_signs_in_to_the_inviting_tenant_and_stays_signed_in(page, live_server, entra_emulator):
    """A B2B guest (home: Fabrikam) on a site whose authority is Contoso: the ID token names the
    guest object in Contoso, msal files the tokens under the Fabrikam home account, and graph_auth
    finds them (a site that rebuilt the key from the ID token would loop through sign-in)."""
    from django.test import override_settings

    from graph_auth.emulator.default_directory import CONTOSO_ID, GUEST_HOME_UPN
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": CONTOSO_ID, "SCOPES": ["User.Read"]}):
        page.goto(f"{live_server.url}/profile/")                # login_required: off to sign in
        page.wait_for_selector("#signin")
        page.fill("#username", GUEST_HOME_UPN)                  # the guest's own (home) credentials
        page.fill("#password", "Passw0rd!")
        page.click("#submit")
        page.wait_for_selector("#permissions")
        page.click("#accept")
        page.wait_for_selector("#display-name")
        assert page.url == f"{live_server.url}/profile/"
        assert page.inner_text("#display-name") == "Fabrice Martin"
        assert "#EXT#" in page.content()                        # Graph's /me: the guest object in Contoso
        entra_emulator.clear_log()
        page.goto(f"{live_server.url}/profile/")                # tokens found again: no new sign-in
        page.wait_for_selector("#display-name")
        assert page.url == f"{live_server.url}/profile/" and not entra_emulator.requests("authorize")
