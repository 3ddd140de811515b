"""The demo site: home page on the emulator and on a real tenant's settings, and its Graph pages."""
import json

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings

from graph_auth import breaker

ADELE = "adele@contoso.onmicrosoft.com"


def test_home_on_the_emulator(client, entra_emulator):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="emulator-note"' in body and ADELE in body
    assert "Isaiah Langer" not in body                    # disabled accounts are not offered
    assert 'id="graph-auth-login"' in body and "/auth/login/?next=%2Fprofile%2F" in body


def test_home_with_a_real_app_registration(client):
    with override_settings(GRAPH_AUTH={"CLIENT_ID": "id", "CLIENT_SECRET": "s", "TENANT_ID": "contoso.com"}):
        body = client.get("/").content.decode()
    assert "emulator-note" not in body and "contoso.com" in body


def test_login_button_tag_defaults_to_the_current_page():
    request = RequestFactory().get("/reports/?year=2026")
    html = Template("{% load graph_auth %}{% graph_auth_login_button label='Go' %}").render(
        Context({"request": request}))
    assert 'href="/auth/login/?next=%2Freports%2F%3Fyear%3D2026"' in html and "Go" in html
    url = Template("{% load graph_auth %}{% graph_auth_login_url next='/x/' %}").render(Context())
    assert url == "/auth/login/?next=%2Fx%2F"


@pytest.mark.django_db
def test_profile_photo_mail_and_people(client, entra_emulator, entra_sign_in):
    entra_sign_in(client, ADELE)
    profile = client.get("/profile/").content.decode()
    assert 'id="display-name">Adele Vance<' in profile and "Product Manager" in profile
    photo = client.get("/profile/photo")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"

    seen, url = 0, "/mail/"
    while url:                                    # page through all 27 messages
        page = client.get(url)
        body = page.content.decode()
        seen += body.count('class="message')
        url = None
        if 'id="next"' in body:
            url = "/mail/" + body.split('id="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert seen == 27

    people = client.get("/people/").content.decode()
    assert people.count('class="person"') == 9 and "Fabrikam staff" not in people   # Contoso's users


@pytest.mark.django_db
def test_missing_photo_is_a_404(client, entra_emulator, entra_sign_in):
    entra_sign_in(client, "alex@contoso.onmicrosoft.com")
    assert client.get("/profile/photo").status_code == 404


@pytest.mark.django_db
def test_next_link_must_point_at_graph(client, entra_emulator, entra_sign_in):
    entra_sign_in(client, ADELE)
    response = client.get("/people/", {"next": "https://evil.example/steal"})
    assert response.status_code == 400
    assert entra_emulator.requests("graph") == []


@pytest.mark.django_db
def test_staff_page_lists_users_with_the_apps_own_permission(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "STAFF_ROLES": ["Admin"]}):
        entra_sign_in(client, ADELE)                    # Adele has the app role Admin: staff
        page = client.get("/staff/users/").content.decode()
        other = Client()
        entra_sign_in(other, "alex@contoso.onmicrosoft.com")
        refused = other.get("/staff/users/")
    assert page.count('class="person"') == 9 and 'id="staff-link"' in page
    (grant,) = entra_emulator.requests("token", grant_type="client_credentials")
    assert grant.path.startswith(f"/{entra_emulator.user(ADELE).tenant_id}/")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]


def test_spa_page_is_configured_for_the_emulator(client, entra_emulator):
    from graph_auth.emulator.default_directory import SPA_APP_ID, WEB_APP_ID
    body = client.get("/spa/").content.decode()
    config = json.loads(body.split('id="spa-config" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert config == {"authorize": "/_emulator/organizations/oauth2/v2.0/authorize",
                      "token": "/_emulator/organizations/oauth2/v2.0/token", "clientId": SPA_APP_ID,
                      "scope": f"api://{WEB_APP_ID}/access_as_user", "api": "/api/me"}


@pytest.mark.django_db
@pytest.mark.parametrize("page, path", [("/profile/", "/v1.0/me"), ("/mail/", "/v1.0/me/messages"),
                                        ("/people/", "/v1.0/users")])
def test_the_demo_pages_say_when_microsoft_is_busy_or_down(client, entra_emulator, entra_sign_in, page, path):
    entra_sign_in(client, ADELE)
    entra_emulator.fail_next(f"graph:{path}", 503, headers={"Retry-After": "7"}, times=None)
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "GRAPH_MAX_RETRIES": 0}):
        busy = client.get(page)
    entra_emulator.clear_faults()
    breaker.forget()            # else Adele's next call fails at once: the Retry-After recorded (issue 9)
    entra_emulator.fail_next(f"graph:{path}", delay=2)
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "TIMEOUT": 0.1}):
        slow = client.get(page)
    for response in (busy, slow):
        body = response.content.decode()
        assert response.status_code == 503 and 'id="graph-outage"' in body and "graph_auth demo" in body
    assert busy["Retry-After"] == "7" and "busy" in busy.content.decode()
    assert "too long" in slow.content.decode()


@pytest.mark.django_db
def test_the_demo_does_not_hide_other_graph_failures(client, entra_emulator, entra_sign_in):
    """A 400 is a bug in the page (or a 403 a permission): graph_auth's page says so, and its log."""
    entra_sign_in(client, ADELE)
    entra_emulator.fail_next("graph:/v1.0/me", 400)
    response = client.get("/profile/")
    assert response.status_code == 502 and "graph-outage" not in response.content.decode()
    assert "graph_auth/graph_error.html" in [t.name for t in response.templates]
