"""Every kind of account that signs in to an Entra app, end to end through graph_auth: a B2B guest
(signed in to the inviting tenant; msal keys their tokens by their *home* account), a personal
Microsoft account (on ``common``), a member without a mailbox, and a member whose UPN changed.

Each journey runs the site's real views, the emulator's pages (through the site's mount) and msal.
"""
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

from graph_auth import session as keys
from graph_auth.emulator.default_directory import (
    CONSUMERS_ID,
    CONTOSO,
    CONTOSO_ID,
    FABRIKAM_ID,
    GUEST_HOME_UPN,
    GUEST_UPN,
    NO_EMAIL_UPN,
    PERSONAL_UPN,
)
from graph_auth.models import AppTokenCache, MicrosoftAccount, TokenCache, UserSession

from .api_support import call, spa_token
from .emulator.browsing import DjangoBrowser, text
from .test_commands import device_login, pending_code
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db,
              # the device-code tests play the waiting user without really sleeping between polls
              pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")]
ADELE = f"adele@{CONTOSO}"
GRAPH_SCOPES = ["User.Read"]


class Kind:
    """An account kind: who signs in, at which authority, and what Entra makes of them."""

    def __init__(self, upn: str, tenant: str, *, tid: str, principal: str, display_name: str) -> None:
        self.upn, self.tenant, self.tid, self.principal, self.display_name = (
            upn, tenant, tid, principal, display_name)

    def settings(self, **values):
        return override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": self.tenant,
                                             "SCOPES": GRAPH_SCOPES, "API_ALLOW_ANY_TENANT": True, **values})

    def home_account_id(self, emulator) -> str:
        person = emulator.directory.person_by_name(self.upn)
        return f"{person.id}.{person.tenant_id}"

    def object_id(self, emulator) -> str:
        return emulator.user(self.principal).id


KINDS = {
    # A line-of-business app whose authority is the inviting tenant, by GUID and by domain.
    "guest": Kind(GUEST_HOME_UPN, CONTOSO_ID, tid=CONTOSO_ID, principal=GUEST_UPN, display_name="Fabrice Martin"),
    "guest-by-domain": Kind(GUEST_HOME_UPN, CONTOSO, tid=CONTOSO_ID, principal=GUEST_UPN,
                            display_name="Fabrice Martin"),
    "personal": Kind(PERSONAL_UPN, "common", tid=CONSUMERS_ID, principal=PERSONAL_UPN, display_name="Sam Taylor"),
}


@pytest.fixture(params=list(KINDS))
def kind(request, entra_emulator):
    kind = KINDS[request.param]
    with kind.settings():
        yield kind


def browse_sign_in(client, upn: str, url: str = "/auth/login/", password: str = "Passw0rd!"):
    """Sign in as a browser does: the site's login view, the emulator's pages on the site's mount
    (one cookie jar for both), then the callback. Returns (callback response, pages seen)."""
    return browse_authorize(client, client.get(url)["Location"], upn, password)


def browse_authorize(client, authorize_url: str, upn: str, password: str = "Passw0rd!"):
    browser, seen = DjangoBrowser(client), []
    page = client.get(authorize_url)
    while page.status_code == 200:
        html = page.content.decode()
        if 'value="signin"' in html:
            seen.append("password")
            page = browser.submit(page, "signin", username=upn, password=password)
        elif 'id="permissions"' in html:
            seen.append("consent")
            page = browser.submit(page, "consent")
        else:
            raise AssertionError(text(html)[:500])
    assert page.status_code == 302, page
    return client.get(page["Location"]), seen


def account(upn_or_kind, emulator) -> MicrosoftAccount:
    return MicrosoftAccount.objects.get(object_id=emulator.user(upn_or_kind).id)


