"""GraphClient retries (429/503/504 with Retry-After and its cap), 401 refreshes and Continuous
Access Evaluation claims challenges, driven by the emulator's controls and real msal tokens."""
from __future__ import annotations

import json

import pytest
from django.test import override_settings

from graph_auth.exceptions import (
    GraphRequestError,
    GraphThrottled,
    GraphUnauthorized,
    InteractionRequired,
)
from graph_auth.graph import claims_from_challenge

from .graph_support import (
    ADELE,
    FixedToken,
    adele,
    bearer,
    challenge_header,
    client,
    graph,
    graph_requests,
    sign_in,
    sleeps,
)

NBF_CLAIMS = {"access_token": {"nbf": {"essential": True, "value": "1726258122"}}}


# -- throttling and retries ------------------------------------------------------------------------
def test_throttled_requests_are_retried_after_retry_after(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=2.5, times=2)
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert sleeps == [2.5, 2.5]
    assert [r.status for r in graph_requests(entra_emulator, "/me")] == [429, 429, 200]


@pytest.mark.parametrize("status", [429, 503, 504])
def test_each_retryable_status_honours_a_fractional_retry_after(graph, entra_emulator, sleeps, status):
    entra_emulator.fail_next("graph:/v1.0/me", status, headers={"Retry-After": "1.5"}, times=2)
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert sleeps == [1.5, 1.5]
    assert [r.status for r in graph_requests(entra_emulator)] == [status, status, 200]


def test_without_retry_after_the_client_backs_off_exponentially(graph, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me", 503, times=3)
    graph.get("/me")
    assert sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("value", ["soon", "Wed, 21 Oct 2015 07:28:00 GMT", "", "inf", "1e999", "-inf", "nan"])
def test_an_unusable_retry_after_falls_back_to_backing_off(graph, entra_emulator, sleeps, value):
    entra_emulator.fail_next("graph:/v1.0/me", 429, headers={"Retry-After": value})
    graph.get("/me")
    assert sleeps == [1.0]


def test_a_retried_post_sends_the_same_body(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=1, times=1)
    assert graph.post("/me/getMemberObjects", json={"securityEnabledOnly": False})["value"]
    bodies = [r.json() for r in graph_requests(entra_emulator, "/me/getMemberObjects")]
    assert bodies == [{"securityEnabledOnly": False}] * 2 and sleeps == [1.0]


def test_retry_after_above_the_cap_raises_at_once(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=120, times=1)
    with pytest.raises(GraphThrottled) as info:
        graph.get("/me")
    assert (info.value.status_code, info.value.code, info.value.retry_after) == (429, "TooManyRequests", 120)
    assert info.value.request_id
    assert sleeps == [] and len(graph_requests(entra_emulator)) == 1


def test_the_cap_and_retry_count_come_from_settings(adele, entra_session, entra_emulator, sleeps):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "GRAPH_MAX_RETRY_AFTER": 1,
                                       "GRAPH_MAX_RETRIES": 1}):
        graph = client(adele, entra_session, sleeps)
        entra_emulator.fail_next("graph:/v1.0/me", 503, headers={"Retry-After": "1.5"})
        with pytest.raises(GraphThrottled):
            graph.get("/me")
        assert sleeps == []
        entra_emulator.fail_next("graph:/v1.0/me", 503, headers={"Retry-After": "1"}, times=2)
        with pytest.raises(GraphThrottled):
            graph.get("/me")
        assert sleeps == [1.0]


def test_the_constructor_overrides_settings(adele, entra_session, entra_emulator, sleeps):
    graph = client(adele, entra_session, sleeps, max_retries=5, max_retry_after=200)
    entra_emulator.throttle(ADELE, retry_after=150, times=5)
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert sleeps == [150] * 5


def test_retries_exhausted_raises_throttled(graph, entra_emulator, sleeps):
    entra_emulator.throttle(ADELE, retry_after=3, times=None)
    with pytest.raises(GraphThrottled) as info:
        graph.get("/me")
    assert info.value.retry_after == 3 and info.value.status_code == 429
    assert isinstance(info.value, GraphRequestError)
    assert sleeps == [3, 3, 3]                              # GRAPH_MAX_RETRIES = 3
    assert len(graph_requests(entra_emulator)) == 4


