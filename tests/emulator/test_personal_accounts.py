"""Personal Microsoft accounts (the consumers tenant) driven by real msal: where they may sign in,
the refusals Entra shows elsewhere, their tokens and their Graph profile."""
import re
import warnings

import pytest

from graph_auth.emulator.default_directory import (
    CLI_APP_ID,
    CONSUMERS_ID,
    CONTOSO_ID,
    FABRIKAM_ID,
    PERSONAL_GUEST_UPN,
    PERSONAL_UPN,
    WEB_APP_ID,
)

from .browsing import LOGIN, browser, error_text, redirect_params, text
from .conftest import ADELE, REDIRECT_URI
from .graphing import V1, Graph, assert_graph_error
from .token_asserts import assert_entra_error, auth_code_flow, claims_of, client_info_of

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
MSA_OID = re.compile(r"^00000000-0000-0000-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def sam(entra_emulator):
    return entra_emulator.user(PERSONAL_UPN)


def _redeem(app, em, user=PERSONAL_UPN, scopes=("User.Read",)):
    flow, response = auth_code_flow(app, em, user, scopes)
    return app.acquire_token_by_auth_code_flow(flow, response)


@pytest.mark.parametrize("tenant", ["common", "consumers", CONSUMERS_ID])
def test_signs_in_on_common_and_consumers(entra_emulator, make_app, sam, tenant):
    app = make_app(tenant=tenant)
    result = _redeem(app, entra_emulator, scopes=("User.Read", "email"))
    claims = result["id_token_claims"]
    assert MSA_OID.match(sam.id) and claims["oid"] == sam.id
    assert claims["tid"] == CONSUMERS_ID and claims["iss"] == f"{LOGIN}/{CONSUMERS_ID}/v2.0"
    assert claims["preferred_username"] == PERSONAL_UPN and claims["email"] == PERSONAL_UPN
    assert "idp" not in claims                             # the issuer is the identity provider
    assert client_info_of(result["client_info"]) == {"uid": sam.id, "utid": CONSUMERS_ID}
    (account,) = app.get_accounts()
    assert account["home_account_id"] == f"{sam.id}.{CONSUMERS_ID}"
    refreshed = app.acquire_token_silent(["User.Read"], account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider", refreshed


def test_organizations_refuses_a_personal_account(browser, make_app):
    app = make_app(tenant="organizations")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.submit(browser.get(flow["auth_uri"]), "signin", username=PERSONAL_UPN,
                          password="Passw0rd!")
    assert page.status_code == 200 and error_text(page.text).startswith("AADSTS500200: ")
    assert "is a personal Microsoft account" in error_text(page.text) and "Location" not in page.headers


def test_a_tenant_that_never_invited_them_refuses_with_50020(entra_emulator, make_app):
    app = make_app(tenant=FABRIKAM_ID)
    _, response = auth_code_flow(app, entra_emulator, PERSONAL_UPN)
    assert response["error"] == "access_denied"
    assert response["error_description"].startswith("AADSTS50020: ")
    assert "from identity provider 'live.com'" in response["error_description"]


def test_invited_into_contoso_it_signs_in_as_the_guest(entra_emulator, make_app, sam):
    guest = entra_emulator.user(PERSONAL_GUEST_UPN)
    result = _redeem(make_app(tenant=CONTOSO_ID), entra_emulator)
    claims = result["id_token_claims"]
    assert (claims["tid"], claims["oid"], claims["idp"]) == (CONTOSO_ID, guest.id, "live.com")
    assert claims["preferred_username"] == PERSONAL_UPN
    assert client_info_of(result["client_info"]) == {"uid": sam.id, "utid": CONSUMERS_ID}
    assert claims_of(result["access_token"])["unique_name"] == f"live.com#{PERSONAL_UPN}"


def test_an_app_not_enabled_for_personal_accounts(entra_emulator, browser, make_app):
    # On /common, the browser is sent on to the personal-account service, which refuses the app.
    app = make_app(CLI_APP_ID, tenant="common", public=True)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:40001")
    page = browser.submit(browser.get(flow["auth_uri"]), "signin", username=PERSONAL_UPN,
                          password="Passw0rd!")
    assert error_text(page.text).startswith("unauthorized_client: The client does not exist or is "
                                            "not enabled for consumers.")
    assert "Location" not in page.headers
    # On /consumers it is refused before anyone signs in.
    consumers = make_app(CLI_APP_ID, tenant="consumers", public=True)
    flow = consumers.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:40001")
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 400 and "We're unable to complete your request" in text(page.text)
    assert error_text(page.text).startswith("unauthorized_client: ")
    # The token and devicecode endpoints answer with AADSTS9002332.
    assert_entra_error(consumers.initiate_device_flow(["User.Read"]), "invalid_request", 9002332)


def test_a_personal_accounts_only_app_elsewhere_than_consumers(entra_emulator, entra_directory, browser,
                                                               make_app):
    entra_directory.apps[WEB_APP_ID].sign_in_audience = "PersonalMicrosoftAccount"
    app = make_app(tenant="common")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 400 and error_text(page.text).startswith("AADSTS9002331: ")
    assert "Please use the /consumers endpoint" in error_text(page.text)
    assert_entra_error(app.acquire_token_by_refresh_token("x", ["User.Read"]), "invalid_request", 9002331)
    assert "access_token" in _redeem(make_app(tenant="consumers"), entra_emulator)


def test_a_work_account_at_consumers(browser, make_app):
    app = make_app(tenant="consumers")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.get(flow["auth_uri"])
    assert ADELE not in text(page.text)                        # no work accounts to pick from
    page = browser.submit(page, "signin", username=ADELE, password="Passw0rd!")
    assert error_text(page.text) == ("That Microsoft account doesn't exist. Enter a different account "
                                     "or get a new one.")


def test_graph_me_has_the_personal_profile_shape(entra_emulator, entra_session, make_app, sam):
    result = _redeem(make_app(tenant="common"), entra_emulator)
    graph = Graph(entra_session, result["access_token"])
    me = graph.get("/me").json()
    assert me == {"@odata.context": f"{V1}/$metadata#users/$entity", "displayName": "Sam Taylor",
                  "surname": "Taylor", "givenName": "Sam", "id": sam.id.replace("-", "")[-16:],
                  "userPrincipalName": PERSONAL_UPN, "businessPhones": [], "jobTitle": None,
                  "mail": None, "mobilePhone": None, "officeLocation": None, "preferredLanguage": None}
    assert re.fullmatch(r"[0-9a-f]{16}", me["id"]) and me["id"] != result["id_token_claims"]["oid"]
    assert_graph_error(graph.get("/me?$select=accountEnabled"), 400)
    # What only exists for work accounts: Graph routes the request to the consumer profile service.
    error = assert_graph_error(graph.post("/me/revokeSignInSessions"), 404, "")
    assert f"CID:{me['id']}" in error["message"]
    assert_graph_error(graph.get("/users"), 404, "")
    assert_graph_error(graph.get(f"/users/{ADELE}"), 404, "Request_ResourceNotFound")


def test_device_code_on_consumers(entra_emulator, make_app, sam):
    app = make_app(WEB_APP_ID, tenant="consumers", public=True)   # allows public client flows
    flow = app.initiate_device_flow(["User.Read"])
    with pytest.raises(PermissionError, match="That Microsoft account"):
        entra_emulator.approve_device_code(flow["user_code"], ADELE)
    entra_emulator.approve_device_code(flow["user_code"], PERSONAL_UPN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert client_info_of(result["client_info"]) == {"uid": sam.id, "utid": CONSUMERS_ID}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("tenant, user", [("organizations", PERSONAL_UPN), (CONTOSO_ID, PERSONAL_UPN)])
def test_no_password_grant_for_personal_accounts(entra_emulator, make_app, tenant, user):
    entra_emulator.grant_consent(PERSONAL_GUEST_UPN, CLI_APP_ID, ["User.Read"])
    app = make_app(CLI_APP_ID, tenant=tenant, public=True)
    result = app.acquire_token_by_username_password(user, "Passw0rd!", ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50034)


def test_sign_in_page_at_common_offers_work_and_personal_accounts(browser, make_app):
    app = make_app(tenant="common")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    page = browser.get(flow["auth_uri"])
    listed = text(page.text)
    assert ADELE in listed and PERSONAL_UPN in listed and "#EXT#" not in listed
    page = browser.submit(page, "signin", username=PERSONAL_UPN, password="Passw0rd!")
    page = browser.submit(page, "consent")
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(page.headers["Location"]))
    assert result["id_token_claims"]["tid"] == CONSUMERS_ID
