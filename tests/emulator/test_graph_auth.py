"""Graph's bearer checks, request ids, throttling, revokeSignInSessions, CAE and /oidc/userinfo."""
import base64
import json
import re

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from graph_auth.emulator.default_directory import API_APP_ID

from .conftest import ADELE, REDIRECT_URI
from .graphing import ALEX, FABRICE, GRAPH, MEGAN, V1, Graph, as_user, assert_graph_error, daemon, new_id

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
REVOKE = ["User.Read", "User.RevokeSessions.All"]


def challenge(response) -> dict:
    """Parse a ``WWW-Authenticate: Bearer k="v", ...`` header."""
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def assert_unauthorized(response, message: str | None = None) -> dict:
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    params = challenge(response)
    assert params["client_id"] == GRAPH_APP
    assert params["authorization_uri"] == "https://login.microsoftonline.com/common/oauth2/authorize"
    if message is not None:
        assert error["message"] == message
    return params


@pytest.fixture(scope="module")
def foreign_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forge(claims: dict, key, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


# -- bearer checks ------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer", "Basic dXNlcjpwYXNz", ""])
def test_missing_token(entra_session, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = entra_session.get(f"{V1}/me", headers=headers)
    assert_unauthorized(response, "Access token is empty.")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "é.€.x"])
def test_malformed_token(entra_session, token):
    response = Graph(entra_session, token).get("/me")
    assert_unauthorized(response)


def test_foreign_signature(entra_emulator, entra_session, signed_in, foreign_key):
    _, result = signed_in
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    own_kid = jwt.get_unverified_header(result["access_token"])["kid"]
    for kid in (own_kid, "someone-elses-key"):        # the emulator's kid, or another one
        response = Graph(entra_session, forge(claims, foreign_key, kid)).get("/me")
        assert_unauthorized(response)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": own_kid})
    assert_unauthorized(Graph(entra_session, unsigned).get("/me"))
    hs256 = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": own_kid})
    assert_unauthorized(Graph(entra_session, hs256).get("/me"))


def test_token_for_another_api_is_refused(entra_emulator, entra_session, web_app):
    flow = web_app.initiate_auth_code_flow([f"api://{API_APP_ID}/access_as_user"], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["aud"] == API_APP_ID
    response = Graph(entra_session, result["access_token"]).get("/me")
    assert_unauthorized(response, "Access token validation failure. Invalid audience.")
    # An ID token is not an access token for Graph either.
    assert_unauthorized(Graph(entra_session, result["id_token"]).get("/me"),
                        "Access token validation failure. Invalid audience.")


def test_expired_token(entra_emulator, entra_session, signed_in):
    graph = Graph(entra_session, signed_in[1]["access_token"])
    entra_emulator.clock.advance(entra_emulator.settings.access_token_lifetime - 5)
    assert graph.get("/me").status_code == 200
    entra_emulator.clock.advance(10)
    assert_unauthorized(graph.get("/me"), "Lifetime validation failed, the token is expired.")


def test_forged_claims_with_emulator_kid_but_unknown_user(entra_emulator, entra_session, signed_in):
    """A token the emulator signed for a user it no longer knows is refused, not a crash."""
    _, result = signed_in
    del entra_emulator.directory.users[result["id_token_claims"]["oid"]]
    assert_unauthorized(Graph(entra_session, result["access_token"]).get("/me"))


def test_missing_scope_is_403(entra_session, signed_in):
    graph = Graph(entra_session, signed_in[1]["access_token"])          # User.Read only
    for path in ("/users", "/me/messages", f"/users/{MEGAN}", "/me/revokeSignInSessions"):
        response = graph.post(path) if "revoke" in path else graph.get(path)
        error = assert_graph_error(response, 403, "Authorization_RequestDenied")
        assert "WWW-Authenticate" not in response.headers, path
        assert error["message"] == "Insufficient privileges to complete the operation."


def test_app_only_token_without_the_permission(entra_session, make_app):
    from graph_auth.emulator.default_directory import WEB_APP_ID, WEB_APP_SECRET
    result = make_app(WEB_APP_ID, WEB_APP_SECRET).acquire_token_for_client([f"{GRAPH}/.default"])
    graph = Graph(entra_session, result["access_token"])    # roles: User.Read.All, User.RevokeSessions.All
    assert graph.get("/users").status_code == 200
    assert_graph_error(graph.get(f"/users/{ADELE}/messages"), 403)       # no Mail.Read role


# -- request ids ----------------------------------------------------------------------------------
def test_request_ids_on_success_and_errors(entra_session, signed_in):
    graph = Graph(entra_session, signed_in[1]["access_token"])
    ok = graph.get("/me")
    assert re.fullmatch(r"[0-9a-f-]{36}", ok.headers["request-id"])
    assert ok.headers["client-request-id"] == ok.headers["request-id"]
    assert ok.headers["OData-Version"] == "4.0"
    assert ok.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    mine = new_id()
    for response in (graph.get("/me", {"client-request-id": mine}),
                     graph.get("/nowhere", {"client-request-id": mine}),
                     Graph(entra_session, None).get("/me", {"client-request-id": mine})):
        assert response.headers["client-request-id"] == mine
        assert response.headers["request-id"] != mine
        if response.status_code >= 400:
            error = assert_graph_error(response, response.status_code)
            assert error["innerError"]["client-request-id"] == mine
    assert graph.get("/me").headers["request-id"] != ok.headers["request-id"]


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/v1.0/groups", 400), ("GET", "/v1.0/me/foo", 400), ("GET", "/v1.0/me/photo/$value/x", 400),
    ("GET", "/v2.0/me", 400), ("GET", "/v1.0", 400), ("GET", "/", 400), ("GET", "/v1.0/$batch", 405),
    ("GET", f"/v1.0/users/{ADELE}/nope", 400), ("DELETE", "/v1.0/me", 405), ("PATCH", "/v1.0/users", 405),
    ("GET", "/v1.0/me/%ZZ", 400), ("GET", "/v1.0/users/%00", 404), ("POST", "/v1.0/me/photo/$value", 405),
    ("GET", "/v1.0/me/revokeSignInSessions", 405), ("GET", "/v1.0/me/getMemberObjects", 405),
    ("GET", "/v1.0/users/", 200), ("GET", "/v1.0/me/messages/x/y", 400),
])
def test_unknown_segments_are_client_errors(entra_emulator, entra_session, signed_in, method, path, status):
    response = entra_session.request(method, f"{GRAPH}{path}",
                                     headers={"Authorization": f"Bearer {signed_in[1]['access_token']}"})
    if status == 200:      # a trailing slash is not a new segment (User.Read cannot list: 403)
        assert_graph_error(response, 403)
    else:
        assert_graph_error(response, status)
    assert not entra_emulator.errors


