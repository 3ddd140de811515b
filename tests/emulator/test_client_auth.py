"""Client authentication at the token endpoint, seen through msal's code redemption: client secrets,
certificate assertions (PS256 + x5c, RS256 + x5t), public clients, and malformed assertions."""
import time
import uuid

import jwt
import pytest

from graph_auth.emulator import create_certificate
from graph_auth.emulator.default_directory import CLI_APP_ID, WEB_APP_ID

from .conftest import REDIRECT_URI
from .token_asserts import TOKEN_URL, assert_entra_error, claims_of, header_of
from .token_asserts import auth_code_flow as _flow
from .token_asserts import last_token_request as _sent

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")


def test_wrong_secret(entra_emulator, web_app, make_app):
    flow, response = _flow(web_app, entra_emulator)
    result = make_app(credential="not-the-secret").acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_client", 7000215)
    assert _sent(entra_emulator).status == 401
    # the code was not spent by the failed attempt
    assert "access_token" in web_app.acquire_token_by_auth_code_flow(flow, response)


def test_unknown_client(entra_emulator, web_app, make_app):
    flow, response = _flow(web_app, entra_emulator)
    stranger = str(uuid.uuid4())
    result = make_app(stranger).acquire_token_by_auth_code_flow(flow, response)
    body = assert_entra_error(result, "unauthorized_client", 700016)
    assert stranger in body["error_description"] and _sent(entra_emulator).status == 400


def test_public_client_presenting_a_secret(entra_emulator, cli_app, make_app):
    flow, response = _flow(cli_app, entra_emulator, redirect_uri="http://localhost")
    confidential = make_app(CLI_APP_ID, "some-secret")
    result = confidential.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_client", 700025)
    assert "access_token" in cli_app.acquire_token_by_auth_code_flow(flow, response)
    assert claims_of(_last_at(cli_app))["appidacr"] == "0"


def _last_at(app):
    (at,) = app.token_cache.search(app.token_cache.CredentialType.ACCESS_TOKEN)
    return at["secret"]


def test_confidential_client_without_credentials(entra_emulator, web_app, make_app):
    flow, response = _flow(web_app, entra_emulator)
    result = make_app(public=True).acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_client", 7000218)


@pytest.mark.parametrize("sha1", [False, True], ids=["PS256-x5c", "RS256-x5t"])
def test_certificate_credential(entra_emulator, entra_directory, entra_certificate, web_app,
                                make_app, sha1):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    app = make_app(credential=entra_certificate.msal_credential(sha1=sha1))
    flow, response = _flow(app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["appidacr"] == "2"
    sent = _sent(entra_emulator).form
    assert "client_secret" not in sent
    header = header_of(sent["client_assertion"])
    assert header["alg"] == ("RS256" if sha1 else "PS256")
    assert ("x5t" in header) == sha1 and ("x5c" in header) != sha1


def test_certificate_not_registered(entra_emulator, web_app, make_app, entra_certificate):
    app = make_app(credential=entra_certificate.msal_credential())
    flow, response = _flow(app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_client", 700027)


def test_assertion_signed_by_another_key(entra_emulator, entra_directory, entra_certificate,
                                         make_app):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    impostor = create_certificate("impostor")
    credential = {"private_key": impostor.private_key_pem, "thumbprint": entra_certificate.thumbprint}
    app = make_app(credential=credential)
    flow, response = _flow(app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    body = assert_entra_error(result, "invalid_client", 700027)
    assert "signature" in body["error_description"]


@pytest.mark.parametrize("assertion,status,error,code", [
    ("garbage", 400, "invalid_request", 50027),
    ("a.b.c", 400, "invalid_request", 50027),
    ("", 400, "invalid_request", 50027),
    ("eyJhbGciOiJSUzI1NiIsIng1dCI6WzFdfQ.e30.", 400, "invalid_request", 50027),   # x5t: [1]
    ("eyJhbGciOiJSUzI1NiJ9.e30.", 401, "invalid_client", 700027),    # well-formed, no key id
])
def test_garbage_client_assertion_is_not_a_server_error(entra_emulator, entra_session, assertion,
                                                        status, error, code):
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "grant_type": "authorization_code", "code": "x",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "redirect_uri": REDIRECT_URI})
    assert response.status_code == status
    assert_entra_error(response.json(), error, code)


def test_wrong_client_assertion_type(entra_emulator, entra_session, entra_certificate):
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "grant_type": "authorization_code", "code": "x",
        "client_assertion_type": "urn:example:other", "client_assertion": "x.y.z",
        "redirect_uri": REDIRECT_URI})
    assert_entra_error(response.json(), "invalid_request", 50027)


def test_garbage_assertion_via_msal(entra_emulator, web_app, make_app):
    app = make_app(credential={"client_assertion": lambda: "not-a-jwt"})
    flow, response = _flow(web_app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_request", 50027)


def _assertion(cert, **claims):
    now = time.time()
    payload = {"aud": TOKEN_URL, "iss": WEB_APP_ID, "sub": WEB_APP_ID, "iat": now,
               "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, cert.private_key_pem, algorithm="RS256",
                      headers={"x5t": jwt.utils.base64url_encode(
                          bytes.fromhex(cert.thumbprint)).decode()})


def test_expired_assertion(entra_emulator, entra_directory, entra_certificate, web_app, make_app):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    stale = _assertion(entra_certificate, exp=time.time() - 60, iat=time.time() - 700)
    app = make_app(credential={"client_assertion": lambda: stale})
    flow, response = _flow(web_app, entra_emulator)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert_entra_error(result, "invalid_client", 700024)
    # msal's own assertion expires too once the emulator's clock passes its exp (iat + 600 s)
    fresh = make_app(credential=entra_certificate.msal_credential())
    assert "access_token" in fresh.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    entra_emulator.clock.advance(601)
    flow, response = _flow(fresh, entra_emulator)
    result = fresh.acquire_token_by_auth_code_flow(flow, response)   # msal reuses its assertion
    assert_entra_error(result, "invalid_client", 700024)


@pytest.mark.parametrize("claim,value,code", [
    ("aud", "https://login.microsoftonline.com/common/oauth2/token", 700212),
    ("iss", CLI_APP_ID, 700021),
    ("nbf", time.time() + 3600, 700024),                 # not valid yet (beyond 5 min of skew)
])
def test_assertion_with_wrong_claims(entra_emulator, entra_directory, entra_certificate, web_app,
                                     make_app, claim, value, code):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    bad = _assertion(entra_certificate, **{claim: value})
    app = make_app(credential={"client_assertion": lambda: bad})
    flow, response = _flow(web_app, entra_emulator)
    assert_entra_error(app.acquire_token_by_auth_code_flow(flow, response), "invalid_client", code)


def test_assertion_audience_may_be_a_list(entra_emulator, entra_directory, entra_certificate,
                                          web_app, make_app):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    listed = _assertion(entra_certificate, aud=[TOKEN_URL])
    app = make_app(credential={"client_assertion": lambda: listed})
    flow, response = _flow(web_app, entra_emulator)
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, response)
