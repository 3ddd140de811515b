"""The authorization-code grant, redeemed by real msal: success, code expiry and reuse, PKCE,
redirect URI and tenant checks (client authentication: test_client_auth.py)."""
import pytest

from graph_auth.emulator.default_directory import CONTOSO, CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID, WEB_APP_SECRET

from .conftest import ADELE, REDIRECT_URI
from .token_asserts import GRAPH_APP_ID, TOKEN_URL, assert_entra_error, claims_of, client_info_of
from .token_asserts import auth_code_flow as _flow
from .token_asserts import last_token_request as _sent

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")


def test_success_returns_what_msal_needs(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    result = web_app.acquire_token_by_auth_code_flow(flow, response)
    adele = entra_emulator.user(ADELE)
    assert result["token_type"] == "Bearer" and result["token_source"] == "identity_provider"
    assert result["scope"] == "User.Read openid profile email"          # short Graph form
    assert isinstance(result["expires_in"], int) and result["expires_in"] == 3599
    assert result["refresh_token"] and result["id_token"]
    assert client_info_of(result["client_info"]) == {"uid": adele.id, "utid": CONTOSO_ID}
    at = claims_of(result["access_token"])
    assert at["aud"] == GRAPH_APP_ID and at["scp"] == "User.Read" and at["oid"] == adele.id
    assert at["appid"] == WEB_APP_ID and at["appidacr"] == "1" and at["idtyp"] == "user"
    (account,) = web_app.get_accounts()
    assert account["home_account_id"] == f"{adele.id}.{CONTOSO_ID}"
    assert account["username"] == ADELE and account["account_source"] == "authorization_code"
    sent = _sent(entra_emulator)
    assert sent.form["client_info"] == "1" and sent.form["code_verifier"] == flow["code_verifier"]
    assert sent.form["client_secret"] == WEB_APP_SECRET and sent.status == 200
    # the echoed scope matches msal's lookup: the next silent call is a cache hit, no request
    before = len(entra_emulator.requests())
    cached = web_app.acquire_token_silent(["User.Read"], account)
    assert cached["token_source"] == "cache" and len(entra_emulator.requests()) == before


def test_wrong_pkce_verifier(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    flow["code_verifier"] = "A" * 43
    result = web_app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_grant", 501481,
                       correlation_id=_sent(entra_emulator).headers["client-request-id"])
    assert "access_token" not in result and web_app.get_accounts() == []


def _with_plain_pkce(flow):
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
    parts = urlsplit(flow["auth_uri"])
    query = dict(parse_qsl(parts.query))
    query.update(code_challenge=flow["code_verifier"], code_challenge_method="plain")
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_plain_pkce(entra_emulator, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    response = entra_emulator.sign_in(_with_plain_pkce(flow), ADELE)
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(dict(flow), response)


def test_plain_pkce_mismatch_with_non_ascii_verifier(entra_emulator, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    response = entra_emulator.sign_in(_with_plain_pkce(flow), ADELE)
    flow["code_verifier"] = "\u00e9" * 43
    assert_entra_error(web_app.acquire_token_by_auth_code_flow(flow, response),
                       "invalid_grant", 501481)


def test_code_redeemed_at_another_tenant(entra_emulator, web_app, make_app):
    flow, response = _flow(web_app, entra_emulator)
    in_fabrikam = make_app(tenant=FABRIKAM_ID)                 # the web app is multi-tenant
    result = in_fabrikam.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_grant", 700005)


@pytest.mark.parametrize("tenant", ["common", "organizations", CONTOSO])
def test_code_from_a_multi_tenant_authority(entra_emulator, make_app, tenant):
    app = make_app(tenant=tenant)
    flow, response = _flow(app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert client_info_of(result["client_info"])["utid"] == CONTOSO_ID
    assert result["id_token_claims"]["iss"] == f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0"


def test_missing_pkce_verifier(entra_emulator, entra_session, web_app):
    _, response = _flow(web_app, entra_emulator)
    raw = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "authorization_code",
        "code": response["code"], "redirect_uri": REDIRECT_URI, "scope": "User.Read openid"})
    assert raw.status_code == 400
    assert_entra_error(raw.json(), "invalid_grant", 501481)


def test_reused_code(entra_emulator, web_app, make_app):
    flow, response = _flow(web_app, entra_emulator)
    first = web_app.acquire_token_by_auth_code_flow(dict(flow), response)
    assert "access_token" in first
    again = make_app().acquire_token_by_auth_code_flow(flow, response)   # fresh app: no 400 cache
    assert_entra_error(again, "invalid_grant", 54005)


def test_expired_code(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    entra_emulator.clock.advance(entra_emulator.settings.code_lifetime + 1)
    result = web_app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_grant", 70008)


def test_code_just_before_expiry_still_works(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    entra_emulator.clock.advance(entra_emulator.settings.code_lifetime - 5)
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, response)


def test_unknown_code(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    result = web_app.acquire_token_by_auth_code_flow(flow, {**response, "code": "not-a-code"})
    assert_entra_error(result, "invalid_grant", 9002313)


def test_redirect_uri_differs_at_redemption(entra_emulator, web_app):
    flow, response = _flow(web_app, entra_emulator)
    flow["redirect_uri"] = "http://localhost:8000/"           # registered, but not the one used
    result = web_app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_grant", 50011)
    assert "http://localhost:8000/" in result["error_description"]


def test_correlation_id_echoes_client_request_id(entra_emulator, entra_session):
    response = entra_session.post(TOKEN_URL, headers={"client-request-id": "my-correlation"},
                                  data={"client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET,
                                        "grant_type": "authorization_code", "code": "nope",
                                        "redirect_uri": REDIRECT_URI})
    assert_entra_error(response.json(), "invalid_grant", 9002313, correlation_id="my-correlation")
