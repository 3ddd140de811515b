"""Sign out everywhere (user and admin), Entra's front-channel logout, and the session registry."""
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from graph_auth import session as keys
from graph_auth.emulator.default_directory import CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID
from graph_auth.models import AppTokenCache, MicrosoftAccount, TokenCache, UserSession

from .api_support import spa_token
from .emulator.browsing import DjangoBrowser, parse

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"
LEE = "lee@contoso.onmicrosoft.com"


def signed_in(entra_sign_in, user=ADELE):
    client = Client()
    assert entra_sign_in(client, user).status_code == 302
    return client


def is_signed_in(client) -> bool:
    return client.get("/profile/").status_code == 200


def test_each_sign_in_is_recorded_with_its_entra_session(entra_emulator, entra_sign_in):
    laptop, phone = signed_in(entra_sign_in), signed_in(entra_sign_in)
    records = UserSession.objects.all()
    assert {r.session_key for r in records} == {laptop.session.session_key, phone.session.session_key}
    assert {r.sid for r in records} == {laptop.session[keys.SID_KEY], phone.session[keys.SID_KEY]}
    laptop.post("/auth/logout/")
    assert [r.session_key for r in UserSession.objects.all()] == [phone.session.session_key]


def test_sign_out_everywhere(entra_emulator, entra_sign_in):
    laptop, phone, other = signed_in(entra_sign_in), signed_in(entra_sign_in), signed_in(entra_sign_in, LEE)
    assert laptop.get("/auth/logout/everywhere/").status_code == 200          # asks first
    response = laptop.post("/auth/logout/everywhere/")
    assert response.status_code == 302 and "/oauth2/v2.0/logout?" in response["Location"]
    assert not is_signed_in(laptop) and not is_signed_in(phone) and is_signed_in(other)
    adele = get_user_model().objects.get(microsoft_accounts__username=ADELE)
    assert not TokenCache.objects.filter(user=adele).exists()
    assert not UserSession.objects.filter(user=adele).exists()
    # Revoked at Entra too, with the app's own permission: Adele's refresh tokens are dead.
    path = f"/v1.0/users/{entra_emulator.user(ADELE).id}/revokeSignInSessions"
    (revoke,) = entra_emulator.requests("graph", path=path)
    assert revoke.status == 200
    assert entra_emulator.user(ADELE).sessions_valid_from > 0


def test_sign_out_everywhere_without_the_graph_permission(entra_emulator, entra_directory, entra_sign_in,
                                                          caplog):
    entra_directory.apps[WEB_APP_ID].application_permissions = {"graph": ["User.Read.All"]}
    laptop, phone = signed_in(entra_sign_in), signed_in(entra_sign_in)
    laptop.post("/auth/logout/everywhere/")
    assert not is_signed_in(phone)                                # still ended here
    assert entra_emulator.user(ADELE).sessions_valid_from == 0   # but not at Entra
    assert "revokeSignInSessions failed" in caplog.text


def test_sign_out_everywhere_needs_a_signed_in_user(client):
    response = client.post("/auth/logout/everywhere/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")


def test_front_channel_logout_ends_only_that_entra_session(entra_emulator, entra_sign_in):
    laptop, phone = signed_in(entra_sign_in), signed_in(entra_sign_in)
    sid = laptop.session[keys.SID_KEY]
    response = Client().get("/auth/logout/front-channel", {"sid": sid})
    assert response.status_code == 200 and "X-Frame-Options" not in response   # loads in an iframe
    assert not is_signed_in(laptop) and is_signed_in(phone)
    assert TokenCache.objects.exists()                            # the phone's session still needs them
    Client().get("/auth/logout/front-channel", {"sid": phone.session[keys.SID_KEY]})
    assert not is_signed_in(phone) and not TokenCache.objects.exists()


def test_unknown_or_missing_sid_ends_nothing(entra_emulator, entra_sign_in):
    laptop = signed_in(entra_sign_in)
    assert Client().get("/auth/logout/front-channel", {"sid": "nope"}).status_code == 200
    assert Client().get("/auth/logout/front-channel").status_code == 200
    assert is_signed_in(laptop)


def test_signing_out_at_entra_ends_the_site_session_through_the_front_channel(entra_emulator):
    """One browser signs in to the site through the emulator's pages, then signs out at Entra:
    the sign-out page loads the site's front-channel URL with the session's sid."""
    browser = DjangoBrowser(Client())
    page = browser.get(browser.get("/auth/login/")["Location"])
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    page = browser.submit(page, "consent")
    assert browser.get(page["Location"]).status_code == 302            # the site's callback
    assert is_signed_in(browser.client)
    sid = browser.client.session[keys.SID_KEY]

    signed_out = browser.get("/_emulator/organizations/oauth2/v2.0/logout")
    frames = parse(signed_out.content.decode()).iframes
    assert frames == [f"http://localhost:8000/auth/logout/front-channel?sid={sid}"]
    Client().get(urlsplit(frames[0]).path, {"sid": sid})                # what the iframe loads
    assert not is_signed_in(browser.client)


def test_admin_action_signs_selected_users_out_everywhere(entra_emulator, entra_sign_in, admin_client):
    adele, lee = signed_in(entra_sign_in), signed_in(entra_sign_in, LEE)
    account = MicrosoftAccount.objects.get(username=ADELE)
    response = admin_client.post("/admin/graph_auth/microsoftaccount/",
                                 {"action": "sign_out_everywhere", "_selected_action": [account.pk]},
                                 follow=True)
    assert "Signed 1 user(s) out everywhere" in response.content.decode()
    assert not is_signed_in(adele) and is_signed_in(lee)
    assert entra_emulator.user(ADELE).sessions_valid_from > 0


@pytest.mark.parametrize("iss", [f"https://login.microsoftonline.com/{FABRIKAM_ID}/v2.0",
                                 f"https://sts.windows.net/{CONTOSO_ID}/", "https://evil.example.com/", ""])
def test_front_channel_logout_with_another_issuer_ends_nothing(entra_emulator, entra_sign_in, iss):
    """Entra sends only sid; when an iss comes too (OIDC Front-Channel Logout 1.0), it must be
    the issuer of the signed-in account's tenant."""
    laptop = signed_in(entra_sign_in)
    sid = laptop.session[keys.SID_KEY]
    assert Client().get("/auth/logout/front-channel", {"sid": sid, "iss": iss}).status_code == 200
    assert is_signed_in(laptop)
    Client().get("/auth/logout/front-channel",
                 {"sid": sid, "iss": f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0"})
    assert not is_signed_in(laptop)


def test_sign_out_everywhere_deletes_the_users_on_behalf_of_tokens(entra_emulator, entra_session, entra_sign_in):
    laptop = signed_in(entra_sign_in)
    for user in (ADELE, LEE):                     # each calls the site's API from its single-page app
        token = spa_token(entra_emulator, entra_session, user)
        assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    lee = f"obo:{WEB_APP_ID}:{CONTOSO_ID}:{entra_emulator.user(LEE).id}"
    assert AppTokenCache.objects.filter(key__startswith="obo:").count() == 2
    laptop.post("/auth/logout/everywhere/")
    assert list(AppTokenCache.objects.filter(key__startswith="obo:").values_list("key", flat=True)) == [lee]
