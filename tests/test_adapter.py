"""The adapter (GRAPH_AUTH["ADAPTER"]): each hook through real sign-ins at the emulator, and the
backend's refusals reaching the callback as exceptions with their reason."""
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.test import Client, RequestFactory, override_settings

from graph_auth import authentication
from graph_auth.adapter import DefaultAdapter, get_adapter
from graph_auth.backends import GraphAuthBackend
from graph_auth.checks import check_site_integration
from graph_auth.emulator.default_directory import CONTOSO_ID, FABRIKAM_ID
from graph_auth.exceptions import ClaimsRejected
from graph_auth.models import MicrosoftAccount
from tests.builders import build_claims

pytestmark = pytest.mark.django_db
User = get_user_model()
ADELE, FABRICE = "adele@contoso.onmicrosoft.com", "fabrice@fabrikam.onmicrosoft.com"
calls = []                          # what the adapters below were asked, in order


@pytest.fixture(autouse=True)
def _forget_calls():
    calls.clear()


def with_adapter(adapter_class, **graph_auth):
    return override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ADAPTER": f"{__name__}.{adapter_class.__name__}",
                                         **graph_auth})


def signed_in_user(client):
    return User.objects.get(pk=client.session["_auth_user_id"]) if "_auth_user_id" in client.session else None


# -- is_open_for_signup ----------------------------------------------------------------------
class ContosoSignUpOnly(DefaultAdapter):
    def is_open_for_signup(self, request, claims):
        calls.append(("is_open_for_signup", request.path, claims["tid"]))
        return claims["tid"] == CONTOSO_ID


def test_sign_up_closed_to_an_identity(entra_emulator, entra_sign_in):
    existing = Client()
    entra_sign_in(existing, FABRICE)                     # signed up while sign-up was open to all
    with with_adapter(ContosoSignUpOnly):
        response = entra_sign_in(Client(), "alex@contoso.onmicrosoft.com")
        assert response.status_code == 302
        entra_directory_user = entra_emulator.directory.add_user(
            tenant=FABRIKAM_ID, user_principal_name="new@fabrikam.onmicrosoft.com", display_name="New")
        refused = entra_sign_in(Client(), entra_directory_user.user_principal_name)
        assert refused.status_code == 403 and 'data-reason="no_user"' in refused.content.decode()
        assert entra_sign_in(Client(), FABRICE).status_code == 302       # existing users still get in
    assert not MicrosoftAccount.objects.filter(username="new@fabrikam.onmicrosoft.com").exists()
    assert [c[2] for c in calls] == [CONTOSO_ID, FABRIKAM_ID]            # asked for new identities only
    assert calls[0][1] == "/auth/callback"                                # with the callback's request


# -- pre_login: link or refuse ----------------------------------------------------------------
TRUSTED_DOMAINS = {CONTOSO_ID: ("@contoso.onmicrosoft.com",)}       # tenant -> the mail domains it owns


class LinkContosoStaffByEmail(DefaultAdapter):
    """Link the first sign-in of Contoso's people to the local accounts they had before single
    sign-on, by email: only for Contoso's own tenant, whose administrators manage its users' mail
    (anyone can put any address in the mail of a user of *another* tenant: the nOAuth attack)."""
    def pre_login(self, request, claims):
        domains = TRUSTED_DOMAINS.get(claims["tid"])
        email = (claims.get("email") or "").lower()
        if not domains or not email.endswith(domains):
            return None
        return User.objects.filter(email__iexact=email, microsoft_accounts=None).first()


EMAIL_SCOPES = {"SCOPES": ["User.Read", "email"]}      # the ID token then carries the email claim


def test_pre_login_links_an_existing_local_user(entra_emulator, entra_sign_in):
    local = User.objects.create_user("adele.vance", email=ADELE, password="local-password")
    client = Client()
    with with_adapter(LinkContosoStaffByEmail, **EMAIL_SCOPES):
        assert entra_sign_in(client, ADELE).status_code == 302
    assert signed_in_user(client) == local and User.objects.count() == 1
    account = MicrosoftAccount.objects.get()
    assert (account.user, account.tenant_id) == (local, CONTOSO_ID)
    local.refresh_from_db()
    assert local.username == "adele.vance" and local.check_password("local-password")
    again = Client()                                     # later sign-ins find the link itself
    with with_adapter(DefaultAdapter, **EMAIL_SCOPES):
        entra_sign_in(again, ADELE)
    assert signed_in_user(again) == local


