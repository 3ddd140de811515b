"""The time budget of a request (issue 9, item 2): one deadline for all identity and Graph calls.
Counts and outcomes only: the emulator's forced delays end with the timeout the budget gives (a few
ms), throttling waits go through a fake clock."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from graph_auth import budget
from graph_auth.answers import describe
from graph_auth.app_tokens import app_graph
from graph_auth.emulator import async_emulator_client
from graph_auth.exceptions import BudgetExceeded, GraphThrottled, GraphTimeout, GraphUnauthorized
from graph_auth.graph import GraphClient
from graph_auth.user_tokens import UserTokens

from .budget_support import (
    ADELE,
    fake_clock,
    graph_auth,
    graph_calls,
    refreshes,
    signed_in,
)
from .graph_support import FixedToken

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.budget_support")]


def adele_graph(**options) -> GraphClient:
    """Graph as Adele outside a request (as a background job would)."""
    return GraphClient(UserTokens.for_user(get_user_model().objects.get()), **options)


# -- the deadline ------------------------------------------------------------------------------------
def test_each_request_gets_the_request_budget(entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    assert adele.get("/t/left").json()["left"] == pytest.approx(4)          # the default
    with graph_auth(REQUEST_BUDGET=1.5):
        assert adele.get("/t/left").json()["left"] == pytest.approx(1.5)
    with graph_auth(REQUEST_BUDGET=None):
        assert adele.get("/t/left").json() == {"left": None}
    assert budget.remaining() is None                                 # it ended with the request


def test_async_requests_get_the_budget_too(client, entra_sign_in, entra_emulator):
    assert entra_sign_in(client, ADELE).status_code == 302
    browser = AsyncClient()
    browser.cookies = client.cookies
    assert 3 < async_to_sync(browser.get)("/t/aleft").json()["left"] <= 4
    entra_emulator.fail_next("graph:/v1.0/me", delay=30)
    with graph_auth(REQUEST_BUDGET=0.2):
        response = async_to_sync(browser.get)("/t/ame")
    assert response.status_code == 503 and 'data-code="budget_exceeded"' in response.content.decode()


def test_outside_requests_each_call_gets_the_background_budget(entra_emulator, fake_clock):
    seen = []

    class Recording(FixedToken):
        def get_token(self, *args, **kwargs):
            seen.append(budget.remaining())
            return super().get_token(*args, **kwargs)

    graph = GraphClient(Recording("not a token"))          # Graph refuses it: only the budget matters
    with pytest.raises(GraphUnauthorized):
        graph.get("/me")
    # (GRAPH_MAX_RETRIES + 2) x TIMEOUT + GRAPH_MAX_RETRIES x GRAPH_MAX_RETRY_AFTER
    assert seen and all(left == pytest.approx(5 * 10 + 3 * 30) for left in seen)
    with graph_auth(BACKGROUND_BUDGET=600), pytest.raises(GraphUnauthorized):
        graph.get("/me")
    assert seen[-1] == pytest.approx(600)
    with budget.deadline(2), pytest.raises(GraphUnauthorized):      # a deadline already set stays
        graph.get("/me")
    assert seen[-1] == pytest.approx(2)


def test_a_client_retry_policy_sets_its_own_background_budget():
    assert GraphClient(FixedToken("t"), max_retries=5, max_retry_after=200).background_budget() == 7 * 10 + 5 * 200
    with graph_auth(BACKGROUND_BUDGET=60):
        assert GraphClient(FixedToken("t"), max_retries=5, max_retry_after=200).background_budget() == 60


# -- Retry-After against the budget ------------------------------------------------------------------
def test_a_retry_after_beyond_the_budget_fails_at_once_with_503(entra_sign_in, entra_emulator, fake_clock):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.throttle(ADELE, retry_after=10, times=None)
    response = adele.get("/t/me")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response.json()["error"] == "graph_throttled"
    assert fake_clock.sleeps == [] and len(graph_calls(entra_emulator)) == 1     # no retry, no wait


def test_retries_never_sleep_past_the_deadline(entra_sign_in, entra_emulator, fake_clock):
    signed_in(entra_sign_in, entra_emulator)
    entra_emulator.throttle(ADELE, retry_after=2, times=None)
    graph = adele_graph()
    with budget.deadline(5), pytest.raises(GraphThrottled) as info:
        graph.get("/me")
    assert fake_clock.sleeps == [2, 2]             # 4 s slept; another 2 s would end past the deadline
    assert info.value.retry_after == 2 and len(graph_calls(entra_emulator)) == 3


def test_without_the_budget_the_same_retries_go_on(entra_sign_in, entra_emulator, fake_clock):
    signed_in(entra_sign_in, entra_emulator)
    entra_emulator.throttle(ADELE, retry_after=2, times=3)
    assert adele_graph().get("/me")["userPrincipalName"] == ADELE     # background: 140 s
    assert fake_clock.sleeps == [2, 2, 2]


def test_a_throttled_batch_is_not_resent_past_the_deadline(entra_sign_in, entra_emulator, fake_clock):
    signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph:/v1.0/me", 429, headers={"Retry-After": "4"}, times=None)
    with budget.deadline(3):
        [answer] = adele_graph().batch([{"method": "GET", "url": "/me"}])
    assert answer["status"] == 429 and fake_clock.sleeps == []


# -- no call past the deadline -----------------------------------------------------------------------
def test_no_graph_call_starts_past_the_deadline(entra_sign_in, entra_emulator, fake_clock):
    signed_in(entra_sign_in, entra_emulator)
    graph = adele_graph()
    with budget.deadline(5):
        fake_clock.advance(5)
        with pytest.raises(BudgetExceeded):
            graph.get("/me")
    assert graph_calls(entra_emulator) == []


def test_no_token_request_starts_past_the_deadline(entra_sign_in, entra_emulator, fake_clock):
    signed_in(entra_sign_in, entra_emulator, left_s=10)          # no valid token to fall back on
    with budget.deadline(5):
        fake_clock.advance(6)
        with pytest.raises(BudgetExceeded):
            adele_graph().get("/me")
    assert entra_emulator.requests() == []


def test_a_slow_graph_answer_is_cut_at_the_budget(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph:/v1.0/me", delay=30)
    with graph_auth(REQUEST_BUDGET=0.2):           # TIMEOUT is 10: the budget is what ends the call
        response = adele.get("/t/me")
    assert response.status_code == 503 and response.json()["error"] == "budget_exceeded"
    assert response["Retry-After"] == "5" and len(graph_calls(entra_emulator)) == 1


def test_a_slow_graph_answer_under_the_timeout_is_still_a_timeout(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph:/v1.0/me", delay=30)
    with graph_auth(TIMEOUT=0.05):                 # the call's own timeout, well within the budget
        response = adele.get("/t/me")
    assert response.status_code == 503 and response.json()["error"] == "graph_timeout"


def test_an_async_call_is_cut_at_the_budget_too(entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator)
    tokens = UserTokens.for_user(get_user_model().objects.get())
    tokens.get_token()                              # read in sync code: only the calls are async

    async def call(seconds, timeout):
        graph = GraphClient(tokens, async_client=async_emulator_client(entra_emulator, timeout=timeout))
        with budget.deadline(seconds):
            return await graph.aget("/me")
    entra_emulator.fail_next("graph:/v1.0/me", delay=30, times=None)
    with pytest.raises(BudgetExceeded):
        asyncio.run(call(0.2, timeout=10))
    with pytest.raises(GraphTimeout):              # the client's own timeout, within the budget
        asyncio.run(call(5, timeout=0.05))
    assert len(graph_calls(entra_emulator)) == 2


def test_a_slow_refresh_with_no_valid_token_is_cut_at_the_budget(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    entra_emulator.fail_next("token", delay=30)
    with graph_auth(REQUEST_BUDGET=0.2):
        response = adele.get("/t/me")
    assert response.status_code == 503 and response.json()["error"] == "budget_exceeded"
    assert len(refreshes(entra_emulator)) == 1 and graph_calls(entra_emulator) == []


def test_a_slow_refresh_of_a_valid_token_serves_the_token_held(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.fail_next("token", delay=30)
    with graph_auth(REQUEST_BUDGET=0.2):
        response = adele.get("/t/plain")            # the middleware's refresh ahead gives up
    assert response.status_code == 200 and len(refreshes(entra_emulator)) == 1


def test_the_app_token_grant_is_bounded_too(entra_emulator):
    entra_emulator.fail_next("token", delay=30)
    with graph_auth(TENANT_ID="contoso.onmicrosoft.com", BACKGROUND_BUDGET=0.05):
        with pytest.raises(BudgetExceeded):
            app_graph().get("/users")


def test_budget_exceeded_is_a_503_with_a_short_retry_after():
    answer = describe(BudgetExceeded("x"))
    assert (answer.status, answer.body["error"], answer.headers) == (503, "budget_exceeded", {"Retry-After": "5"})
