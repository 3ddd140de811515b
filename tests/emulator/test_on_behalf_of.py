"""On-behalf-of: a middle-tier API exchanges the user's token for a Microsoft Graph token."""
import jwt
import pytest

from graph_auth.emulator.default_directory import (
    API_APP_ID,
    API_APP_SECRET,
    CONTOSO_ID,
    DAEMON_APP_ID,
    DAEMON_APP_SECRET,
    WEB_APP_ID,
)

from .conftest import ADELE, REDIRECT_URI
from .token_asserts import (
    GRAPH_APP_ID,
    TOKEN_URL,
    assert_entra_error,
    claims_of,
    client_info_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
API_SCOPE = f"api://{API_APP_ID}/access_as_user"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def api_app(make_app):
    return make_app(API_APP_ID, API_APP_SECRET)


@pytest.fixture
def user_token(entra_emulator, web_app):
    """Adele's access token for the API, as the web app would send it to the API."""
    flow = web_app.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    assert claims_of(result["access_token"])["aud"] == API_APP_ID
    return result["access_token"]


def test_exchange_for_graph(entra_emulator, api_app, user_token):
    result = api_app.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert result["token_source"] == "identity_provider"
    adele = entra_emulator.user(ADELE)
    claims = claims_of(result["access_token"])     # a Graph token: only Graph verifies it
    assert claims["aud"] == GRAPH_APP_ID
    assert claims["oid"] == adele.id and claims["appid"] == API_APP_ID and claims["idtyp"] == "user"
    assert set(claims["scp"].split()) == {"User.Read", "Mail.Read"}     # the admin-consented set
    assert set(result["scope"].split()) >= {"User.Read", "Mail.Read"}
    assert result["refresh_token"] and result["id_token_claims"]["aud"] == API_APP_ID
    assert client_info_of(result["client_info"]) == {"uid": adele.id, "utid": CONTOSO_ID}
    (sent,) = entra_emulator.requests("token", grant_type=JWT_BEARER)
    assert sent.form["requested_token_use"] == "on_behalf_of" and sent.form["assertion"] == user_token
    (account,) = api_app.get_accounts()
    assert account["home_account_id"] == f"{adele.id}.{CONTOSO_ID}"
    assert api_app.acquire_token_silent(["User.Read"], account)["token_source"] == "cache"


def test_not_consented_scope(api_app, user_token):
    result = api_app.acquire_token_on_behalf_of(user_token, ["Files.Read"])
    body = assert_entra_error(result, "invalid_grant", 65001)
    assert body["suberror"] == "consent_required"


def test_token_for_another_audience(signed_in, api_app):
    _, result = signed_in                        # a Graph token, not one for the API
    obo = api_app.acquire_token_on_behalf_of(result["access_token"], ["User.Read"])
    assert_entra_error(obo, "invalid_grant", 500131)


def test_app_only_token_as_assertion(make_app, api_app):
    daemon = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET)
    app_token = daemon.acquire_token_for_client([f"api://{API_APP_ID}/.default"])["access_token"]
    assert claims_of(app_token)["aud"] == API_APP_ID
    result = api_app.acquire_token_on_behalf_of(app_token, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50013)


def test_revoked_user(entra_emulator, api_app, user_token):
    entra_emulator.revoke_sessions(ADELE)
    result = api_app.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50173)


def test_disabled_user(entra_emulator, api_app, user_token):
    entra_emulator.user(ADELE).enabled = False
    result = api_app.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50057)


def test_expired_assertion(entra_emulator, api_app, user_token):
    entra_emulator.clock.advance(entra_emulator.settings.access_token_lifetime + 1)
    result = api_app.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 500133)


@pytest.mark.parametrize("assertion,error,code", [
    ("garbage", "invalid_request", 50027),
    ("a.b.c", "invalid_request", 50027),
    ("eyJhbGciOiJSUzI1NiJ9.e30.", "invalid_grant", 50013),      # well-formed, unsigned
    ("eyJhbGciOiJub25lIn0.eyJzY3AiOiJ4In0.", "invalid_grant", 50013),  # alg none
])
def test_garbage_assertion(api_app, assertion, error, code):
    result = api_app.acquire_token_on_behalf_of(assertion, ["User.Read"])
    assert_entra_error(result, error, code)


def test_forged_assertion(entra_certificate, api_app, user_token):
    claims = claims_of(user_token)
    forged = jwt.encode(claims, entra_certificate.private_key_pem, algorithm="RS256",
                        headers={"kid": jwt.get_unverified_header(user_token)["kid"]})
    result = api_app.acquire_token_on_behalf_of(forged, ["User.Read"])
    assert_entra_error(result, "invalid_grant", 50013)


def test_assertion_from_another_tenant_endpoint(make_app, user_token):
    from graph_auth.emulator.default_directory import FABRIKAM_ID
    api_in_fabrikam = make_app(API_APP_ID, API_APP_SECRET, FABRIKAM_ID)
    result = api_in_fabrikam.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert result["error"] == "invalid_grant"


def test_public_client_cannot_use_obo(entra_session, user_token):
    from graph_auth.emulator.default_directory import CLI_APP_ID
    response = entra_session.post(TOKEN_URL, data={
        "client_id": CLI_APP_ID, "grant_type": JWT_BEARER, "requested_token_use": "on_behalf_of",
        "assertion": user_token, "scope": "User.Read"})
    assert response.status_code == 401
    assert_entra_error(response.json(), "invalid_client", 7000218)


def test_missing_requested_token_use(entra_session, user_token):
    response = entra_session.post(TOKEN_URL, data={
        "client_id": API_APP_ID, "client_secret": API_APP_SECRET, "grant_type": JWT_BEARER,
        "assertion": user_token, "scope": "User.Read"})
    assert_entra_error(response.json(), "invalid_request", 900144)


def test_web_app_token_is_not_an_api_assertion(make_app, signed_in):
    """The web app cannot exchange its own Graph token: the assertion's audience is Graph."""
    _, result = signed_in
    web = make_app(WEB_APP_ID)
    obo = web.acquire_token_on_behalf_of(result["access_token"], ["User.Read"])
    assert_entra_error(obo, "invalid_grant", 500131)
