"""Use the site that tests/test_readme.py built from the README, as a person would, in its own process.

Run with the site's directory as the working directory and ``DJANGO_SETTINGS_MODULE`` set:
``python -c "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(...)" readme_drive.py MODE``.
MODE ``emulator``: with no credentials in the environment, sign in through the emulator's pages at
the site's own mount and open the README's pages. MODE ``tenant``: with the three GRAPH_AUTH_*
variables, the site is set up for that tenant and the emulator is off (nothing reaches the network).
An AssertionError (exit status 1) says which step failed.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from html import unescape
from pathlib import Path

import django

ADELE = "adele@contoso.onmicrosoft.com"
SITE = "http://127.0.0.1:8000"          # runserver's address, which the README tells people to open


def _browsing():
    """The emulator tests' stdlib form parser, loaded by path (the repo's tests are not importable here)."""
    spec = importlib.util.spec_from_file_location(
        "readme_browsing", Path(__file__).with_name("emulator") / "browsing.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)     # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def _html(response) -> str:
    return response.content.decode()


def _expect(response, status: int, step: str):
    assert response.status_code == status, (
        f"{step}: {response.status_code} instead of {status}\n"
        f"{response.get('Location', '')}\n{_html(response)[:3000]}")
    return response


def _through_the_emulator(client, browsing, login_url: str, step: str):
    """Follow a sign-in from graph_auth's login view through the emulator's pages to the callback."""
    page = _expect(client.get(login_url), 302, f"{step}: the login view")
    assert page["Location"].startswith("/_emulator/"), \
        f"{step}: sign-in goes to {page['Location'][:80]}, not to the emulator mounted at /_emulator/"
    page = client.get(page["Location"])
    if page.status_code == 200 and 'value="signin"' in _html(page):
        page = browsing.DjangoBrowser(client).submit(page, "signin", username=ADELE, password="Passw0rd!")
    if page.status_code == 200 and 'id="permissions"' in _html(page):
        page = browsing.DjangoBrowser(client).submit(page, "consent")
    _expect(page, 302, f"{step}: the emulator's pages")
    assert page["Location"].startswith(f"{SITE}/auth/callback?code="), f"{step}: {page['Location'][:200]}"
    return client.get(page["Location"])


def drive_emulator() -> None:
    from django.contrib.staticfiles import finders
    from django.test import Client

    browsing = _browsing()
    client = Client(HTTP_HOST="127.0.0.1:8000")
    home = _html(_expect(client.get("/"), 200, "the home page"))
    assert 'href="/static/graph_auth/graph_auth.css"' in home and finders.find("graph_auth/graph_auth.css"), \
        f"the home page links no graph_auth stylesheet:\n{home}"
    button = re.search(r'<a [^>]*class="[^"]*graph-auth-button[^"]*"[^>]*href="([^"]+)"', home) or \
        re.search(r'<a [^>]*href="([^"]+)"[^>]*class="[^"]*graph-auth-button', home)
    assert button, f"no sign-in button on the home page:\n{home}"

    callback = _through_the_emulator(client, browsing, unescape(button.group(1)), "sign-in")
    _expect(callback, 302, "the callback")
    assert callback["Location"] == "/profile/", callback["Location"]
    profile = _html(_expect(client.get("/profile/"), 200, "the profile page (GET /me with User.Read)"))
    assert "Adele Vance" in profile and "Product Manager" in profile, profile

    consent = _expect(client.get("/mail/"), 302, "the mail page before consenting to Mail.Read")
    callback = _through_the_emulator(client, browsing, consent["Location"], "incremental consent")
    assert callback.get("Location") == "/mail/", _html(callback)[:2000]
    mail = _html(_expect(client.get("/mail/"), 200, "the mail page (Mail.Read)"))
    assert mail.count("<li>") == 27, mail

    home = _html(_expect(client.get("/"), 200, "the home page, signed in"))
    assert 'action="/auth/logout/"' in home, home
    form = browsing.forms(home)[0]
    logout = _expect(client.post(form.action, form.fields), 302, "sign-out")
    assert "/_emulator/" in logout["Location"] and "/logout" in logout["Location"], logout["Location"]
    _expect(client.get("/profile/"), 302, "the profile page after sign-out")


def drive_tenant() -> None:
    import os

    from django.test import Client

    from graph_auth.app_settings import app_settings
    assert not app_settings.emulator_enabled, "the emulator is on with a client id in the environment"
    configured = (app_settings.TENANT_ID, app_settings.client_id, app_settings.client_credential)
    assert configured == tuple(os.environ[f"GRAPH_AUTH_{name}"] for name in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"))
    client = Client(HTTP_HOST="127.0.0.1:8000")
    _expect(client.get("/_emulator/"), 404, "the emulator's pages with a client id")
    _expect(client.get("/"), 200, "the home page")


if __name__ == "__main__":
    django.setup()
    {"emulator": drive_emulator, "tenant": drive_tenant}[sys.argv[1]]()
    print("ok")
