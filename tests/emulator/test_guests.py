"""B2B guests driven by real msal: Fabrice (a Fabrikam member) invited into Contoso signs in with
his Fabrikam credentials; with Contoso's authority the tokens are for his Contoso guest object,
while client_info (msal's home_account_id) names his Fabrikam account."""
import warnings

import pytest

from graph_auth.emulator.default_directory import (
    API_APP_ID,
    API_APP_SECRET,
    CLI_APP_ID,
    CONTOSO,
    CONTOSO_ID,
    FABRIKAM_ID,
    GUEST_HOME_UPN,
    GUEST_UPN,
)

from .browsing import browser, interactive_sign_in, redirect_params
from .graphing import V1, Graph, daemon
from .token_asserts import LOGIN, auth_code_flow, claims_of, client_info_of

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
HOME_IDP = f"https://sts.windows.net/{FABRIKAM_ID}/"


@pytest.fixture
def fabrice(entra_emulator):
    """(guest object in Contoso, home user in Fabrikam)."""
    return entra_emulator.user(GUEST_UPN), entra_emulator.user(GUEST_HOME_UPN)


def _redeem(app, em, user=GUEST_HOME_UPN, scopes=("User.Read",)):
    flow, response = auth_code_flow(app, em, user, scopes)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    return result


def test_the_guest_is_its_own_directory_object(fabrice):
    guest, home = fabrice
    assert guest.id != home.id and guest.tenant_id == CONTOSO_ID and home.tenant_id == FABRIKAM_ID
    assert guest.user_type == "Guest" and guest.home_user_id == home.id and guest.guest
    assert guest.user_principal_name == "fabrice_fabrikam.onmicrosoft.com#EXT#@contoso.onmicrosoft.com"
    assert guest.mail == home.mail == GUEST_HOME_UPN and guest.display_name == home.display_name


