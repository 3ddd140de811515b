"""GraphClient.batch() against the emulator's $batch: chunks of 20, input order, ids, dependsOn,
and throttled sub-requests sent again after their Retry-After."""
from __future__ import annotations

import base64
from importlib import resources
from urllib.parse import quote

import pytest

from graph_auth.exceptions import GraphThrottled

from .graph_support import ADELE, adele, client, graph, graph_requests, sign_in, sleeps


@pytest.fixture
def upns(entra_directory):
    tenant = entra_directory.tenant("contoso.onmicrosoft.com")
    return sorted(u.user_principal_name for u in entra_directory.users_in(tenant.id))


def posted(emulator) -> list[list[dict]]:
    """The sub-requests of every $batch the emulator received."""
    return [r.json()["requests"] for r in graph_requests(emulator, "/$batch", "POST")]


def me(**extra) -> dict:
    return {"method": "GET", "url": "/me?$select=id,userPrincipalName", **extra}


def test_45_requests_go_in_three_chunks_and_come_back_in_input_order(graph, upns, entra_emulator):
    # A guest's UPN has a "#": it must be encoded in a URL, or the rest reads as a fragment.
    requests = [{"method": "GET", "url": f"/users/{quote(upns[i % len(upns)])}?$select=userPrincipalName"}
                for i in range(45)]
    results = graph.batch(requests)
    assert [r["id"] for r in results] == [str(i + 1) for i in range(45)]
    assert all(r["status"] == 200 for r in results)
    assert [r["body"]["userPrincipalName"] for r in results] == [upns[i % len(upns)] for i in range(45)]
    chunks = posted(entra_emulator)
    assert [len(c) for c in chunks] == [20, 20, 5]
    assert [item["id"] for c in chunks for item in c] == [str(i + 1) for i in range(45)]
    assert "id" not in requests[0]                        # the caller's dicts are not changed


def test_results_follow_the_input_even_when_graph_answers_in_another_order(graph):
    results = graph.batch([{"id": "mail", "method": "GET", "url": "/me/messages?$top=1",
                            "dependsOn": ["me"]}, me(id="me")])
    assert [r["id"] for r in results] == ["mail", "me"]
    assert results[1]["body"]["userPrincipalName"] == ADELE
    assert len(results[0]["body"]["value"]) == 1


def test_given_ids_are_kept_and_assigned_ids_avoid_them(graph, entra_emulator):
    results = graph.batch([me(id="2"), me(), me(), me(id=7)])
    assert [r["id"] for r in results] == ["2", "1", "3", "7"]
    assert all(r["status"] == 200 for r in results)


@pytest.mark.parametrize("ids", [("a", "a"), ("a", "A"), (1, "1")])
def test_duplicate_ids_are_refused_before_sending(graph, entra_emulator, ids):
    with pytest.raises(ValueError, match="duplicate"):
        graph.batch([me(id=ids[0]), me(), me(id=ids[1])])
    assert graph_requests(entra_emulator) == []


def test_an_empty_batch_sends_nothing(graph, entra_emulator):
    assert graph.batch([]) == []
    assert graph_requests(entra_emulator) == []


def test_bodies_get_a_json_content_type(graph, entra_emulator):
    results = graph.batch([
        {"method": "POST", "url": "/me/getMemberObjects", "body": {"securityEnabledOnly": False}},
        {"method": "POST", "url": "/me/getMemberObjects", "body": {"securityEnabledOnly": True},
         "headers": {"client-request-id": "abc"}},
    ])
    assert [r["status"] for r in results] == [200, 200]
    assert len(results[0]["body"]["value"]) > len(results[1]["body"]["value"])
    sent = posted(entra_emulator)[0]
    assert sent[1]["headers"] == {"client-request-id": "abc", "Content-Type": "application/json"}


def test_media_in_a_batch_stays_base64(graph):
    [photo] = graph.batch([{"method": "GET", "url": "/me/photo/$value"}])
    expected = resources.files("graph_auth.emulator").joinpath("assets", "adele.jpg").read_bytes()
    assert photo["status"] == 200 and base64.b64decode(photo["body"]) == expected


# -- throttled sub-requests -----------------------------------------------------------------------
def test_throttled_sub_requests_are_sent_again_after_retry_after(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=1.5, times=3)
    results = graph.batch([me() for _ in range(5)])
    assert [r["status"] for r in results] == [200] * 5
    assert sleeps == [1.5]
    first, second = posted(entra_emulator)
    assert [i["id"] for i in first] == ["1", "2", "3", "4", "5"]
    assert [i["id"] for i in second] == ["1", "2", "3"]


