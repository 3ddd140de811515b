"""App-only Graph (client credentials): secret or certificate, tokens reused across calls and processes."""
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.test import override_settings

from graph_auth import app_tokens
from graph_auth.app_tokens import app_graph
from graph_auth.emulator.default_directory import CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID
from graph_auth.emulator.keys import load_certificate
from graph_auth.exceptions import GraphAuthConfigError, GraphRequestError, TokenError
from graph_auth.models import AppTokenCache

from .token_aging import leave_only

pytestmark = pytest.mark.django_db
CONTOSO = {"EMULATOR": True, "TENANT_ID": CONTOSO_ID}


def grants(emulator):
    return emulator.requests("token", grant_type="client_credentials")


@override_settings(GRAPH_AUTH=CONTOSO)
def test_app_only_client_lists_the_tenants_users(entra_emulator):
    upns = [u["userPrincipalName"] for u in app_graph().iterate("/users", params={"$top": 3})]
    # Contoso's members and guests (a guest is a Contoso object with a #EXT# UPN), no Fabrikam user.
    assert "adele@contoso.onmicrosoft.com" in upns and "fabrice@fabrikam.onmicrosoft.com" not in upns and len(upns) == 9
    (grant,) = grants(entra_emulator)
    assert grant.form["scope"] == "https://graph.microsoft.com/.default"
    assert grant.path == f"/{CONTOSO_ID}/oauth2/v2.0/token"


@override_settings(GRAPH_AUTH=CONTOSO)
def test_tokens_are_reused_across_calls_and_processes(entra_emulator, django_assert_num_queries):
    app_graph().get("/users")
    with django_assert_num_queries(0):             # the process's memory
        app_graph().get("/users")
    app_tokens.clear_caches()                      # as a new process would start
    with django_assert_num_queries(1):             # the shared, encrypted row
        app_graph().get("/users")
    assert len(grants(entra_emulator)) == 1
    row = AppTokenCache.objects.get()
    assert row.key == f"{WEB_APP_ID}:{CONTOSO_ID}" and "AccessToken" not in row.data
    assert row.access_token_expires_at is not None


@override_settings(GRAPH_AUTH=CONTOSO)
def test_short_lived_tokens_serve_half_their_lifetime_then_are_renewed(entra_emulator):
    entra_emulator.settings.access_token_lifetime = 200       # below the refresh margin
    app_graph().get("/users")
    app_graph().get("/users")
    assert len(grants(entra_emulator)) == 1                   # not due at once: for 100 s
    leave_only(90)
    app_graph().get("/users")
    assert len(grants(entra_emulator)) == 2


def test_tenant_can_be_given_per_client(entra_emulator):
    with override_settings(GRAPH_AUTH={"EMULATOR": True}):     # TENANT_ID "organizations"
        with pytest.raises(GraphAuthConfigError):
            app_graph()
        users = list(app_graph(tenant=FABRIKAM_ID).iterate("/users"))
    assert [u["displayName"] for u in users] == ["Fabrice Martin"]


def test_certificate_credential(entra_emulator, entra_directory, entra_certificate):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    settings = {**CONTOSO, "CLIENT_CERTIFICATE": entra_certificate.msal_credential(sha1=True)}
    with override_settings(GRAPH_AUTH=settings):
        assert app_graph().get("/users")["value"]
    (grant,) = grants(entra_emulator)
    assert "client_assertion" in grant.form and "client_secret" not in grant.form


def test_certificate_that_is_not_registered(entra_emulator, entra_certificate):
    settings = {**CONTOSO, "CLIENT_CERTIFICATE": entra_certificate.msal_credential()}
    with override_settings(GRAPH_AUTH=settings), pytest.raises(TokenError) as info:
        app_graph().get("/users")
    assert info.value.error == "invalid_client" and info.value.aadsts == 700027


@override_settings(GRAPH_AUTH=CONTOSO)
def test_missing_application_permission_is_a_403(entra_emulator):
    adele = entra_emulator.user("adele@contoso.onmicrosoft.com")
    with pytest.raises(GraphRequestError) as info:
        app_graph().get(f"/users/{adele.id}/messages")      # the web app has no Mail.Read role
    assert info.value.status_code == 403


@override_settings(GRAPH_AUTH=CONTOSO)
def test_a_rejected_token_is_replaced_once(entra_emulator):
    app_graph().get("/users")
    entra_emulator.rotate_keys(retire_old=True, publish_first=False)   # old tokens now fail
    assert app_graph().get("/users")["value"]
    assert len(grants(entra_emulator)) == 2


def test_an_unusable_certificate_is_named_in_the_configuration_error(entra_emulator):
    from graph_auth.exceptions import GraphAuthConfigError
    broken = {"private_key": "not a PEM key", "thumbprint": "00" * 20}
    with override_settings(GRAPH_AUTH={**CONTOSO, "CLIENT_CERTIFICATE": broken}), \
            pytest.raises(GraphAuthConfigError, match="CLIENT_CERTIFICATE"):
        app_graph().get("/users")


def signed_assertion(emulator, certificate):
    """A client assertion signed with ``certificate``'s key, as a workload identity would get one."""
    now = time.time()
    claims = {"aud": emulator.login_url(f"/{CONTOSO_ID}/oauth2/v2.0/token"), "iss": WEB_APP_ID,
              "sub": WEB_APP_ID, "iat": now, "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    x5t = jwt.utils.base64url_encode(bytes.fromhex(certificate.thumbprint)).decode()
    return jwt.encode(claims, certificate.private_key_pem, algorithm="RS256", headers={"x5t": x5t})


def pfx_file(path, certificate, passphrase: bytes) -> str:
    key = serialization.load_pem_private_key(certificate.private_key_pem.encode(), password=None)
    pfx = pkcs12.serialize_key_and_certificates(b"graph-auth", key, load_certificate(certificate.certificate_pem),
                                                None, serialization.BestAvailableEncryption(passphrase))
    path.write_bytes(pfx)
    return str(path)


@pytest.mark.parametrize("form", ["client_assertion", "private_key_pfx_path"])
def test_certificate_credentials_without_a_pem_private_key_go_to_msal(entra_emulator, entra_directory,
                                                                      entra_certificate, tmp_path, form):
    """msal's other dict forms carry no ``private_key``: nothing of graph_auth's refuses them."""
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    if form == "client_assertion":
        credential = {"client_assertion": lambda: signed_assertion(entra_emulator, entra_certificate)}
    else:
        credential = {"private_key_pfx_path": pfx_file(tmp_path / "app.pfx", entra_certificate, b"s3cret"),
                      "passphrase": "s3cret"}
    with override_settings(GRAPH_AUTH={**CONTOSO, "CLIENT_CERTIFICATE": credential}):
        assert app_graph().get("/users")["value"]
    (grant,) = grants(entra_emulator)
    assert "client_assertion" in grant.form and "client_secret" not in grant.form
