"""GraphClient against the emulator: verbs, response bodies, paging, errors, the URL guard and
transport failures. Retries and 401s are in test_graph_retries.py, $batch in test_graph_batch.py."""
from __future__ import annotations

from importlib import resources

import pytest

from graph_auth.exceptions import GraphRequestError, GraphUnauthorized
from graph_auth.graph import GraphClient

from .graph_support import ADELE, ALEX, V1, adele, bearer, client, graph, graph_requests, sign_in, sleeps


def contoso_upns(entra_directory) -> list[str]:
    tenant = entra_directory.tenant("contoso.onmicrosoft.com")
    return sorted(u.user_principal_name for u in entra_directory.users_in(tenant.id))


# -- verbs and bodies ------------------------------------------------------------------------------
def test_get_returns_parsed_json_and_sends_the_token(graph, adele, entra_emulator):
    me = graph.get("/me")
    assert me["userPrincipalName"] == ADELE
    assert me["@odata.context"] == f"{V1}/$metadata#users/$entity"
    [sent] = graph_requests(entra_emulator, "/me")
    assert sent.method == "GET"
    assert bearer(sent) == adele.result["access_token"]


def test_get_passes_params_and_accepts_paths_without_slash_or_absolute(graph):
    me = graph.get("me", params={"$select": "displayName,id"})
    assert set(me) == {"@odata.context", "displayName", "id"}
    assert graph.get(f"{V1}/me")["id"] == me["id"]
    assert graph.get("https://GRAPH.microsoft.com/v1.0/me")["id"] == me["id"]


def test_media_comes_back_as_bytes(graph):
    photo = graph.get("/me/photo/$value")
    expected = resources.files("graph_auth.emulator").joinpath("assets", "adele.jpg").read_bytes()
    assert isinstance(photo, bytes) and photo == expected


def test_post_sends_json_and_returns_json(graph, entra_directory, entra_emulator):
    groups = graph.post("/me/getMemberObjects", json={"securityEnabledOnly": True})
    adele = entra_directory.user_by_name(ADELE)
    assert groups["value"] == [g.id for g in entra_directory.groups_of(adele, security_only=True)]
    [sent] = graph_requests(entra_emulator, "/me/getMemberObjects", "POST")
    assert sent.json() == {"securityEnabledOnly": True}
    assert sent.headers["content-type"] == "application/json"


def test_patch_sends_json_and_returns_the_answer(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 200, json={"id": "x", "jobTitle": "CTO"})
    assert graph.patch("/me", json={"jobTitle": "CTO"}) == {"id": "x", "jobTitle": "CTO"}
    [sent] = graph_requests(entra_emulator, "/me", "PATCH")
    assert sent.json() == {"jobTitle": "CTO"}


