"""Bad input at the token endpoint is an Entra-shaped 4xx, never a 500 (raw requests msal would not
send), and every error body has the wire spec's shape."""
import pytest

from graph_auth.emulator.default_directory import (
    CONTOSO_ID,
    DAEMON_APP_ID,
    DAEMON_APP_SECRET,
    WEB_APP_ID,
    WEB_APP_SECRET,
)

from .token_asserts import LOGIN, TOKEN_URL, assert_entra_error, claims_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CC = {"client_id": DAEMON_APP_ID, "client_secret": DAEMON_APP_SECRET,
      "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"}


@pytest.fixture(autouse=True)
def _no_internal_errors(entra_emulator):
    yield
    assert entra_emulator.errors == []


def _error(response, status, error, code, **kwargs):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return assert_entra_error(response.json(), error, code, **kwargs)


def test_missing_grant_type(entra_session):
    body = _error(entra_session.post(TOKEN_URL, data={"client_id": WEB_APP_ID}),
                  400, "invalid_request", 900144)
    assert "'grant_type'" in body["error_description"]


def test_unknown_grant_type(entra_session):
    body = _error(entra_session.post(TOKEN_URL, data={**CC, "grant_type": "magic"}),
                  400, "unsupported_grant_type", 70003)
    assert "'magic'" in body["error_description"]


def test_missing_client_id(entra_session):
    body = _error(entra_session.post(TOKEN_URL, data={**CC, "client_id": ""}),
                  400, "invalid_request", 900144)
    assert "'client_id'" in body["error_description"]


def test_json_body_is_not_a_form(entra_session):
    _error(entra_session.post(TOKEN_URL, json=CC), 400, "invalid_request", 900144)


@pytest.mark.parametrize("body", [b"%%%&&==&=&grant_type", b"=&=&&", b"grant_type", b"\xff\xfe\xfd",
                                  b"grant_type=client_credentials&client_id=\xff"])
def test_malformed_form_bodies(entra_session, body):
    response = entra_session.post(TOKEN_URL, data=body, headers=FORM)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert_entra_error(response.json(), "invalid_request", 900144)


def test_form_without_content_type(entra_session):
    response = entra_session.post(TOKEN_URL, data=b"grant_type=client_credentials",
                                  headers={"Content-Type": "text/plain"})
    _error(response, 400, "invalid_request", 900144)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_on_token_endpoint(entra_session, method):
    body = _error(entra_session.request(method, TOKEN_URL), 405, "invalid_request", 900561)
    assert f"Received a {method} request" in body["error_description"]


@pytest.mark.parametrize("path", ["/common/oauth2/v2.0/nothing", "/common/oauth2/token",
                                  f"/{CONTOSO_ID}/v2.0/token", "/a/b/c/d/e"])
def test_unknown_path(entra_session, path):
    response = entra_session.post(f"{LOGIN}{path}", data=CC)
    assert response.status_code == 404 and response.json()["error"]


def test_unknown_tenant(entra_session):
    response = entra_session.post(f"{LOGIN}/nosuch.onmicrosoft.com/oauth2/v2.0/token", data=CC)
    _error(response, 400, "invalid_tenant", 90002)


@pytest.mark.parametrize("claims", ["{not json", "[1, 2]", "null", "42", '"x"', '{"access_token": 5}',
                                    '{"access_token": {"xms_cc": "cp1"}}',
                                    '{"access_token": {"xms_cc": {"values": "cp1"}}}'])
def test_garbage_claims_parameter(entra_session, signed_in, claims):
    _, result = signed_in
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "refresh_token",
        "refresh_token": result["refresh_token"], "scope": "User.Read openid", "claims": claims})
    _error(response, 400, "invalid_request", 50117)


@pytest.mark.parametrize("claims", ["{}", '{"access_token": {"no_such_claim": null}}', '{"userinfo": {}}'])
def test_odd_but_valid_claims_json_is_ignored(entra_session, signed_in, claims):
    _, result = signed_in
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "refresh_token",
        "refresh_token": result["refresh_token"], "scope": "User.Read openid", "claims": claims})
    assert response.status_code == 200, response.text
    assert "xms_cc" not in claims_of(response.json()["access_token"])


@pytest.mark.parametrize("scope,error,code", [
    ("No.Such.Scope", "invalid_scope", 70011),
    ("api://nothing-here/read", "invalid_resource", 500011),
    ("User.Read api://f2c1a7d0-3b58-4e6a-9c47-1d8e5b2a6f90/access_as_user", "invalid_scope", 28000),
    ("", "invalid_request", 900144),
    ("   ", "invalid_request", 900144),
])
def test_bad_scopes_on_refresh(entra_session, signed_in, scope, error, code):
    _, result = signed_in
    response = entra_session.post(TOKEN_URL, data={
        "client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "refresh_token",
        "refresh_token": result["refresh_token"], "scope": scope})
    _error(response, 400, error, code)


@pytest.mark.parametrize("data,status,error,code", [
    ({"client_id": WEB_APP_ID}, 400, "invalid_request", 900144),
    ({**CC, "grant_type": "nope"}, 400, "unsupported_grant_type", 70003),
    ({**CC, "client_secret": "wrong"}, 401, "invalid_client", 7000215),
    ({**CC, "scope": "User.Read"}, 400, "invalid_scope", 1002012),
    ({"client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "refresh_token",
      "refresh_token": "nope", "scope": "User.Read"}, 400, "invalid_grant", 9002313),
    ({"client_id": WEB_APP_ID, "client_secret": WEB_APP_SECRET, "grant_type": "password",
      "username": "adele@contoso.onmicrosoft.com", "password": "p\u00e4ss\u2603",
      "scope": "User.Read"}, 400, "invalid_grant", 50126),
])
def test_error_bodies_echo_the_client_request_id(entra_session, data, status, error, code):
    correlation = "0f8fad5b-d9cb-469f-a165-70867728950e"
    response = entra_session.post(TOKEN_URL, data=data, headers={"client-request-id": correlation})
    _error(response, status, error, code, correlation_id=correlation)
    fresh = entra_session.post(TOKEN_URL, data=data)             # without it: a new GUID each time
    assert fresh.json()["correlation_id"] != correlation
    assert fresh.json()["trace_id"] != response.json()["trace_id"]


def test_error_timestamp_follows_the_emulator_clock(entra_emulator, entra_session):
    entra_emulator.clock.freeze(1_800_000_000)
    body = _error(entra_session.post(TOKEN_URL, data={**CC, "grant_type": "x"}),
                  400, "unsupported_grant_type", 70003)
    assert body["timestamp"] == "2027-01-15 08:00:00Z"


def test_success_response_is_not_cacheable(entra_session):
    response = entra_session.post(TOKEN_URL, data=CC)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert "Retry-After" not in response.headers