# -- throttling --------------------------------------------------------------------------------
def test_throttled_user_then_success(entra_emulator, entra_session, signed_in, as_user):
    graph = Graph(entra_session, signed_in[1]["access_token"])
    other = as_user(ALEX)
    entra_emulator.throttle(ADELE, retry_after=7, times=2)
    for _ in range(2):
        response = graph.get("/me")
        assert_graph_error(response, 429, "TooManyRequests")
        assert response.headers["Retry-After"] == "7"
    assert other.get("/me").status_code == 200                  # only Adele is throttled
    assert graph.get("/me").status_code == 200
    entra_emulator.throttle(ADELE, retry_after=2.128)
    assert graph.get("/me/photo/$value").headers["Retry-After"] == "2.128"
    assert graph.get("/me/photo/$value").status_code == 200


def test_forced_graph_fault_at_top_level(entra_emulator, entra_session, signed_in):
    graph = Graph(entra_session, signed_in[1]["access_token"])
    entra_emulator.fail_next("graph:/v1.0/me", 503, headers={"Retry-After": "3"})
    response = graph.get("/me")
    assert_graph_error(response, 503, "serviceNotAvailable")
    assert response.headers["Retry-After"] == "3"
    assert graph.get("/me").status_code == 200


# -- revokeSignInSessions and CAE --------------------------------------------------------------------
def test_revoke_own_sessions(entra_emulator, as_user):
    graph = as_user(ADELE, REVOKE)
    response = graph.post("/me/revokeSignInSessions")
    assert response.status_code == 200
    assert response.json() == {"@odata.context": f"{V1}/$metadata#Edm.Boolean", "value": True}
    # Not a CAE client: the access token keeps working until it expires...
    assert graph.get("/me").status_code == 200
    # ...but the refresh token is dead.
    refreshed = graph.app.acquire_token_silent_with_error(REVOKE, graph.account, force_refresh=True)
    assert refreshed["error"] == "invalid_grant" and 50173 in refreshed["error_codes"], refreshed
    entra_emulator.clock.advance(entra_emulator.settings.access_token_lifetime + 1)
    assert_unauthorized(graph.get("/me"), "Lifetime validation failed, the token is expired.")