@pytest.mark.parametrize("tenant", [CONTOSO_ID, CONTOSO])
def test_tenant_authority_signs_the_guest_in_to_the_inviting_tenant(entra_emulator, make_app, fabrice,
                                                                   tenant):
    guest, home = fabrice
    app = make_app(tenant=tenant)
    result = _redeem(app, entra_emulator)
    claims = result["id_token_claims"]
    assert (claims["tid"], claims["oid"]) == (CONTOSO_ID, guest.id)
    assert claims["iss"] == f"{LOGIN}/{CONTOSO_ID}/v2.0" and claims["idp"] == HOME_IDP
    assert claims["preferred_username"] == GUEST_HOME_UPN and claims["email"] == GUEST_HOME_UPN
    assert client_info_of(result["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}
    at = claims_of(result["access_token"])                 # Graph: a v1 token for the guest object
    assert (at["tid"], at["oid"], at["idp"]) == (CONTOSO_ID, guest.id, HOME_IDP)
    assert at["unique_name"] == GUEST_HOME_UPN and "upn" not in at


def test_msal_keys_the_guest_by_the_home_account_and_refreshes_at_the_inviting_tenant(
        entra_emulator, make_app, fabrice):
    guest, home = fabrice
    app = make_app(tenant=CONTOSO_ID)
    _redeem(app, entra_emulator)
    (account,) = app.get_accounts()
    assert account["home_account_id"] == f"{home.id}.{FABRIKAM_ID}"   # not "<guest oid>.<contoso>"
    assert account["local_account_id"] == guest.id and account["realm"] == CONTOSO_ID
    assert app.acquire_token_silent(["User.Read"], account)["token_source"] == "cache"
    refreshed = app.acquire_token_silent(["User.Read"], account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider", refreshed
    assert refreshed["id_token_claims"]["oid"] == guest.id
    (sent,) = entra_emulator.requests("token", grant_type="refresh_token")
    assert sent.path == f"/{CONTOSO_ID}/oauth2/v2.0/token" and sent.status == 200
    assert [a["home_account_id"] for a in app.get_accounts()] == [account["home_account_id"]]


@pytest.mark.parametrize("tenant", ["organizations", "common"])
def test_multi_tenant_authority_signs_the_guest_in_at_home(entra_emulator, make_app, fabrice, tenant):
    _, home = fabrice
    result = _redeem(make_app(tenant=tenant), entra_emulator)
    claims = result["id_token_claims"]
    assert (claims["tid"], claims["oid"]) == (FABRIKAM_ID, home.id) and "idp" not in claims
    assert client_info_of(result["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}


def test_the_guest_object_has_no_credentials(entra_emulator, browser, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/auth/callback")
    with pytest.raises(ValueError, match="guest object"):
        entra_emulator.sign_in(flow["auth_uri"], GUEST_UPN)
    page = browser.submit(browser.get(flow["auth_uri"]), "signin", username=GUEST_UPN,
                          password="Passw0rd!")
    assert "username may be incorrect" in page.text


def test_browser_sign_in_at_contoso_then_sso_at_organizations_gives_the_home_account(
        entra_emulator, browser, make_app, fabrice):
    guest, home = fabrice
    contoso = make_app(tenant=CONTOSO_ID)
    flow, params = interactive_sign_in(browser, contoso, user=GUEST_HOME_UPN)
    assert client_info_of(params["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}   # redirect too
    assert contoso.acquire_token_by_auth_code_flow(flow, params)["id_token_claims"]["oid"] == guest.id
    # The same browser session, another authority: no password, signed in as the home account,
    # which consents on its own (consent is per tenant: the guest's consent was Contoso's).
    anywhere = make_app(tenant="organizations")
    flow = anywhere.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/auth/callback")
    page = browser.get(flow["auth_uri"])
    assert 'id="permissions"' in page.text and GUEST_HOME_UPN in page.text and "#EXT#" not in page.text
    params = redirect_params(browser.submit(page, "consent").headers["Location"])
    result = anywhere.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["oid"] == home.id


def test_graph_me_is_the_guest_object(entra_emulator, entra_session, make_app, fabrice):
    guest, _ = fabrice
    result = _redeem(make_app(tenant=CONTOSO_ID), entra_emulator)
    graph = Graph(entra_session, result["access_token"])
    me = graph.get("/me").json()
    assert me["id"] == guest.id and me["userPrincipalName"] == GUEST_UPN
    assert me["mail"] == GUEST_HOME_UPN and me["displayName"] == "Fabrice Martin"
    assert "userType" not in me                                # only with $select, as in Graph
    selected = graph.get("/me?$select=userType,userPrincipalName").json()
    assert selected == {"@odata.context": f"{V1}/$metadata#users(userType,userPrincipalName)/$entity",
                        "userType": "Guest", "userPrincipalName": GUEST_UPN}
    groups = graph.get("/me/memberOf").json()["value"]
    assert [g["displayName"] for g in groups] == ["Partners"]


def test_users_in_the_inviting_tenant_list_the_guest(daemon, fabrice):
    guest, home = fabrice
    (page,) = daemon.follow("/users?$select=id,userPrincipalName,userType")
    listed = {u["id"]: u for u in page["value"]}
    assert listed[guest.id] == {"id": guest.id, "userPrincipalName": GUEST_UPN, "userType": "Guest"}
    assert home.id not in listed and all(u["userType"] == "Member" for i, u in listed.items()
                                         if "#EXT#" not in u["userPrincipalName"])
    # A "#" in a URL must be encoded: %23 reaches the guest, a bare # is a fragment.
    assert daemon.get(f"/users/{GUEST_UPN.replace('#', '%23')}").json()["id"] == guest.id


def test_on_behalf_of_a_guest_caller_names_the_home_account(entra_emulator, make_app, fabrice):
    guest, home = fabrice
    user_token = _redeem(make_app(tenant=CONTOSO_ID), entra_emulator,
                         scopes=[f"api://{API_APP_ID}/access_as_user"])["access_token"]
    api = make_app(API_APP_ID, API_APP_SECRET, tenant=CONTOSO_ID)
    result = api.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert client_info_of(result["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}
    assert claims_of(result["access_token"])["oid"] == guest.id
    (account,) = api.get_accounts()
    assert account["home_account_id"] == f"{home.id}.{FABRIKAM_ID}"


def test_device_code_for_a_guest(entra_emulator, make_app, fabrice):
    guest, home = fabrice
    app = make_app(CLI_APP_ID, tenant=CONTOSO_ID, public=True)
    flow = app.initiate_device_flow(["User.Read"])
    entra_emulator.approve_device_code(flow["user_code"], GUEST_HOME_UPN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["id_token_claims"]["oid"] == guest.id
    assert client_info_of(result["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_password_grant_for_a_guest_at_the_inviting_tenant(entra_emulator, make_app, fabrice):
    guest, home = fabrice
    entra_emulator.grant_consent(GUEST_UPN, CLI_APP_ID, ["User.Read"])
    app = make_app(CLI_APP_ID, tenant=CONTOSO_ID, public=True)
    result = app.acquire_token_by_username_password(GUEST_HOME_UPN, "Passw0rd!", ["User.Read"])
    assert result["id_token_claims"]["oid"] == guest.id
    assert client_info_of(result["client_info"]) == {"uid": home.id, "utid": FABRIKAM_ID}


def test_revoking_the_guest_object_leaves_its_sessions_alone(entra_emulator, make_app, daemon, fabrice):
    """Graph: "This API doesn't revoke sign-in sessions for external users" (it still answers true)."""
    guest, home = fabrice
    app = make_app(tenant=CONTOSO_ID)
    _redeem(app, entra_emulator)
    response = daemon.post(f"/users/{guest.id}/revokeSignInSessions")
    assert response.status_code == 200 and response.json()["value"] is True
    account = app.get_accounts()[0]
    assert "access_token" in app.acquire_token_silent(["User.Read"], account, force_refresh=True)
    entra_emulator.revoke_sessions(home)                       # revoked at home: that ends them
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert result["error"] == "invalid_grant" and "AADSTS50173" in result["error_description"]


def test_disabled_at_home_cannot_sign_in_as_a_guest(entra_emulator, make_app, fabrice):
    _, home = fabrice
    home.enabled = False
    app = make_app(tenant=CONTOSO_ID)
    _, response = auth_code_flow(app, entra_emulator, GUEST_HOME_UPN)
    assert response["error"] == "access_denied" and "AADSTS50057" in response["error_description"]


def test_account_picker_and_login_hint_for_a_guest(entra_emulator, browser, make_app, fabrice):
    guest, _ = fabrice
    app = make_app(tenant=CONTOSO_ID)
    flow, params = interactive_sign_in(browser, app, user=GUEST_HOME_UPN)
    hint = app.acquire_token_by_auth_code_flow(flow, params)["id_token_claims"]["login_hint"]
    interactive_sign_in(browser, app, user="adele@contoso.onmicrosoft.com", prompt="login")
    # The picker shows the name the guest signs in with; picking it signs in the guest object.
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/auth/callback",
                                       prompt="select_account")
    page = browser.get(flow["auth_uri"])
    assert f'data-user="{GUEST_HOME_UPN}"' in page.text and "#EXT#" not in page.text
    picked = browser.submit(page, "pick", sid=params["session_state"])
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(picked.headers["Location"]))
    assert result["id_token_claims"]["oid"] == guest.id
    # The opaque login_hint names the person: with Contoso's authority, straight back as the guest.
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/auth/callback",
                                       prompt="none", login_hint=hint)
    params = redirect_params(browser.get(flow["auth_uri"]).headers["Location"])
    assert app.acquire_token_by_auth_code_flow(flow, params)["id_token_claims"]["oid"] == guest.id


def test_device_login_page_for_a_guest(entra_emulator, browser, make_app, fabrice):
    guest, _ = fabrice
    app = make_app(CLI_APP_ID, tenant=CONTOSO, public=True)
    flow = app.initiate_device_flow(["User.Read"])
    page = browser.post(f"{LOGIN}/devicelogin", {"otc": flow["user_code"]})
    page = browser.submit(page, "signin", username=GUEST_HOME_UPN, password="Passw0rd!")
    page = browser.submit(page, "consent")
    assert "signed in to the graph_auth CLI application" in page.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    assert result["id_token_claims"]["oid"] == guest.id
