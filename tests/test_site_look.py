"""Fits the site: every graph_auth page extends GRAPH_AUTH["BASE_TEMPLATE"], the button is a
template styled by a static stylesheet (no inline styles), and every string is translated."""
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

import graph_auth
from graph_auth.adapter import DefaultAdapter
from graph_auth.checks import check_site_integration
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.exceptions import ClaimsRejected
from graph_auth.failures import FAILURES

pytestmark = pytest.mark.django_db
ADELE, FABRICE = "adele@contoso.onmicrosoft.com", "fabrice@fabrikam.onmicrosoft.com"
PACKAGE = Path(graph_auth.__file__).parent
TEMPLATES = sorted((PACKAGE / "templates" / "graph_auth").glob("*.html"))
SITE_TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [Path(__file__).parent / "templates"]}]
SITE_BASE = 'id="example-corp-base"'
FRENCH = [*settings.MIDDLEWARE[:2], "django.middleware.locale.LocaleMiddleware", *settings.MIDDLEWARE[2:]]


class RefuseFabrikam(DefaultAdapter):
    def pre_login(self, request, claims):
        if claims["tid"] != CONTOSO_ID:
            raise ClaimsRejected("only Contoso")


def site(**graph_auth_settings):
    """Settings of a site whose base template is its own (tests/templates/site/base.html)."""
    return override_settings(TEMPLATES=SITE_TEMPLATES, GRAPH_AUTH={
        "EMULATOR": True, "BASE_TEMPLATE": "site/base.html", **graph_auth_settings})


def state_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["state"][0]


def fail(reason, client, emulator, sign_in):
    """Drive a real sign-in to the failure page for ``reason``; return the response."""
    if reason == "expired_flow":
        return client.get("/auth/callback", {"state": "nope", "code": "x"})
    if reason == "declined":
        return sign_in(client, ADELE, consent=False)
    if reason == "identity_error":
        state = state_of(client.get("/auth/login/")["Location"])
        return client.get("/auth/callback", {"state": state, "error": "server_error", "error_description": "x"})
    if reason == "token_error":
        result = emulator.sign_in(client.get("/auth/login/")["Location"], ADELE)
        emulator.clock.advance(emulator.settings.code_lifetime + 1)
        return client.get("/auth/callback", result)
    if reason == "invalid_id_token":
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ALLOWED_TENANTS": [CONTOSO_ID]}):
            return sign_in(client, FABRICE)
    if reason == "rejected":
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ADAPTER": f"{__name__}.RefuseFabrikam"}):
            return sign_in(client, FABRICE)
    if reason == "no_user":
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "CREATE_USERS": False}):
            return sign_in(client, ADELE)
    if reason == "unavailable":
        emulator.fail_next("openid-configuration", 503)
        return client.get("/auth/login/")
    if reason == "not_configured":
        with override_settings(GRAPH_AUTH={"BASE_TEMPLATE": "site/base.html"}):     # no client id, no emulator
            return client.get("/auth/login/")
    raise AssertionError(reason)


def assert_in_site_look(response, *content):
    body = response.content.decode()
    assert SITE_BASE in body and "graph-auth-standalone" not in body
    for text in content:
        assert text in body
    return body


# -- one base template for every page ---------------------------------------------------------
@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_every_failure_page_extends_the_sites_base(reason, entra_emulator, entra_sign_in):
    with site():
        response = fail(reason, Client(), entra_emulator, entra_sign_in)
    status, title, message = FAILURES[reason]
    assert response.status_code == status
    body = assert_in_site_look(response, f'data-reason="{reason}"', str(message))
    assert f"<title>{title} | Example Corp</title>" in body          # the title block


def test_sign_out_pages_extend_the_sites_base(client, entra_emulator, entra_sign_in):
    with site():
        assert_in_site_look(client.get("/auth/logout/"), 'id="graph-auth-sign-out"', "<title>Sign out |")
        entra_sign_in(client, ADELE)
        assert_in_site_look(client.get("/auth/logout/everywhere/"), 'id="graph-auth-sign-out-everywhere"',
                            "<title>Sign out everywhere |")


