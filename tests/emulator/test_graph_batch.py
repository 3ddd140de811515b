"""JSON batching: POST /v1.0/$batch (20 requests, per-request statuses, dependsOn, throttling)."""
import base64
from importlib import resources

import pytest

from .conftest import ADELE
from .graphing import ALEX, FABRICE, MEGAN, V1, Graph, as_user, assert_graph_error, daemon

JSON = {"Content-Type": "application/json"}


def get(id_, url, **extra):
    return {"id": id_, "method": "GET", "url": url, **extra}


def by_id(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["request-id"]
    responses = response.json()["responses"]
    return {r["id"]: r for r in responses}


def assert_sub_error(sub: dict, status: int, code: str | None = None) -> dict:
    assert sub["status"] == status, sub
    assert sub["headers"]["Content-Type"].startswith("application/json")
    error = sub["body"]["error"]
    assert set(error) == {"code", "message", "innerError"} and error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture
def adele(as_user):
    return as_user(ADELE, ["User.Read", "Mail.Read"])


def test_twenty_requests_with_mixed_statuses(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/photo", 429, headers={"Retry-After": "7"})
    requests = [
        get("me", "/me"), get("select", "/me?$select=displayName"), get("photo", "/me/photo/$value"),
        get("photo2", "/me/photo/$value"), get("meta", "/me/photo"),
        get("mail", "/me/messages?$top=5"), get("nobody", "/users/nobody@contoso.onmicrosoft.com"),
        get("megan", f"/users/{MEGAN}"), get("users", "/users"), get("fabrice", f"/users/{FABRICE}"),
        get("bad", "/me?$select=nope"), get("unknown", "/me/nothing"), get("top", "/me/messages?$top=0"),
        {"id": "groups", "method": "POST", "url": "/me/getMemberObjects",
         "body": {"securityEnabledOnly": False}, "headers": JSON},
        {"id": "nobody-body", "method": "POST", "url": "/me/getMemberObjects", "body": {}, "headers": JSON},
        {"id": "no-ct", "method": "POST", "url": "/me/getMemberObjects",
         "body": {"securityEnabledOnly": True}},
        get("delete", "/me", method="DELETE"), get("v1", "/v1.0/me"), get("memberof", "me/memberOf"),
        get("info", "/me?$select=mail"),
    ]
    assert len(requests) == 20
    subs = by_id(adele.batch(requests))
    assert set(subs) == {r["id"] for r in requests}
    for key in ("me", "select", "photo2", "meta", "mail", "groups", "v1", "memberof", "info"):
        assert subs[key]["status"] == 200, subs[key]
        assert subs[key]["headers"]["Content-Type"].startswith("application/json") or key == "photo2"
    assert subs["me"]["body"]["userPrincipalName"] == ADELE
    assert subs["select"]["body"] == {"@odata.context": f"{V1}/$metadata#users(displayName)/$entity",
                                      "displayName": "Adele Vance"}
    throttled = assert_sub_error(subs["photo"], 429, "TooManyRequests")
    assert subs["photo"]["headers"]["Retry-After"] == "7" and throttled["message"]
    assert subs["mail"]["body"]["@odata.nextLink"].startswith(f"{V1}/me/messages?")
    assert len(subs["groups"]["body"]["value"]) == 3
    assert_sub_error(subs["nobody"], 404, "Request_ResourceNotFound")
    assert_sub_error(subs["fabrice"], 404, "Request_ResourceNotFound")
    assert_sub_error(subs["megan"], 403, "Authorization_RequestDenied")
    assert_sub_error(subs["users"], 403, "Authorization_RequestDenied")
    assert_sub_error(subs["bad"], 400, "Request_BadRequest")
    assert_sub_error(subs["unknown"], 400, "BadRequest")
    assert_sub_error(subs["top"], 400)
    assert_sub_error(subs["nobody-body"], 400)
    assert_sub_error(subs["no-ct"], 400)
    assert_sub_error(subs["delete"], 405)
    assert not entra_emulator.errors


def test_photo_inside_a_batch_is_base64(adele):
    subs = by_id(adele.batch([get("1", "/me/photo/$value"), get("2", "/users/" + ADELE + "/photo/$value")]))
    data = resources.files("graph_auth.emulator").joinpath("assets", "adele.jpg").read_bytes()
    for sub in subs.values():
        assert sub["status"] == 200 and sub["headers"]["Content-Type"] == "image/jpeg"
        assert base64.b64decode(sub["body"]) == data


def test_throttled_user_inside_a_batch(adele, entra_emulator):
    entra_emulator.throttle(ADELE, retry_after=4, times=3)
    subs = by_id(adele.batch([get(str(n), "/me?$select=id") for n in range(5)]))
    statuses = [subs[str(n)]["status"] for n in range(5)]
    assert statuses == [429, 429, 429, 200, 200]
    assert all(subs[str(n)]["headers"]["Retry-After"] == "4" for n in range(3))
    assert adele.get("/me").status_code == 200                   # used up inside the batch


def test_depends_on_chain_with_a_failing_dependency(adele):
    requests = [get("1", "/users/nobody@contoso.onmicrosoft.com"),
                get("2", "/me", dependsOn=["1"]), get("3", "/me", dependsOn=["2"]),
                get("4", "/me"), get("5", "/me/messages?$top=1", dependsOn=["4"]),
                get("6", "/me", dependsOn=["4", "1"])]
    subs = by_id(adele.batch(requests))
    assert subs["1"]["status"] == 404
    for key in ("2", "3", "6"):
        assert_sub_error(subs[key], 424)
    assert subs["4"]["status"] == 200 and subs["5"]["status"] == 200


def test_depends_on_ids_are_case_insensitive_and_run_first(adele, entra_emulator):
    entra_emulator.throttle(ADELE, times=1)                      # the first request run is throttled
    subs = by_id(adele.batch([get("b", "/me", dependsOn=["A"]), get("a", "/me")]))
    assert subs["a"]["status"] == 429 and subs["b"]["status"] == 424


@pytest.mark.parametrize("requests,fragment", [
    ([get(str(n), "/me") for n in range(21)], "limit of 20"),
    ([get("1", "/me"), get("1", "/me")], "duplicate"),
    ([get("a", "/me"), get("A", "/me")], "duplicate"),
    ([get("1", "/me", dependsOn=["9"])], "unknown request"),
    ([get("1", "/me", dependsOn="2"), get("2", "/me")], "dependsOn"),
    ([get("1", "/me", dependsOn=[2]), get("2", "/me")], "dependsOn"),
    ([get("1", "/me", dependsOn=["2"]), get("2", "/me", dependsOn=["1"])], "cycle"),
    ([get("1", "/me", dependsOn=["1"])], "cycle"),
    ([], "at least one"),
    ([get(1, "/me")], "id"),
    ([{"id": "1", "url": "/me"}], "method"),
    ([{"id": "1", "method": "GET"}], "url"),
    ([get("1", f"{V1}/me")], "relative"),
    ([get("1", "/me", headers=["Content-Type"])], "headers"),
    ([get("1", "/me", headers={"x": 1})], "headers"),
    (["not an object"], "id"),
])
def test_invalid_batches(adele, entra_emulator, requests, fragment):
    response = adele.batch(requests)
    error = assert_graph_error(response, 400, "BadRequest")
    assert fragment.lower() in error["message"].lower()
    assert not entra_emulator.errors


@pytest.mark.parametrize("data", [b"{not json", b"", b"null", b"[]", b'{"requests": {}}', b"\xff\xfe",
                                  b'{"requests": "x"}'])
def test_malformed_batch_payload(adele, data):
    response = adele.post("/$batch", data=data, headers=JSON)
    assert_graph_error(response, 400, "BadRequest")


def test_batch_needs_a_token_and_post(entra_session, adele):
    response = Graph(entra_session, None).batch([get("1", "/me")])
    assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "WWW-Authenticate" in response.headers
    assert_graph_error(adele.get("/$batch"), 405)


def test_batch_bodies_as_strings(adele, entra_emulator):
    subs = by_id(adele.batch([
        {"id": "json-string", "method": "POST", "url": "/me/getMemberObjects",
         "body": '{"securityEnabledOnly": true}', "headers": JSON},
        {"id": "b64", "method": "POST", "url": "/me/getMemberObjects",
         "body": base64.b64encode(b'{"securityEnabledOnly": true}').decode(),
         "headers": {"Content-Type": "text/plain"}},
        {"id": "not-b64", "method": "POST", "url": "/me/getMemberObjects", "body": "%%%",
         "headers": {"Content-Type": "text/plain"}},
    ]))
    assert len(subs["json-string"]["body"]["value"]) == 2
    assert subs["b64"]["body"] == subs["json-string"]["body"]
    assert_sub_error(subs["not-b64"], 400)
    assert not entra_emulator.errors


def test_app_only_batch_and_headers(daemon):
    subs = by_id(daemon.batch([
        get("me", "/me"), get("adele", f"/users/{ADELE}?$select=displayName"),
        get("count", "/users?$count=true&$top=1", headers={"ConsistencyLevel": "eventual"}),
        get("nocount", "/users?$count=true"), get("encoded", "/users/adele%40contoso.onmicrosoft.com"),
        get("mail", f"/users/{ALEX}/messages"),
    ]))
    assert_sub_error(subs["me"], 400, "BadRequest")
    assert subs["adele"]["body"]["displayName"] == "Adele Vance"
    assert subs["count"]["body"]["@odata.count"] == 9            # 7 members and 2 guests
    assert_sub_error(subs["nocount"], 400)
    assert subs["encoded"]["status"] == 200
    assert len(subs["mail"]["body"]["value"]) == 3


def test_forced_fault_with_body_and_times(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 503, json={"error": {"code": "custom"}}, times=2)
    subs = by_id(adele.batch([get(str(n), "/me/messages?$top=1") for n in range(3)]))
    assert [subs[str(n)]["status"] for n in range(3)] == [503, 503, 200]
    assert subs["0"]["body"] == {"error": {"code": "custom"}}
    entra_emulator.fail_next("graph:/v1.0/me", 500)
    assert_sub_error(by_id(adele.batch([get("1", "/me")]))["1"], 500, "generalException")
