"""The circuit breaker (issue 9, item 3) on Django's local-memory cache: identity-platform failures
pause refreshes ahead of expiry while the access token is valid; a Graph Retry-After for a user or
the app answers their other requests at once (or is waited for within the budget); a refresh ahead
of a still-valid token gets the short timeout. Counts from the emulator's log, time from a fake
clock. The same against a real Redis: test_breaker_redis.py."""
from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import AsyncClient, override_settings

from graph_auth import breaker, budget, clock, msal_client
from graph_auth.app_tokens import app_graph
from graph_auth.exceptions import GraphThrottled
from graph_auth.models import TokenCache
from graph_auth.user_tokens import UserTokens

from .budget_support import (
    ADELE,
    ALEX,
    BROKEN_CACHES,
    async_throttled_codes,
    fake_clock,
    graph_auth,
    graph_calls,
    refreshes,
    signed_in,
    stored_access_token,
)
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.budget_support")]
CONTOSO = "contoso.onmicrosoft.com"


# -- the identity platform ---------------------------------------------------------------------------
def test_an_identity_outage_pauses_refreshes_ahead_while_the_token_is_valid(entra_sign_in, entra_emulator,
                                                                             fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)     # due for refresh, still valid
    held = stored_access_token()
    entra_emulator.fail_next("token", 503, times=None)
    assert adele.get("/t/plain").status_code == 200                  # the refresh ahead fails: served
    assert breaker.identity_open() and len(refreshes(entra_emulator)) == 1
    assert adele.get("/t/me").json() == {"name": "Adele Vance"}       # no grant, no wait: the token held
    assert adele.get("/t/plain").status_code == 200
    assert len(refreshes(entra_emulator)) == 1
    assert {r.headers["authorization"] for r in graph_calls(entra_emulator)} == {f"Bearer {held}"}
    fake_clock.advance(31)                                           # BREAKER_COOLDOWN is 30 s
    entra_emulator.clear_faults()
    msal_client.clear_caches()             # msal replays a 5xx it got for 5 s (its own throttling)
    assert adele.get("/t/plain").status_code == 200
    assert [r.status for r in refreshes(entra_emulator)] == [503, 200]
    assert not breaker.identity_open() and stored_access_token() != held