def test_no_retries_at_all(adele, entra_session, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me", 504, headers={"Retry-After": "1"})
    with pytest.raises(GraphThrottled) as info:
        client(adele, entra_session, sleeps, max_retries=0).get("/me")
    assert (info.value.status_code, info.value.code) == (504, "gatewayTimeout") and sleeps == []


def test_a_500_is_not_retried(graph, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me", 500, headers={"Retry-After": "1"})
    with pytest.raises(GraphRequestError) as info:
        graph.get("/me")
    assert not isinstance(info.value, GraphThrottled)
    assert info.value.code == "generalException" and sleeps == []


# -- 401: one forced refresh -----------------------------------------------------------------------
def test_an_expired_token_is_refreshed_once_and_the_request_retried(graph, adele, entra_emulator):
    entra_emulator.clock.advance(2 * 3600)      # Graph now sees the cached token as expired
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert [(c.force_refresh, c.claims_challenge) for c in adele.calls] == [(False, None), (True, None)]
    first, second = graph_requests(entra_emulator, "/me")
    assert first.status == 401 and second.status == 200
    assert bearer(first) == adele.result["access_token"] != bearer(second)
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1


def test_still_401_after_the_refresh_raises_unauthorized(entra_emulator, entra_session, adele, sleeps):
    provider = FixedToken(adele.result["access_token"])        # cannot get a better token
    entra_emulator.clock.advance(2 * 3600)
    with pytest.raises(GraphUnauthorized) as info:
        client(provider, entra_session, sleeps).get("/me")
    assert (info.value.status_code, info.value.code) == (401, "InvalidAuthenticationToken")
    assert "expired" in info.value.message
    assert [c.force_refresh for c in provider.calls] == [False, True]
    assert len(graph_requests(entra_emulator)) == 2 and sleeps == []


def test_a_forced_401_then_success(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 401)
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert adele.forced == 1 and adele.challenges == []


def test_a_second_401_is_not_refreshed_again(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 401, times=3)
    with pytest.raises(GraphUnauthorized):
        graph.get("/me")
    assert adele.forced == 1 and len(graph_requests(entra_emulator)) == 2


def test_a_403_is_never_refreshed(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 403)
    with pytest.raises(GraphRequestError) as info:
        graph.get("/me")
    assert info.value.status_code == 403 and not isinstance(info.value, GraphUnauthorized)
    assert adele.forced == 0


# -- CAE claims challenges -------------------------------------------------------------------------
def test_revoked_sessions_challenge_and_the_provider_asks_for_interaction(graph, adele, entra_emulator):
    assert graph.get("/me")["userPrincipalName"] == ADELE
    entra_emulator.revoke_sessions(ADELE)
    with pytest.raises(InteractionRequired) as info:
        graph.get("/me")
    [claims] = adele.challenges
    challenge = json.loads(claims)
    assert challenge["access_token"]["nbf"]["essential"] is True
    assert info.value.claims == claims                        # for the next sign-in
    assert info.value.error == "invalid_grant" and info.value.aadsts == 50173
    assert adele.forced == 0                                   # the challenge, not a plain refresh
    # msal re-acquired with the claims (merged with cp1), bypassing its cache
    [refresh] = entra_emulator.requests("token", grant_type="refresh_token")
    sent = json.loads(refresh.form["claims"])
    assert sent["access_token"]["nbf"] == challenge["access_token"]["nbf"]
    assert sent["access_token"]["xms_cc"] == {"values": ["cp1"]}
    assert [r.status for r in graph_requests(entra_emulator)] == [200, 401]


def test_a_challenge_answered_with_a_new_token_retries_once(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 401, headers={"WWW-Authenticate": challenge_header(NBF_CLAIMS)})
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert [json.loads(c) for c in adele.challenges] == [NBF_CLAIMS]
    first, second = graph_requests(entra_emulator, "/me")
    assert bearer(first) != bearer(second)
    [refresh] = entra_emulator.requests("token", grant_type="refresh_token")
    assert json.loads(refresh.form["claims"])["access_token"]["nbf"] == NBF_CLAIMS["access_token"]["nbf"]


def test_a_revoked_token_works_again_after_a_new_sign_in(entra_emulator, entra_session, adele, sleeps):
    stale = adele.result["access_token"]
    entra_emulator.revoke_sessions(ADELE)
    fresh = sign_in(entra_emulator, ADELE, cache=adele.cache)     # the user signs in again
    fresh.pinned = stale                        # a worker still holds the revoked access token
    entra_emulator.clear_log()
    assert client(fresh, entra_session, sleeps).get("/me")["userPrincipalName"] == ADELE
    assert len(fresh.challenges) == 1
    assert [r.status for r in graph_requests(entra_emulator)] == [401, 200]
    assert entra_emulator.requests("token", grant_type="refresh_token")[0].status == 200


def test_a_403_claims_challenge_is_answered_too(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 403, headers={"WWW-Authenticate": challenge_header(NBF_CLAIMS)})
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert len(adele.challenges) == 1


def test_a_second_challenge_is_not_answered_again(graph, adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", 401, headers={"WWW-Authenticate": challenge_header(NBF_CLAIMS)},
                             times=2)
    with pytest.raises(GraphUnauthorized):
        graph.get("/me")
    assert len(adele.challenges) == 1 and adele.forced == 0
    assert len(graph_requests(entra_emulator)) == 2


def test_throttling_after_a_challenge_is_still_retried(graph, adele, entra_emulator, sleeps):
    entra_emulator.fail_next("graph:/v1.0/me", 401, headers={"WWW-Authenticate": challenge_header(NBF_CLAIMS)})
    entra_emulator.throttle(ADELE, retry_after=2, times=1)
    assert graph.get("/me")["userPrincipalName"] == ADELE
    assert sleeps == [2] and len(adele.challenges) == 1


# -- parsing the challenge -------------------------------------------------------------------------
def test_claims_from_challenge_decodes_padded_and_unpadded_base64():
    for padded in (True, False):
        assert json.loads(claims_from_challenge(challenge_header(NBF_CLAIMS, padded=padded))) == NBF_CLAIMS


def test_claims_from_challenge_accepts_base64url():
    header = 'Bearer error="insufficient_claims", claims="eyJhIjoiPz8-In0"'     # {"a":"??>"}
    assert json.loads(claims_from_challenge(header)) == {"a": "??>"}


@pytest.mark.parametrize("header", [
    "",
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
    'Bearer error="invalid_token", claims="eyJhIjoxfQ=="',
    'Bearer error="insufficient_claims", claims=""',
    'Bearer error="insufficient_claims", claims="!!not base64!!"',
    'Bearer error="insufficient_claims", claims="/w=="',          # not UTF-8
    'Bearer error="insufficient_claims", claims="aGVsbG8="',      # "hello": not JSON
    'Bearer error="insufficient_claims", claims="WzFd"',          # [1]: not a JSON object
])
def test_claims_from_challenge_ignores_anything_else(header):
    assert claims_from_challenge(header) is None
