"""A single-tenant app registration ("AzureADMyOrg") on the tenant-independent endpoints: Entra
refuses it with AADSTS50194 (common and organizations), before anyone signs in and at the token
endpoint; on its own tenant it works."""
import pytest

from graph_auth.emulator.default_directory import FABRIKAM_APP_ID

from .browsing import browser, error_text
from .token_asserts import assert_entra_error, auth_code_flow, post_token

FABRIKAM_REDIRECT_URI = "http://localhost:8000/fabrikam/callback"


@pytest.fixture
def single_tenant(entra_directory):
    app = entra_directory.apps[FABRIKAM_APP_ID]
    assert app.sign_in_audience == "AzureADMyOrg"
    return app


@pytest.mark.parametrize("segment", ["common", "organizations", "Common"])
def test_authorize_shows_50194_before_sign_in(entra_emulator, browser, make_app, single_tenant, segment):
    app = make_app(FABRIKAM_APP_ID, "fabrikam-secret", tenant=segment)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=FABRIKAM_REDIRECT_URI)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 400 and "Location" not in page.headers
    assert error_text(page.text).startswith(f"AADSTS50194: Application '{FABRIKAM_APP_ID}'(Fabrikam intranet) "
                                            "is not configured as a multi-tenant application.")


@pytest.mark.parametrize("segment", ["common", "organizations"])
def test_token_endpoint_refuses_user_grants_with_50194(entra_emulator, entra_session, make_app, single_tenant,
                                                      segment):
    app = make_app(FABRIKAM_APP_ID, "fabrikam-secret", tenant=segment)
    assert_entra_error(app.acquire_token_by_refresh_token("x", ["User.Read"]), "invalid_request", 50194)
    code_grant = {"grant_type": "authorization_code", "client_id": FABRIKAM_APP_ID, "client_secret": "fabrikam-secret",
                  "code": "x", "redirect_uri": FABRIKAM_REDIRECT_URI, "scope": "User.Read"}
    response = post_token(entra_session, code_grant, tenant=segment)
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_request", 50194)


def test_multi_tenant_apps_are_unaffected(entra_emulator, make_app):
    app = make_app(tenant="organizations")             # the demo web app takes any tenant's accounts
    assert_entra_error(app.acquire_token_by_refresh_token("x", ["User.Read"]), "invalid_grant", 9002313)


def test_its_own_tenant_works(entra_emulator, make_app, single_tenant, entra_directory):
    fabrikam = entra_directory.tenant(single_tenant.tenant_id)
    app = make_app(FABRIKAM_APP_ID, "fabrikam-secret", tenant=fabrikam.domain)
    flow, response = auth_code_flow(app, entra_emulator, "fabrice@fabrikam.onmicrosoft.com",
                                    redirect_uri=FABRIKAM_REDIRECT_URI)
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, response)