# -- sign-in and Graph ---------------------------------------------------------------------------
def test_sign_in_links_the_account_signed_in_to_and_keys_tokens_by_the_home_account(client, entra_emulator, kind):
    response, seen = browse_sign_in(client, kind.upn)
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert seen == ["password", "consent"]
    link = MicrosoftAccount.objects.get()
    assert (link.tenant_id, link.object_id) == (kind.tid, kind.object_id(entra_emulator))
    assert link.home_account_id == kind.home_account_id(entra_emulator)
    assert client.session[keys.TOKEN_KEY]["account"] == link.home_account_id
    if kind.principal == GUEST_UPN:                 # a guest: the two keys differ, as in Entra
        assert link.home_account_id.endswith(f".{FABRIKAM_ID}") and link.is_guest
    else:
        assert link.is_personal and not link.is_guest

    page = client.get("/profile/")                  # request.graph acts on the account signed in to
    assert page.status_code == 200 and kind.display_name in page.content.decode()
    me = entra_emulator.requests("graph", path="/v1.0/me")[-1]
    assert me.status == 200
    if kind.principal == GUEST_UPN:
        assert "#EXT#" in page.content.decode()


def test_a_guest_on_organizations_is_signed_in_to_their_home_tenant(client, entra_emulator):
    with KINDS["guest"].settings(TENANT_ID="organizations"):
        assert browse_sign_in(client, GUEST_HOME_UPN)[0].status_code == 302
        link = MicrosoftAccount.objects.get()
        fabrice = entra_emulator.directory.person_by_name(GUEST_HOME_UPN)
        assert (link.tenant_id, link.object_id) == (FABRIKAM_ID, fabrice.id)
        assert link.home_account_id == f"{fabrice.id}.{FABRIKAM_ID}" and not link.is_guest
        assert b"#EXT#" not in client.get("/profile/").content


def test_allowed_tenants_checks_the_tenant_signed_in_to(client, entra_emulator):
    with KINDS["guest"].settings(ALLOWED_TENANTS=[FABRIKAM_ID]):        # the guest's home: not enough
        assert browse_sign_in(client, GUEST_HOME_UPN)[0].status_code == 403
    with KINDS["guest"].settings(ALLOWED_TENANTS=[CONTOSO_ID]):
        assert browse_sign_in(Client(), GUEST_HOME_UPN)[0].status_code == 302


def test_personal_accounts_are_refused_by_entra_on_organizations(client, entra_emulator):
    with KINDS["personal"].settings(TENANT_ID="organizations"):
        page = client.get(client.get("/auth/login/")["Location"])
        page = DjangoBrowser(client).submit(page, "signin", username=PERSONAL_UPN, password="Passw0rd!")
        assert page.status_code == 200 and "AADSTS500200" in text(page.content.decode())
    assert not MicrosoftAccount.objects.exists()


# -- refresh, incremental consent -------------------------------------------------------------------
def test_refresh_keeps_the_user_signed_in(client, entra_emulator, kind):
    browse_sign_in(client, kind.upn)
    leave_only(240, client)                                          # due for refresh
    entra_emulator.clear_log()
    for _ in range(3):
        assert client.get("/profile/").status_code == 200            # never round through sign-in
    (refresh,) = entra_emulator.requests("token", grant_type="refresh_token")
    assert refresh.status == 200
    assert not entra_emulator.requests("authorize")


def test_incremental_consent_goes_straight_to_the_consent_page(client, entra_emulator, kind):
    browse_sign_in(client, kind.upn)
    response = client.get("/mail/")                                  # needs Mail.Read
    assert response.status_code == 302 and response["Location"] == "/auth/login/?next=%2Fmail%2F"
    login = client.get(response["Location"])
    hint = parse_qs(urlsplit(login["Location"]).query)["login_hint"][0]
    assert "@" not in hint and kind.upn not in hint                  # Entra's opaque hint, passed back
    callback, seen = browse_authorize(client, login["Location"], kind.upn)
    assert seen == ["consent"]                                       # SSO: no password page
    assert callback["Location"] == "/mail/"
    assert client.get("/mail/").status_code == 200
    assert "Mail.Read" in TokenCache.objects.get().scopes.split()


def test_signing_in_again_in_the_same_browser_needs_no_password(client, entra_emulator, kind):
    browse_sign_in(client, kind.upn)
    client.post("/auth/logout/")            # signs out of the site; Entra's session is the browser's
    client.cookies.pop("sessionid", None)
    assert browse_sign_in(client, kind.upn, url="/auth/login/?prompt=select_account")[0].status_code == 302