def test_pre_login_never_links_the_same_email_from_another_tenant(entra_emulator, entra_sign_in):
    """nOAuth: a Fabrikam user whose mail is set to Adele's address is not Adele."""
    local = User.objects.create_user("adele.vance", email=ADELE)
    entra_emulator.directory.add_user(tenant=FABRIKAM_ID, user_principal_name="mallory@fabrikam.onmicrosoft.com",
                                      display_name="Mallory", mail=ADELE)
    client = Client()
    with with_adapter(LinkContosoStaffByEmail, **EMAIL_SCOPES):
        assert entra_sign_in(client, "mallory@fabrikam.onmicrosoft.com").status_code == 302
    mallory = signed_in_user(client)
    assert mallory != local and mallory.email == ADELE and not local.microsoft_accounts.exists()


def test_an_identity_linked_to_another_user_is_never_relinked(entra_emulator, entra_sign_in, caplog):
    entra_sign_in(Client(), ADELE)                       # Adele's identity has its own user
    local = User.objects.create_user("adele.vance", email=ADELE)

    class LinkAnyway(DefaultAdapter):
        def pre_login(self, request, claims):
            return local

    client = Client()
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ADAPTER": LinkAnyway}):
        response = entra_sign_in(client, ADELE)
    assert response.status_code == 403 and 'data-reason="rejected"' in response.content.decode()
    assert signed_in_user(client) is None and not local.microsoft_accounts.exists()
    assert "is linked to another user" in caplog.text


class SuspendFabrice(DefaultAdapter):
    def pre_login(self, request, claims):
        if claims.get("preferred_username") == FABRICE:
            raise ClaimsRejected("account suspended by the site's administrators")


def test_pre_login_refuses_with_a_reason(entra_emulator, entra_sign_in, caplog):
    client = Client()
    with with_adapter(SuspendFabrice):
        response = entra_sign_in(client, FABRICE)
        assert entra_sign_in(Client(), ADELE).status_code == 302
    assert response.status_code == 403 and 'data-reason="rejected"' in response.content.decode()
    assert "account suspended by the site's administrators" in caplog.text
    assert signed_in_user(client) is None and not MicrosoftAccount.objects.filter(username=FABRICE).exists()


# -- populate_user ----------------------------------------------------------------------------
class ApproveNewUsers(DefaultAdapter):
    """New users wait for an administrator's approval."""

    def populate_user(self, request, user, claims):
        calls.append(("populate_user", user.pk, user.first_name))
        user.is_active = False


def test_populate_user_fills_in_new_users_before_they_are_saved(entra_emulator, entra_sign_in):
    with with_adapter(ApproveNewUsers):
        first = entra_sign_in(Client(), ADELE)
        assert first.status_code == 403 and 'data-reason="no_user"' in first.content.decode()
        user = User.objects.get()
        assert not user.is_active and user.first_name == "Adele"
        User.objects.filter(pk=user.pk).update(is_active=True)          # approved
        client = Client()
        assert entra_sign_in(client, ADELE).status_code == 302
    assert signed_in_user(client) == user
    assert calls == [("populate_user", None, "Adele")]                   # unsaved, mapped, once


# -- login_success / login_failure -------------------------------------------------------------
class Welcome(DefaultAdapter):
    def login_success(self, request, user, next_url):
        calls.append(("login_success", user.first_name, next_url, request.user == user))
        return HttpResponseRedirect(f"/welcome/?next={next_url}")

    def login_failure(self, request, reason, detail, next_url):
        calls.append(("login_failure", reason, detail, next_url))
        return HttpResponse(f"<p id='our-own'>{reason}</p>", status=401)


def test_custom_success_and_failure_responses(entra_emulator, entra_sign_in):
    client = Client()
    with with_adapter(Welcome):
        declined = entra_sign_in(Client(), ADELE, next="/mail/", consent=False)
        success = entra_sign_in(client, ADELE, next="/mail/")
        unknown = Client().get("/auth/callback", {"state": "nope", "code": "x"})
    assert success.status_code == 302 and success["Location"] == "/welcome/?next=/mail/"
    assert signed_in_user(client).first_name == "Adele"
    assert declined.status_code == 401 and declined.content == b"<p id='our-own'>declined</p>"
    assert unknown.status_code == 401
    assert calls[0][:2] == ("login_failure", "declined") and "access_denied" in calls[0][2]
    assert calls[0][3] == "/mail/"
    assert calls[1] == ("login_success", "Adele", "/mail/", True)
    assert calls[2][1:] == ("expired_flow", calls[2][2], None)