def test_app_only_revocation_and_the_cae_loop(entra_emulator, as_user, daemon):
    scopes = ["User.Read"]
    cae = as_user(ADELE, scopes, cp1=True)
    plain = as_user(ADELE, scopes)
    claims = jwt.decode(cae.token, options={"verify_signature": False})
    assert claims["xms_cc"] == ["cp1"]
    assert "xms_cc" not in jwt.decode(plain.token, options={"verify_signature": False})
    assert cae.get("/me").status_code == 200
    before = int(entra_emulator.clock.now())

    response = daemon.post(f"/users/{claims['oid']}/revokeSignInSessions")
    assert response.status_code == 200 and response.json()["value"] is True

    response = cae.get("/me")
    params = assert_unauthorized(response)
    assert params["error"] == "insufficient_claims"
    assert "TokenIssuedBeforeRevocationTimestamp" in params["error_description"]
    assert "TokenIssuedBeforeRevocationTimestamp" in response.json()["error"]["message"]
    decoded = base64.b64decode(params["claims"]).decode()
    challenge_claims = json.loads(decoded)
    assert challenge_claims == {"access_token": {"nbf": {"essential": True, "value": challenge_claims[
        "access_token"]["nbf"]["value"]}}}
    assert abs(int(challenge_claims["access_token"]["nbf"]["value"]) - before) <= 2
    assert plain.get("/me").status_code == 200                 # no cp1: keeps working

    # The client answers the challenge: msal skips its cache and sends the claims with the refresh.
    entra_emulator.clear_log()
    result = cae.app.acquire_token_silent_with_error(scopes, cae.account, claims_challenge=decoded)
    assert result["error"] == "invalid_grant" and 50173 in result["error_codes"], result
    (sent,) = entra_emulator.requests("token", grant_type="refresh_token")
    assert json.loads(sent.form["claims"])["access_token"]["xms_cc"] == {"values": ["cp1"]}

    # Interactive sign-in again: the new token is issued after the revocation and works.
    again = as_user(ADELE, scopes, cp1=True)
    assert again.get("/me").status_code == 200


def test_cae_challenge_for_a_disabled_user(entra_emulator, as_user):
    cae = as_user(ALEX, cp1=True)
    entra_emulator.user(ALEX).enabled = False
    params = assert_unauthorized(cae.get("/me"))
    assert params["error"] == "insufficient_claims"
    value = json.loads(base64.b64decode(params["claims"]))["access_token"]["nbf"]["value"]
    # A token issued after the challenge's nbf would pass: the value is not 0 or in the past.
    assert int(value) >= jwt.decode(cae.token, options={"verify_signature": False})["iat"]


def test_revoke_needs_a_user_in_the_callers_tenant(daemon, as_user):
    assert_graph_error(daemon.post(f"/users/{FABRICE}/revokeSignInSessions"), 404, "Request_ResourceNotFound")
    assert_graph_error(daemon.post("/me/revokeSignInSessions"), 400, "BadRequest")
    graph = as_user(ADELE, REVOKE)
    assert graph.post(f"/users/{MEGAN}/revokeSignInSessions").status_code == 200


# -- /oidc/userinfo ------------------------------------------------------------------------------
def test_userinfo_matches_the_id_token(entra_session, signed_in):
    _, result = signed_in
    response = Graph(entra_session, result["access_token"]).get(f"{GRAPH}/oidc/userinfo")
    assert response.status_code == 200
    info = response.json()
    id_claims = result["id_token_claims"]
    assert info["sub"] == id_claims["sub"]                  # OIDC Core 5.3.2: must match
    assert info == {"sub": id_claims["sub"], "name": "Adele Vance", "family_name": "Vance",
                    "given_name": "Adele", "email": ADELE,
                    "picture": f"{V1}/me/photo/$value"}
    post = Graph(entra_session, result["access_token"]).post(f"{GRAPH}/oidc/userinfo")
    assert post.status_code == 200 and post.json() == info


def test_userinfo_refuses_app_only_and_missing_tokens(entra_session, daemon):
    assert_unauthorized(daemon.get(f"{GRAPH}/oidc/userinfo"))
    assert_unauthorized(Graph(entra_session, None).get(f"{GRAPH}/oidc/userinfo"), "Access token is empty.")


def test_userinfo_omits_a_missing_email(entra_emulator, as_user):
    entra_emulator.user(ALEX).mail = None
    info = as_user(ALEX).get(f"{GRAPH}/oidc/userinfo").json()
    assert "email" not in info and info["name"] == "Alex Wilber"