@pytest.mark.urls("tests.error_urls")              # views that leave Graph's failures to graph_auth
@pytest.mark.parametrize("status, fault, page", [
    (503, {"status": 503, "headers": {"Retry-After": "7"}}, 'data-code="graph_throttled"'),
    (403, {"status": 403}, 'id="graph-auth-home"'),
    (502, {"status": 400}, 'data-code="graph_error"'),
])
def test_graph_failure_pages_extend_the_sites_base(client, entra_emulator, entra_sign_in, status, fault, page):
    with site(GRAPH_MAX_RETRIES=0):
        entra_sign_in(client, ADELE)
        entra_emulator.fail_next("graph", times=None, **fault)
        response = client.get("/profile/")
    assert response.status_code == status
    assert_in_site_look(response, page)


def test_the_login_button_in_a_page_of_the_site():
    with site():
        html = render_to_string("site/with_button.html", request=RequestFactory().get("/"))
    assert SITE_BASE in html and "Members only." in html
    assert 'class="graph-auth-button"' in html and 'href="/auth/login/?next=%2Freports%2F"' in html
    assert "Sign in with Microsoft" in html


def test_the_default_base_is_standalone_with_graph_auths_stylesheet(client):
    body = client.get("/auth/logout/").content.decode()
    assert 'class="graph-auth-standalone"' in body and "/static/graph_auth/graph_auth.css" in body


def test_no_inline_styles_in_graph_auths_templates():
    assert TEMPLATES
    for template in TEMPLATES:
        text = template.read_text()
        assert not re.search(r"\sstyle\s*=|<style", text, re.IGNORECASE), template.name
    stylesheet = finders.find("graph_auth/graph_auth.css")
    assert stylesheet and ".graph-auth-button" in Path(stylesheet).read_text()


def test_a_base_template_that_does_not_exist(client):
    assert check_site_integration() == []
    with site():
        assert check_site_integration() == []
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "BASE_TEMPLATE": "nowhere/base.html"}):
        assert [e.id for e in check_site_integration()] == ["graph_auth.E041"]
        response = Client(raise_request_exception=False).get("/auth/logout/")
    # A server runs no checks: the page says sign-in is not available, in graph_auth's own look.
    body = response.content.decode()
    assert response.status_code == 503 and 'data-reason="not_configured"' in body and "graph-auth-standalone" in body


# -- translations ----------------------------------------------------------------------------
def test_every_template_string_goes_through_translation():
    """Left once the translatable parts, tags and variables are taken out: no words."""
    for template in TEMPLATES:
        text = template.read_text()
        text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "", text, flags=re.DOTALL)
        text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.DOTALL)   # for developers
        text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}|<[^>]*>", "", text, flags=re.DOTALL)
        assert not re.search(r"[A-Za-z]{2,}", text), (template.name, text.strip())


def test_the_french_catalogue_is_compiled_and_complete():
    catalogue = PACKAGE / "locale" / "fr" / "LC_MESSAGES"
    assert (catalogue / "django.mo").exists()
    po = (catalogue / "django.po").read_text(encoding="utf-8")
    found = re.findall(r'^msgid "(.*?)"\n(?:msgid_plural "(.*?)"\n)?msgstr', po, re.M | re.S)

    def unquote(text):
        return re.sub(r'"\n"', "", text).replace('\\"', '"')
    entries = [(unquote(m), unquote(p)) for m, p in found if m]
    assert len(entries) > 50
    with translation.override("fr"):
        untranslated = [m for m, plural in entries if m != "session" and (
            translation.ngettext(m, plural, 2) == plural if plural else translation.gettext(m) == m)]
    assert untranslated == []                    # a stale .mo misses the newest strings


@override_settings(MIDDLEWARE=FRENCH)
def test_a_french_browser_gets_french_pages(entra_emulator, entra_sign_in):
    client = Client(headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    logout = client.get("/auth/logout/").content.decode()
    assert '<html lang="fr">' in logout and "Se déconnecter ?" in logout and "Sign out" not in logout
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "CREATE_USERS": False}):
        failed = entra_sign_in(client, ADELE)
    body = failed.content.decode()
    assert failed.status_code == 403 and "Accès refusé" in body and "Réessayer" in body
    assert "Access denied" not in body
    home = client.get("/").content.decode()                 # the button tag in a page of the demo
    assert "Se connecter avec Microsoft" in home


@override_settings(MIDDLEWARE=FRENCH)
def test_an_english_browser_still_gets_english(client):
    body = client.get("/auth/logout/", headers={"accept-language": "en"}).content.decode()
    assert "Sign out?" in body


def test_command_output_is_translated_too(entra_emulator):
    with translation.override("fr"), pytest.raises(CommandError, match="Aucun utilisateur ne correspond"):
        call_command("graph_auth_graph", "get", "/me", "--user", "nobody")
