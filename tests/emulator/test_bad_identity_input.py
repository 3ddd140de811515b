"""Hostile input to the identity endpoints gets Entra's 4xx answer, never a server error."""
import json
import time
import uuid
from urllib.parse import urlencode

import jwt
import pytest

from graph_auth.emulator.default_directory import CLI_APP_ID, CONTOSO_ID, WEB_APP_ID, WEB_APP_SECRET

from .browsing import browser, interactive_sign_in, redirect_params
from .conftest import REDIRECT_URI
from .token_asserts import LOGIN, TOKEN_URL, assert_entra_error

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
AUTHORIZE = f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/authorize"
BAD_CLAIMS = ["[" * 100000, '{"a":' * 50000 + "1" + "}" * 50000, '{"access_token":[1]}', '{"id_token": "x"}',
              "[]", "5", "-1.5e300", '{"access_token":{"nbf":[1]}}', '{"access_token":{"nbf":{"essential":"yes"}}}']


@pytest.fixture(autouse=True)
def _no_internal_errors(entra_emulator):
    yield
    assert entra_emulator.errors == []


@pytest.mark.parametrize("claims", BAD_CLAIMS, ids=range(len(BAD_CLAIMS)))
def test_bad_claims_at_authorize_is_an_error_redirect(browser, claims):
    params = {"client_id": WEB_APP_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
              "scope": "openid User.Read", "state": "st", "claims": claims}
    response = browser.session.post(AUTHORIZE, data=params, allow_redirects=False)   # too long for a URL
    assert response.status_code == 302, response.text[:300]
    result = redirect_params(response.headers["Location"])
    assert result["error"] == "invalid_request" and result["state"] == "st"
    assert result["error_description"].startswith("AADSTS50117: ")


@pytest.mark.parametrize("claims", BAD_CLAIMS, ids=range(len(BAD_CLAIMS)))
@pytest.mark.parametrize("grant", ["refresh_token", "client_credentials", "authorization_code"])
def test_bad_claims_at_the_token_endpoint(entra_emulator, entra_session, signed_in, claims, grant):
    _, result = signed_in
    form = {"client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": grant, "claims": claims,
            "refresh_token": result["refresh_token"], "code": "spent", "redirect_uri": REDIRECT_URI,
            "scope": "https://graph.microsoft.com/.default" if grant == "client_credentials" else "User.Read"}
    response = entra_session.post(TOKEN_URL, data=form)
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_request", 50117)


@pytest.mark.parametrize("claims", BAD_CLAIMS[:3], ids=range(3))
def test_bad_claims_at_the_devicecode_endpoint(entra_session, claims):
    response = entra_session.post(f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/devicecode",
                                  data={"client_id": CLI_APP_ID, "scope": "User.Read", "claims": claims})
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_request", 50117)


def test_a_bad_claims_request_does_not_spend_the_code(entra_emulator, entra_session, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    response = entra_emulator.sign_in(flow["auth_uri"], "adele@contoso.onmicrosoft.com")
    form = {"client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "authorization_code",
            "code": response["code"], "redirect_uri": REDIRECT_URI, "code_verifier": flow["code_verifier"],
            "scope": "User.Read"}
    assert entra_session.post(TOKEN_URL, data={**form, "claims": "[]"}).status_code == 400
    assert entra_session.post(TOKEN_URL, data=form).status_code == 200


@pytest.mark.parametrize("max_age", ["abc", "²", "-1", "1e3", "9" * 5000, " "])
def test_max_age_that_is_not_a_whole_number_is_ignored(browser, web_app, max_age):
    interactive_sign_in(browser, web_app)          # an SSO session to measure the age of
    params = {"client_id": WEB_APP_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
              "scope": "openid User.Read", "state": "st", "max_age": max_age}
    response = browser.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert response.status_code in (200, 302), response.text[:300]


def test_a_huge_max_age_is_no_limit(browser, web_app, entra_emulator):
    interactive_sign_in(browser, web_app)
    entra_emulator.clock.advance(86400 * 365)
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, max_age=10 ** 40)
    response = browser.get(flow["auth_uri"])
    assert response.status_code == 302                      # the SSO session is young enough
    result = web_app.acquire_token_by_auth_code_flow(flow, redirect_params(response.headers["Location"]))
    assert "auth_time" in result["id_token_claims"]


def _assertion(cert, **claims):
    now = time.time()
    payload = {"aud": TOKEN_URL, "iss": WEB_APP_ID, "sub": WEB_APP_ID, "iat": now, "nbf": now,
               "exp": now + 600, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, cert.private_key_pem, algorithm="RS256",
                      headers={"x5t": jwt.utils.base64url_encode(bytes.fromhex(cert.thumbprint)).decode()})


@pytest.mark.parametrize("claims", [
    {"nbf": "nan"}, {"exp": "nan"}, {"iat": "inf"}, {"exp": "Infinity"}, {"exp": float("nan")},
    {"exp": float("inf")}, {"nbf": float("-inf")}, {"exp": "abc"}, {"nbf": "soon"}, {"iat": "abc"},
    {"exp": 10 ** 400}, {"exp": [1]}, {"exp": None}, {"exp": True}, {"iat": {"a": 1}},
], ids=lambda c: "".join(f"{k}={v!r:.12}" for k, v in c.items()))
def test_assertion_times_that_are_not_numbers(entra_session, entra_directory, entra_certificate, claims):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(entra_certificate, **claims)})
    assert response.status_code == 400, response.text
    assert_entra_error(response.json(), "invalid_request", 50027)


def test_assertion_with_numeric_times_still_works(entra_session, entra_directory, entra_certificate):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    now = int(time.time())
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(entra_certificate, iat=now, nbf=now, exp=now + 600)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("uri", ["http://[::1", "http://[zz]/callback"])
def test_redirect_uri_that_does_not_parse(browser, uri):
    params = {"client_id": WEB_APP_ID, "response_type": "code", "redirect_uri": uri, "scope": "openid"}
    page = browser.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert page.status_code == 400 and "AADSTS50011" in page.text          # not a registered URI
    page = browser.get(f"{LOGIN}/common/oauth2/v2.0/logout?{urlencode({'post_logout_redirect_uri': uri})}")
    assert page.status_code == 200 and "You signed out" in page.text       # and not a place to go


@pytest.mark.parametrize("header", [{"alg": "RS256", "x5c": {"0": "x"}}, {"alg": "RS256", "x5c": [None]},
                                    {"alg": "RS256", "x5t#S256": {"a": 1}}], ids=range(3))
def test_assertion_header_of_the_wrong_shape(entra_session, header):
    def segment(data):
        return jwt.utils.base64url_encode(json.dumps(data).encode()).decode()
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": f"{segment(header)}.{segment({'iss': WEB_APP_ID})}.c2ln"})
    assert response.status_code == 400
    assert_entra_error(response.json(), "invalid_request", 50027)