class ContosoOnlyBackend(GraphAuthBackend):
    def verify_claims(self, claims):
        return super().verify_claims(claims) and claims["tid"] == CONTOSO_ID


@override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.ContosoOnlyBackend"])
def test_a_backend_refusal_reaches_the_view_as_an_exception(entra_emulator, entra_sign_in):
    with with_adapter(Welcome):
        response = entra_sign_in(Client(), FABRICE)
    assert response.status_code == 401
    (call,) = calls
    assert call[1] == "rejected" and call[2].startswith("claims rejected for oid=")


def test_an_adapter_that_cannot_be_imported():
    assert check_site_integration() == []
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ADAPTER": "mysite.nowhere.Adapter"}):
        (error,) = check_site_integration()
        response = Client(raise_request_exception=False).get("/auth/login/")
    assert error.id == "graph_auth.E040" and "mysite.nowhere.Adapter" in error.msg
    assert response.status_code == 503 and 'data-reason="not_configured"' in response.content.decode()


def test_the_default_adapter_is_todays_behaviour():
    adapter = get_adapter()
    assert type(adapter) is DefaultAdapter
    assert adapter.pre_login(None, build_claims()) is None
    assert adapter.is_open_for_signup(None, build_claims()) is True
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "CREATE_USERS": False}):
        assert adapter.is_open_for_signup(None, build_claims()) is False


# -- backward compatibility: backend subclasses written before the adapter -----------------------
class OldStyleBackend(GraphAuthBackend):
    """Overrides the orchestrator and create_user with their old signatures (no request)."""

    def get_or_create_user(self, claims):
        calls.append("get_or_create_user")
        return super().get_or_create_user(claims)

    def create_user(self, claims):
        user = super().create_user(claims)
        user.last_name = user.last_name.upper()
        user.save()
        return user


@override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.OldStyleBackend"])
def test_backend_subclasses_with_the_old_hook_signatures_still_work(entra_emulator, entra_sign_in):
    assert entra_sign_in(Client(), ADELE).status_code == 302
    assert User.objects.get().last_name == "VANCE" and calls == ["get_or_create_user"]


def test_the_rejection_is_still_left_on_the_request_for_a_release():
    request = RequestFactory().get("/")
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ALLOWED_TENANTS": [FABRIKAM_ID]}), \
            pytest.raises(ClaimsRejected):
        GraphAuthBackend().authenticate(request, id_token_claims=build_claims())
    assert getattr(request, GraphAuthBackend.REJECTION_ATTR).startswith("claims rejected")


# -- graph_auth.authentication.authenticate: Django's backend chain, refusals let through ---------
class Lockout(BaseBackend):
    """Like django-axes: first in the chain, stops every sign-in of a locked-out client."""

    def authenticate(self, request, **credentials):
        raise PermissionDenied("locked out")


class PasswordsOnly(BaseBackend):
    def authenticate(self, request, username=None, password=None):
        raise AssertionError("not called: it takes no ID-token claims")


def test_authenticate_walks_the_backends_like_django():
    failed = []
    user_login_failed.connect(lambda **kw: failed.append(kw["credentials"]), weak=False, dispatch_uid="t")
    try:
        with override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.PasswordsOnly",
                                                        "graph_auth.backends.GraphAuthBackend"]):
            user = authentication.authenticate(None, build_claims())
        assert user.backend == "graph_auth.backends.GraphAuthBackend" and failed == []
        with override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.Lockout",
                                                        "graph_auth.backends.GraphAuthBackend"]):
            assert authentication.authenticate(None, build_claims()) is None
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "ALLOWED_TENANTS": [FABRIKAM_ID]}), \
                pytest.raises(ClaimsRejected, match="claims rejected"):
            authentication.authenticate(None, build_claims())
    finally:
        user_login_failed.disconnect(dispatch_uid="t")
    assert len(failed) == 2 and failed[0]["id_token_claims"] == authentication.CLEANSED