def test_the_longest_retry_after_of_a_chunk_is_waited(graph, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 503, headers={"Retry-After": "2.5"})
    entra_emulator.throttle(ADELE, retry_after=1, times=1)
    results = graph.batch([me(), {"method": "GET", "url": "/me/messages?$top=1"}])
    assert [r["status"] for r in results] == [200, 200]
    assert sleeps == [2.5]


def test_throttling_in_later_chunks_is_retried_per_chunk(graph, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me", 429, headers={"Retry-After": "2"}, times=1,
                             match=lambda r: r.query.get("n") == "41")
    results = graph.batch([{"method": "GET", "url": f"/me?n={n}"} for n in range(1, 46)])
    assert all(r["status"] == 200 for r in results) and sleeps == [2]
    assert [len(c) for c in posted(entra_emulator)] == [20, 20, 5, 1]


def test_sub_requests_still_throttled_after_the_retries_are_returned(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=1, times=None)
    results = graph.batch([me(), me()])
    assert [r["status"] for r in results] == [429, 429]
    assert results[0]["body"]["error"]["code"] == "TooManyRequests"
    assert sleeps == [1, 1, 1] and len(posted(entra_emulator)) == 4


def test_a_sub_request_retry_after_above_the_cap_is_not_waited(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=300, times=1)
    results = graph.batch([me(), me()])
    assert [r["status"] for r in results] == [429, 200]
    assert sleeps == [] and len(posted(entra_emulator)) == 1


def test_a_throttled_batch_post_is_retried_as_a_whole(graph, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/$batch", 503, headers={"Retry-After": "1"})
    assert [r["status"] for r in graph.batch([me(), me()])] == [200, 200]
    assert sleeps == [1] and len(posted(entra_emulator)) == 2


def test_a_batch_post_throttled_too_long_raises(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/$batch", 429, headers={"Retry-After": "600"})
    with pytest.raises(GraphThrottled):
        graph.batch([me()])


# -- dependsOn -------------------------------------------------------------------------------------
def test_depends_on_within_a_chunk(graph, entra_emulator):
    results = graph.batch([me(id="a"), {"id": "b", "method": "GET", "url": "/me/messages?$top=2",
                                        "dependsOn": ["a"]}])
    assert [r["status"] for r in results] == [200, 200]
    assert posted(entra_emulator)[0][1]["dependsOn"] == ["a"]


def test_a_failed_dependency_is_424_and_not_retried(graph, entra_emulator, sleeps):
    results = graph.batch([{"id": "a", "method": "GET", "url": "/users/nobody@contoso.onmicrosoft.com"},
                           me(id="b", dependsOn=["a"])])
    assert [r["status"] for r in results] == [404, 424]
    assert sleeps == [] and len(posted(entra_emulator)) == 1


def test_a_request_that_failed_because_its_dependency_was_throttled_is_sent_again(
        graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=1, times=1)          # hits "a", so "b" gets 424
    results = graph.batch([me(id="a"), me(id="b", dependsOn=["a"]), me(id="c")])
    assert [r["status"] for r in results] == [200, 200, 200]
    _, second = posted(entra_emulator)
    assert [i["id"] for i in second] == ["a", "b"]
    assert second[1]["dependsOn"] == ["a"] and sleeps == [1]


def test_a_throttled_request_whose_dependency_succeeded_is_sent_on_its_own(graph, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 429, headers={"Retry-After": "1"})
    results = graph.batch([me(id="a"), {"id": "b", "method": "GET", "url": "/me/messages?$top=1",
                                        "dependsOn": ["a"]}])
    assert [r["status"] for r in results] == [200, 200]
    assert posted(entra_emulator)[1] == [{"id": "b", "method": "GET", "url": "/me/messages?$top=1"}]


def test_linked_requests_are_kept_in_one_chunk(graph, entra_emulator):
    requests = [me() for _ in range(25)]
    requests[20] = me(dependsOn=["1"])                    # the 21st depends on the 1st
    requests[24] = me(dependsOn=["21"])
    results = graph.batch(requests)
    assert [r["status"] for r in results] == [200] * 25
    assert [r["id"] for r in results] == [str(i + 1) for i in range(25)]
    chunks = posted(entra_emulator)
    assert {"1", "21", "25"} <= {i["id"] for i in chunks[0]}
    assert all(len(c) <= 20 for c in chunks) and sum(map(len, chunks)) == 25


def test_more_than_20_linked_requests_are_refused(graph, entra_emulator):
    requests = [me(id="0")] + [me(id=str(n), dependsOn=[str(n - 1)]) for n in range(1, 21)]
    with pytest.raises(ValueError, match="at most 20"):
        graph.batch(requests)
    assert graph_requests(entra_emulator) == []