# -- sign-out -----------------------------------------------------------------------------------------
def test_sign_out(client, entra_emulator, kind):
    browse_sign_in(client, kind.upn)
    hint = client.session[keys.LOGIN_HINT_KEY]
    response = client.post("/auth/logout/")
    assert response.status_code == 302 and "/oauth2/v2.0/logout?" in response["Location"]
    assert parse_qs(urlsplit(response["Location"]).query)["logout_hint"] == [hint]
    assert not TokenCache.objects.exists() and not UserSession.objects.exists()
    assert client.get("/profile/").status_code == 302


def test_sign_out_everywhere_ends_this_sites_sessions_and_says_what_it_cannot(entra_emulator, kind):
    laptop, phone = Client(), Client()
    browse_sign_in(laptop, kind.upn)
    browse_sign_in(phone, kind.upn)
    page = laptop.get("/auth/logout/everywhere/").content.decode()
    assert 'id="graph-auth-not-revocable"' in page                   # says so before doing it
    assert laptop.post("/auth/logout/everywhere/").status_code == 302
    assert phone.get("/profile/").status_code == 302 and laptop.get("/profile/").status_code == 302
    assert not TokenCache.objects.exists() and not UserSession.objects.exists()
    assert not [r for r in entra_emulator.requests("graph") if r.path.endswith("/revokeSignInSessions")]


def test_sign_out_everywhere_of_a_member_still_revokes_at_entra(entra_emulator):
    member = Client()
    with KINDS["guest"].settings():
        browse_sign_in(member, ADELE)
        assert 'id="graph-auth-not-revocable"' not in member.get("/auth/logout/everywhere/").content.decode()
        member.post("/auth/logout/everywhere/")
    assert entra_emulator.user(ADELE).sessions_valid_from > 0


# -- device code, on-behalf-of ------------------------------------------------------------------------
def test_device_code_sign_in_then_graph_as_the_user(entra_emulator, kind):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), kind.upn)  # noqa: E731
    output, _ = device_login(entra_emulator, on_sleep=approve)
    assert f"Signed in as {kind.display_name}" in output
    link = MicrosoftAccount.objects.get()
    assert link.home_account_id == kind.home_account_id(entra_emulator) and link.tenant_id == kind.tid
    entra_emulator.settings.access_token_lifetime = 3599
    out = io.StringIO()
    call_command("graph_auth_graph", "get", "/me", "--user", link.user.get_username(), stdout=out)
    assert json.loads(out.getvalue())["displayName"] == kind.display_name


@pytest.mark.urls("tests.api_urls")
def test_a_protected_api_calls_graph_on_behalf_of_the_caller_and_reuses_the_tokens(
        client, entra_emulator, entra_session, kind):
    token = spa_token(entra_emulator, entra_session, kind.upn, tenant=kind.tenant)
    for _ in range(3):
        status, body, _ = call(client, "/api/me", token)
        assert status == 200 and body["displayName"] == kind.display_name
    grants = entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")
    assert len(grants) == 1                                          # the caller's tokens were reused
    assert AppTokenCache.objects.get().key.endswith(f":{kind.tid}:{kind.object_id(entra_emulator)}")


# -- members whose claims are not what apps assume --------------------------------------------------
def test_a_member_without_a_mailbox_has_no_email(client, entra_emulator):
    with KINDS["guest"].settings():
        assert browse_sign_in(client, NO_EMAIL_UPN)[0].status_code == 302
    user = get_user_model().objects.get()
    assert user.email == "" and (user.first_name, user.last_name) == ("Diego", "Siciliani")


def test_a_renamed_user_stays_the_same_user_and_their_names_follow(entra_emulator):
    with KINDS["guest"].settings():
        browse_sign_in(Client(), ADELE)
        entra_emulator.directory.change_upn(entra_emulator.user(ADELE), f"adele.vance@{CONTOSO}")
        assert browse_sign_in(Client(), f"adele.vance@{CONTOSO}")[0].status_code == 302
    link = MicrosoftAccount.objects.get()
    assert link.username == f"adele.vance@{CONTOSO}"
    assert get_user_model().objects.count() == 1