def test_put_sends_raw_data_with_its_content_type(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/photo/$value", 200, body=b"")
    assert graph.put("/me/photo/$value", data=b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"}) is None
    [sent] = graph_requests(entra_emulator, "/me/photo/$value", "PUT")
    assert sent.body == b"\xff\xd8jpeg"
    assert sent.headers["content-type"] == "image/jpeg"
    assert sent.headers["authorization"].startswith("Bearer ")


def test_delete_and_other_204_answers_return_none(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/events/1", 204, body=b"")
    assert graph.delete("/me/events/1") is None
    entra_emulator.fail_next("graph:/v1.0/me", 204, body=b"", headers={"Content-Type": "application/json"})
    assert graph.patch("/me", json={"jobTitle": "CTO"}) is None
    assert [r.method for r in graph_requests(entra_emulator)] == ["DELETE", "PATCH"]


def test_a_non_json_body_comes_back_as_bytes(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/export", 200, body="plain text",
                             headers={"Content-Type": "text/plain; charset=utf-8"})
    assert graph.get("/me/export") == b"plain text"


def test_json_content_type_is_matched_case_insensitively(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 200, body=b'{"ok": true}',
                             headers={"Content-Type": "Application/JSON"})
    assert graph.get("/me") == {"ok": True}


def test_a_verb_the_resource_lacks_is_an_error(graph):
    with pytest.raises(GraphRequestError) as info:
        graph.patch("/users", json={})
    assert (info.value.status_code, info.value.code) == (405, "Request_BadRequest")


def test_the_default_session_and_base_url_come_from_graph_auth(adele):
    graph = GraphClient(adele)            # graph_auth's own session, routed to the emulator
    assert graph.base_url == V1
    assert graph.get("/me")["userPrincipalName"] == ADELE


# -- paging ----------------------------------------------------------------------------------------
def test_iterate_users_two_at_a_time_to_the_end(graph, entra_directory, entra_emulator):
    pages = list(graph.pages("/users", params={"$top": "2"}))
    upns = contoso_upns(entra_directory)
    assert [len(p["value"]) for p in pages] == [2, 2, 2, 2, 1]           # 9 users
    assert all("@odata.nextLink" in p for p in pages[:-1]) and "@odata.nextLink" not in pages[-1]
    assert [u["userPrincipalName"] for u in graph.iterate("/users?$top=2")] == upns
    assert len(graph_requests(entra_emulator, "/users")) == 10


def test_iterate_messages_follows_next_links_verbatim(graph, entra_emulator):
    messages = list(graph.iterate("/me/messages", params={"$top": 5, "$select": "subject"}))
    assert len(messages) == 27 and len({m["id"] for m in messages}) == 27
    assert all(set(m) == {"id", "subject"} for m in messages)      # $select kept on every page
    sent = graph_requests(entra_emulator, "/me/messages")
    assert len(sent) == 6
    assert [r.query.get("$skip") for r in sent] == [None, "5", "10", "15", "20", "25"]


def test_iterate_is_lazy(graph, entra_emulator):
    items = graph.iterate("/me/messages?$top=5")
    assert graph_requests(entra_emulator) == []
    [next(items) for _ in range(6)]
    assert len(graph_requests(entra_emulator)) == 2


def test_a_single_page_collection(graph):
    assert len(list(graph.pages("/me/messages", params={"$top": "100"}))) == 1


def test_a_next_link_to_another_host_is_refused(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/users", 200, json={
        "value": [{"id": "1"}], "@odata.nextLink": "https://evil.example.com/v1.0/users?page=2"})
    items = graph.iterate("/users")
    assert next(items) == {"id": "1"}
    with pytest.raises(ValueError, match=r"evil\.example\.com"):
        next(items)
    assert len(entra_emulator.requests()) == 1


# -- errors ----------------------------------------------------------------------------------------
def test_not_found_carries_graphs_code_and_request_id(graph, entra_emulator):
    with pytest.raises(GraphRequestError) as info:
        graph.get("/users/nobody@contoso.onmicrosoft.com")
    error = info.value
    assert not isinstance(error, GraphUnauthorized)
    assert (error.status_code, error.code) == (404, "Request_ResourceNotFound")
    assert "does not exist" in error.message
    (logged,) = graph_requests(entra_emulator)
    assert error.request_id and error.request_id == error.inner_error["request-id"]
    assert error.inner_error["client-request-id"] and error.inner_error["date"]
    assert not hasattr(error, "response")          # its request carried the access token
    assert str(error).startswith("404 Request_ResourceNotFound: ")
    assert logged.status == 404                                # not retried


def test_missing_photo_is_a_404_image_not_found(graph):
    with pytest.raises(GraphRequestError) as info:
        graph.get(f"/users/{ALEX}/photo/$value")
    assert (info.value.status_code, info.value.code) == (404, "ImageNotFound")


def test_forbidden_is_not_retried_or_refreshed(graph, adele, entra_emulator):
    with pytest.raises(GraphRequestError) as info:
        graph.post("/me/revokeSignInSessions")       # needs User.RevokeSessions.All
    assert (info.value.status_code, info.value.code) == (403, "Authorization_RequestDenied")
    assert len(graph_requests(entra_emulator)) == 1
    assert len(adele.calls) == 1 and adele.forced == 0
    assert adele.result["access_token"] not in str(info.value)


@pytest.mark.parametrize("answer", [
    {"body": "<html><body>Bad gateway</body></html>", "headers": {"Content-Type": "text/html"}},
    {"json": {"error": "server_error", "error_description": "not Graph's shape"}},
    {"json": ["a", "list"]},
    {"json": {"error": {"code": 42, "message": None, "innerError": "nope"}}},
])
def test_errors_that_are_not_graph_shaped_keep_the_status(graph, entra_emulator, answer):
    entra_emulator.fail_next("graph:/v1.0/me", 502, **answer)
    with pytest.raises(GraphRequestError) as info:
        graph.get("/me")
    assert info.value.status_code == 502
    assert isinstance(info.value.code, str) and isinstance(info.value.message, str)


# -- the URL guard ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "https://evil.example.com/v1.0/me",
    "http://graph.microsoft.com/v1.0/me",                 # never a token over plain HTTP
    "https://graph.microsoft.com.evil.example.com/v1.0/me",
    "https://graph.microsoft.com@evil.example.com/v1.0/me",
    "https://graph.microsoft.com:8443/v1.0/me",
    "HTTPS://EVIL.EXAMPLE.COM/v1.0/me",
    "//evil.example.com/v1.0/me",
])
def test_a_token_is_never_sent_to_another_origin(adele, entra_session, entra_emulator, url):
    graph = client(adele, entra_session)
    for call in (graph.get, graph.post, graph.delete):
        with pytest.raises(ValueError, match="refusing to send a Graph token"):
            call(url)
    assert entra_emulator.requests() == [] and adele.calls == []     # nothing sent, no token asked


def test_relative_paths_that_look_odd_stay_on_graph(graph):
    assert graph.url("users/x/drive/root:/a:/content") == f"{V1}/users/x/drive/root:/a:/content"
    assert graph.url("/me?next=https://evil.example.com/") == f"{V1}/me?next=https://evil.example.com/"


# -- transport failures ----------------------------------------------------------------------------
def test_a_timeout_is_a_graph_request_error(adele, entra_emulator):
    session = entra_emulator.session(timeout=0.05)
    entra_emulator.fail_next("graph:/v1.0/me", delay=5)
    with pytest.raises(GraphRequestError) as info:
        client(adele, session).get("/me")
    assert (info.value.status_code, info.value.code) == (0, "transportError")
    assert "ReadTimeout" in info.value.message
    assert adele.result["access_token"] not in str(info.value)


def test_an_unreachable_host_is_a_graph_request_error(adele, entra_session):
    graph = client(adele, entra_session, base_url="https://graph.example.com/v1.0")
    with pytest.raises(GraphRequestError) as info:
        graph.get("/me")                 # the emulator's session blocks every other host
    assert info.value.code == "transportError"
