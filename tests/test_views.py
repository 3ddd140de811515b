"""Sign-in views against the emulator: login, callback (query and form_post), logout, failures."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from graph_auth import crypto
from graph_auth import session as keys
from graph_auth.backends import GraphAuthBackend
from graph_auth.emulator.default_directory import CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID, WEB_APP_SECRET
from graph_auth.models import MicrosoftAccount, TokenCache

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"
FABRICE = "fabrice@fabrikam.onmicrosoft.com"


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client, **params):
    response = client.get("/auth/login/", params)
    assert response.status_code == 302
    return response["Location"]


def failure_reason(response) -> str:
    body = response.content.decode()
    assert 'id="graph-auth-retry"' in body          # every failure page offers a way to try again
    return body.split('data-reason="', 1)[1].split('"', 1)[0]


def test_login_redirects_to_the_authorize_endpoint_with_pkce_state_and_nonce(client, entra_emulator):
    location = start(client, next="/mail/")
    assert location.startswith("/_emulator/organizations/oauth2/v2.0/authorize?")
    params = query(location)
    assert params["client_id"] == WEB_APP_ID
    assert params["redirect_uri"] == "http://testserver/auth/callback"
    assert set(params["scope"].split()) >= {"User.Read", "Mail.Read", "openid", "offline_access"}
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    flows = client.session[keys.FLOWS_KEY]
    assert flows[params["state"]]["next"] == "/mail/"


def test_sign_in_round_trip(client, entra_emulator, entra_sign_in):
    response = entra_sign_in(client, ADELE, next="/mail/")
    assert response.status_code == 302 and response["Location"] == "/mail/"
    user = get_user_model().objects.get()
    assert client.session["_auth_user_id"] == str(user.pk)
    account = MicrosoftAccount.objects.get(user=user)
    adele = entra_emulator.user(ADELE)
    assert (account.tenant_id, account.object_id, account.username) == (CONTOSO_ID, adele.id, ADELE)
    assert (user.first_name, user.last_name, user.username) == ("Adele", "Vance", adele.id)
    row = TokenCache.objects.get(user=user)
    assert row.has_refresh_token and "User.Read" in row.scopes
    assert "AccessToken" not in row.data and "AccessToken" in crypto.decrypt(row.data, row.context)   # encrypted
    assert client.session[keys.TOKEN_KEY]["account"] == f"{adele.id}.{CONTOSO_ID}"
    assert client.get("/profile/").status_code == 200


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_only_safe_next_urls(client, entra_emulator, entra_sign_in, unsafe):
    response = entra_sign_in(client, ADELE, next=unsafe)
    assert response["Location"] == "/profile/"            # LOGIN_REDIRECT_URL


def test_second_identity_with_the_same_email_is_another_user(client, entra_emulator, entra_sign_in,
                                                            entra_directory):
    entra_directory.add_user(tenant=FABRIKAM_ID, user_principal_name="adele@fabrikam.onmicrosoft.com",
                             display_name="Adele Impostor", mail=ADELE)
    entra_sign_in(client, ADELE)
    entra_sign_in(Client(), "adele@fabrikam.onmicrosoft.com")
    assert get_user_model().objects.count() == 2
    assert MicrosoftAccount.objects.filter(tenant_id=FABRIKAM_ID).get().user.last_name == "Impostor"


def test_unknown_state_shows_a_helpful_page(client, entra_emulator):
    response = client.get("/auth/callback", {"state": "nope", "code": "x"})
    assert response.status_code == 400 and failure_reason(response) == "expired_flow"


def test_replayed_callback_is_refused(client, entra_emulator):
    location = start(client)
    result = entra_emulator.sign_in(location, ADELE)
    assert client.get("/auth/callback", result).status_code == 302
    again = client.get("/auth/callback", result)
    assert again.status_code == 400 and failure_reason(again) == "expired_flow"


def test_declined_consent(client, entra_emulator):
    result = entra_emulator.sign_in(start(client, next="/mail/"), ADELE, consent=False)
    response = client.get("/auth/callback", result)
    assert response.status_code == 403 and failure_reason(response) == "declined"
    assert "next=%2Fmail%2F" in response.content.decode()          # try again keeps the target
    assert "_auth_user_id" not in client.session


def test_expired_code_is_an_invalid_grant_page(client, entra_emulator, caplog):
    result = entra_emulator.sign_in(start(client), ADELE)
    entra_emulator.clock.advance(entra_emulator.settings.code_lifetime + 1)
    response = client.get("/auth/callback", result)
    assert response.status_code == 400 and failure_reason(response) == "token_error"
    assert "invalid_grant" in caplog.text and result["code"] not in caplog.text


def test_identity_platform_unreachable_at_redemption(client, entra_emulator):
    result = entra_emulator.sign_in(start(client), ADELE)
    entra_emulator.fail_next("token", delay=60)             # longer than GRAPH_AUTH TIMEOUT
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TIMEOUT": 0.2}):
        response = client.get("/auth/callback", result)
    assert response.status_code == 503 and failure_reason(response) == "unavailable"


def test_identity_platform_down_at_login(client, entra_emulator):
    entra_emulator.fail_next("openid-configuration", 503)
    response = client.get("/auth/login/")
    assert response.status_code == 503 and failure_reason(response) == "unavailable"


def test_form_post_callback_needs_no_csrf_token(entra_emulator):
    client = Client(enforce_csrf_checks=True)
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "RESPONSE_MODE": "form_post"}):
        location = start(client)
        assert query(location)["response_mode"] == "form_post"
        result = entra_emulator.sign_in(location, ADELE)
        response = client.post("/auth/callback", result)
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_tenant_not_allowed(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "ALLOWED_TENANTS": [CONTOSO_ID]}):
        response = entra_sign_in(client, FABRICE)
        assert response.status_code == 403 and failure_reason(response) == "invalid_id_token"
        assert entra_sign_in(Client(), ADELE).status_code == 302


def test_no_user_creation(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CREATE_USERS": False}):
        response = entra_sign_in(client, ADELE)
    assert response.status_code == 403 and failure_reason(response) == "no_user"


def test_logout_requires_post_with_csrf(entra_emulator, entra_sign_in):
    client = Client(enforce_csrf_checks=True)
    entra_sign_in(client, ADELE)
    page = client.get("/auth/logout/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    assert client.post("/auth/logout/").status_code == 403
    assert "_auth_user_id" in client.session


def test_logout_ends_everything_and_signs_out_at_entra(client, entra_emulator, entra_sign_in):
    entra_sign_in(client, ADELE)
    hint = client.session[keys.LOGIN_HINT_KEY]
    response = client.post("/auth/logout/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/_emulator/organizations/oauth2/v2.0/logout?")
    assert query(location) == {"post_logout_redirect_uri": "http://testserver/", "logout_hint": hint}
    assert "_auth_user_id" not in client.session and not TokenCache.objects.exists()
    # The emulator's end-session page accepts it and comes back to the site.
    back = client.get(location)
    assert back.status_code == 302 and back["Location"] == "http://testserver/"


class ContosoOnlyBackend(GraphAuthBackend):
    """A backend subclass that refuses every tenant but Contoso (referenced by dotted path)."""

    def verify_claims(self, claims):
        return super().verify_claims(claims) and claims["tid"] == CONTOSO_ID


def test_identity_refused_by_a_backend_hook_gets_the_rejected_page(client, entra_emulator, entra_sign_in):
    with override_settings(AUTHENTICATION_BACKENDS=["tests.test_views.ContosoOnlyBackend"]):
        response = entra_sign_in(client, FABRICE)
    assert response.status_code == 403 and failure_reason(response) == "rejected"
    assert "_auth_user_id" not in client.session


def test_a_flow_older_than_its_lifetime_is_refused(client, entra_emulator):
    location = start(client)
    session = client.session
    flows = session[keys.FLOWS_KEY]
    for entry in flows.values():
        entry["at"] -= keys.FLOW_LIFETIME + 1
    session[keys.FLOWS_KEY] = flows
    session.save()
    response = client.get("/auth/callback", entra_emulator.sign_in(location, ADELE))
    assert response.status_code == 400 and failure_reason(response) == "expired_flow"


def test_an_id_token_naming_our_tenant_with_another_tid_is_refused_at_sign_in(client, entra_emulator,
                                                                               entra_session):
    """A single-tenant site: the token response carries an ID token whose iss is Contoso's and
    whose tid is Fabrikam's (signed with the platform's key); no user is linked under Fabrikam."""
    import jwt

    from .id_token_support import forge

    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": CONTOSO_ID}):
        location = start(client)
        result = entra_emulator.sign_in(location, ADELE)
        flow = client.session[keys.FLOWS_KEY][result["state"]]["flow"]
        real = entra_session.post(f"https://login.microsoftonline.com/{CONTOSO_ID}/oauth2/v2.0/token", data={
            "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "authorization_code",
            "code": result["code"], "redirect_uri": flow["redirect_uri"], "code_verifier": flow["code_verifier"],
            "scope": " ".join(flow["scope"])}).json()
        claims = jwt.decode(real["id_token"], options={"verify_signature": False})
        assert claims["iss"] == f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0"
        entra_emulator.fail_next("token", 200, json={**real, "id_token": forge(entra_emulator, claims,
                                                                                tid=FABRIKAM_ID)})
        response = client.get("/auth/callback", result)
    assert response.status_code == 403 and failure_reason(response) == "invalid_id_token"
    assert not MicrosoftAccount.objects.exists() and "_auth_user_id" not in client.session