def test_a_slow_identity_platform_gets_the_short_timeout_ahead_of_expiry(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.fail_next("token", delay=30, times=None)
    with graph_auth(REFRESH_AHEAD_TIMEOUT=0.05):
        assert adele.get("/t/me").status_code == 200
        assert adele.get("/t/me").status_code == 200
    # Cut by REFRESH_AHEAD_TIMEOUT, not by the request's budget: the platform counts as failing.
    assert breaker.identity_open() and len(refreshes(entra_emulator)) == 1


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_full_timeout_applies_when_no_valid_token_is_left(entra_sign_in, entra_emulator, caplog, asynchronous):
    """With no valid token left, the middleware's refresh is still cut short (the page may not
    need Graph), but the cut does not open the breaker (that would answer every request without a
    valid token 503, in every process, for a platform that is only slow): the view's grant gets the
    full TIMEOUT and a slow but healthy platform answers it."""
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    entra_emulator.fail_next("token", delay=0.2, times=2)            # slower than REFRESH_AHEAD_TIMEOUT
    with graph_auth(REFRESH_AHEAD_TIMEOUT=0.05), caplog.at_level(logging.WARNING, "graph_auth"):
        response = get(adele, "/t/ame" if asynchronous else "/t/me", asynchronous)
    assert response.json() == {"name": "Adele Vance"}
    assert [r.status for r in refreshes(entra_emulator)] == [None, 200]    # cut, then answered
    assert "identity platform is failing" not in caplog.text
    assert not breaker.identity_open()


def test_a_page_without_graph_never_waits_for_a_slow_platform(entra_sign_in, entra_emulator, caplog):
    """No valid token left, a platform slower than REFRESH_AHEAD_TIMEOUT: the page is served after
    the cut, and the breaker stays closed."""
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    entra_emulator.fail_next("token", delay=0.5)
    with graph_auth(REFRESH_AHEAD_TIMEOUT=0.05), caplog.at_level(logging.WARNING, "graph_auth"):
        assert adele.get("/t/plain").status_code == 200
    assert [r.status for r in refreshes(entra_emulator)] == [None]          # cut: the answer not waited for
    assert "identity platform is failing" not in caplog.text and not breaker.identity_open()


def test_with_the_breaker_open_one_request_without_a_valid_token_tries(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    breaker.trip_identity()
    assert adele.get("/t/plain").status_code == 200 and refreshes(entra_emulator) == []   # nothing ahead
    assert adele.get("/t/me").status_code == 200       # the probe
    assert len(refreshes(entra_emulator)) == 1
    assert not breaker.identity_open()                 # a grant went through: closed


def test_with_the_breaker_open_the_others_fail_at_once(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    breaker.trip_identity()
    assert breaker.probe(5)                            # another request (process) is trying
    response = adele.get("/t/me")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["error"] == "temporarily_unavailable"
    assert adele.get("/t/plain").status_code == 200    # pages without Graph: served
    assert refreshes(entra_emulator) == []


@pytest.mark.parametrize("fault, asynchronous", [("failing", False), ("failing", True), ("refused", False)])
def test_a_probe_is_released_whatever_its_grant_did(entra_sign_in, entra_emulator, fault, asynchronous):
    """The probing request lets go when it is done, not only when a grant succeeded (else nothing
    could try the platform again until the probe's time ran out: 503s after it recovered)."""
    adele = signed_in(entra_sign_in, entra_emulator)
    alex = signed_in(entra_sign_in, entra_emulator, ALEX, left_s=10)         # no valid token left, both
    breaker.trip_identity()
    if fault == "failing":
        entra_emulator.fail_next("token", 503)
    else:
        entra_emulator.revoke_sessions(ADELE)
    response = get(adele, "/t/ame" if asynchronous else "/t/me", asynchronous)
    assert response.status_code == (503 if fault == "failing" else 401)     # the probe's grant failed
    assert breaker.identity_open() and len(refreshes(entra_emulator)) == 1
    msal_client.clear_caches()             # msal replays a 5xx it got for 5 s (its own throttling)
    assert alex.get("/t/me").status_code == 200      # the platform answers again: the next one probes
    assert len(refreshes(entra_emulator)) == 2 and not breaker.identity_open()


def test_a_probe_that_finds_fresh_tokens_under_the_lock_is_released(client, entra_sign_in, entra_emulator,
                                                                     monkeypatch):
    """Outside a request the probe would be held for the background budget (140 s)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    fresh = TokenCache.objects.get().data
    leave_only(10)
    breaker.trip_identity()
    probe = breaker.probe

    def probe_while_another_process_saves_fresh_tokens(seconds):
        taken = probe(seconds)
        TokenCache.objects.update(data=fresh)            # e.g. the user signed in again meanwhile
        return taken

    monkeypatch.setattr(breaker, "probe", probe_while_another_process_saves_fresh_tokens)
    entra_emulator.clear_log()
    assert UserTokens.for_user(get_user_model().objects.get()).get_token()
    assert refreshes(entra_emulator) == []                                  # no grant
    monkeypatch.undo()
    assert breaker.probe(5) and breaker.identity_open()


def get(client, path: str, asynchronous: bool):
    """``client.get(path)``, or the same from an AsyncClient sharing its cookies (async middleware)."""
    if not asynchronous:
        return client.get(path)
    browser = AsyncClient(headers={"accept": "application/json"})
    browser.cookies = client.cookies
    return async_to_sync(browser.get)(path)


def test_a_refused_refresh_does_not_open_the_breaker(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.revoke_sessions(ADELE)
    assert adele.get("/t/plain").status_code == 401       # sign in again (JSON client)
    assert not breaker.identity_open()


def test_a_budget_cut_does_not_open_the_breaker(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.fail_next("token", delay=30)
    with graph_auth(REQUEST_BUDGET=0.1):                  # the budget, shorter than the refresh cap
        assert adele.get("/t/plain").status_code == 200
    assert not breaker.identity_open()


# -- Graph's Retry-After -----------------------------------------------------------------------------
def test_a_graph_retry_after_answers_the_users_next_requests_at_once(entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    alex = signed_in(entra_sign_in, entra_emulator, ALEX)
    entra_emulator.throttle(ADELE, retry_after=10)
    first = adele.get("/t/me")
    assert (first.status_code, first["Retry-After"], len(graph_calls(entra_emulator))) == (503, "10", 1)
    fake_clock.advance(4)
    second = adele.get("/t/me")                            # Graph is not asked: 6 s of it are left
    assert (second.status_code, second["Retry-After"], second.json()["code"]) == (503, "6", "retryAfterPending")
    assert len(graph_calls(entra_emulator)) == 1
    assert alex.get("/t/me").status_code == 200            # another user is not throttled
    fake_clock.advance(6.5)
    assert adele.get("/t/me").status_code == 200
    assert fake_clock.sleeps == []


def test_a_pending_retry_after_that_fits_the_budget_is_waited_for(entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.throttle(ADELE, retry_after=8)
    with graph_auth(GRAPH_MAX_RETRIES=0):
        assert adele.get("/t/me").status_code == 503
    fake_clock.advance(5)
    assert adele.get("/t/me").status_code == 200          # 3 s left of it: within the 5 s budget
    assert fake_clock.sleeps == [3] and [r.status for r in graph_calls(entra_emulator)] == [429, 200]


def test_graph_failing_through_a_requests_retries_answers_the_apps_next_requests_at_once(
        entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    alex = signed_in(entra_sign_in, entra_emulator, ALEX)
    entra_emulator.fail_next("graph", 503, times=None)                # no Retry-After: Graph failing
    first = adele.get("/t/me")
    assert (first.status_code, first.json()["error"], first["Retry-After"]) == (503, "graph_throttled", "4")
    assert fake_clock.sleeps == [1, 2] and len(graph_calls(entra_emulator)) == 3    # 4 s more: past the budget
    other = alex.get("/t/me")                                         # another user: Graph is not asked
    assert (other.status_code, other.json()["error"], other["Retry-After"]) == (503, "graph_unavailable", "4")
    assert len(graph_calls(entra_emulator)) == 3
    fake_clock.advance(4)
    entra_emulator.clear_faults()
    assert alex.get("/t/me").status_code == 200


@pytest.mark.parametrize("page, sleeper", [("/t/me", "sleep"), ("/t/ame", "asleep")])
def test_a_request_backing_off_fails_at_once_when_another_found_graph_failing(
        entra_sign_in, entra_emulator, fake_clock, monkeypatch, page, sleeper):
    """No second try (and no more worker time) once another request recorded Graph failing."""
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph", 503, times=None)

    def back_off(seconds):                 # meanwhile, another request finds Graph failing
        fake_clock.sleep(seconds)
        breaker.record(None, 6, failing=True)

    async def aback_off(seconds):
        back_off(seconds)
    monkeypatch.setattr(clock, sleeper, back_off if sleeper == "sleep" else aback_off)
    response = adele.get(page)
    assert (response.status_code, response.json()["error"], response["Retry-After"]) == (503, "graph_unavailable", "6")
    assert fake_clock.sleeps == [1] and len(graph_calls(entra_emulator)) == 1


@pytest.mark.parametrize("status, times, sleeps", [(503, 1, [1]), (504, 2, [1, 2])])
def test_a_single_503_or_a_504_retried_away_records_nothing(entra_sign_in, entra_emulator, fake_clock,
                                                            status, times, sleeps):
    adele = signed_in(entra_sign_in, entra_emulator)
    alex = signed_in(entra_sign_in, entra_emulator, ALEX)
    entra_emulator.fail_next("graph", status, times=times)       # a 504: often one slow query's
    assert adele.get("/t/me").status_code == 200 and fake_clock.sleeps == sleeps
    assert alex.get("/t/me").status_code == 200


def test_the_apps_retry_after_is_shared_by_its_clients(entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph:/v1.0/users", 429, headers={"Retry-After": "20"})
    with graph_auth(TENANT_ID=CONTOSO), budget.deadline(5):
        with pytest.raises(GraphThrottled):
            app_graph().get("/users")
        with pytest.raises(GraphThrottled) as info:
            app_graph().get("/users")                      # another client, as in another request
    assert info.value.code == "retryAfterPending" and info.value.retry_after == 20
    assert len(graph_calls(entra_emulator)) == 1
    assert adele.get("/t/me").status_code == 200           # the user's own calls are not the app's


def test_a_retry_after_longer_than_a_day_is_recorded_for_a_day(entra_emulator, fake_clock):
    entra_emulator.fail_next("graph:/v1.0/users", 429, headers={"Retry-After": "1e300"})
    with graph_auth(TENANT_ID=CONTOSO), budget.deadline(5):
        with pytest.raises(GraphThrottled):
            app_graph().get("/users")
        with pytest.raises(GraphThrottled) as info:
            app_graph().get("/users")
    assert info.value.code == "retryAfterPending" and info.value.retry_after == 86400
    fake_clock.advance(86400)
    with graph_auth(TENANT_ID=CONTOSO), budget.deadline(5):
        assert app_graph().get("/users")["value"]
    assert len(graph_calls(entra_emulator)) == 2


def test_async_calls_share_the_retry_after(entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator)
    tokens = UserTokens.for_user(get_user_model().objects.get())
    entra_emulator.throttle(ADELE, retry_after=10)

    assert async_throttled_codes(tokens) == ["TooManyRequests", "retryAfterPending"]
    assert len(graph_calls(entra_emulator)) == 1


# -- a failing cache ---------------------------------------------------------------------------------
@override_settings(CACHES=BROKEN_CACHES)
def test_a_failing_cache_never_fails_a_request(entra_sign_in, entra_emulator, caplog):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.fail_next("token", 503, times=None)
    entra_emulator.throttle(ADELE, retry_after=10)
    with graph_auth(BREAKER_CACHE="broken"), caplog.at_level(logging.WARNING, "graph_auth.breaker"):
        assert adele.get("/t/plain").status_code == 200            # refresh failed, token held
        assert adele.get("/t/me").status_code == 503               # Graph's own 429: answered
        assert adele.get("/t/me").status_code == 200               # nothing recorded: Graph asked
        assert not breaker.identity_open()
    assert "the cache 'broken' failed: ConnectionError" in caplog.text
