"""Graph's and the identity platform's failures in protected APIs: api_view and DRF give the same
answers (status, body, Retry-After, WWW-Authenticate), never a 500. DRF is tried twice: answered
through graph_auth's middleware (DRF re-raises what its handler doesn't know), and by
``graph_auth.drf.exception_handler`` alone, without the middleware."""
from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, override_settings

from graph_auth import breaker
from graph_auth.emulator.default_directory import WEB_APP_ID
from graph_auth.exceptions import GraphThrottled

from .api_support import ADELE, spa_token

pytest.importorskip("rest_framework")
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]
MIDDLEWARE = "graph_auth.middleware.GraphAuthMiddleware"
KINDS = ("api_view", "drf", "drf-handler")
DEFAULT_RETRY_AFTER = "30"

FAILURES = {        # how the emulator fails, and the answer every kind of API gives
    "graph-throttled": ({"endpoint": "graph:/v1.0/me", "status": 503, "headers": {"Retry-After": "7"}},
                        (503, "graph_throttled", "7")),
    "graph-infinite-retry-after": ({"endpoint": "graph:/v1.0/me", "status": 429, "headers": {"Retry-After": "inf"}},
                                   (503, "graph_throttled", "1")),      # no usable wait: the back-off's
    "graph-timeout": ({"endpoint": "graph:/v1.0/me", "delay": 2}, (503, "graph_timeout", DEFAULT_RETRY_AFTER)),
    "graph-500": ({"endpoint": "graph:/v1.0/me", "status": 500}, (502, "graph_error", None)),
    "graph-403": ({"endpoint": "graph:/v1.0/me", "status": 403}, (403, "graph_forbidden", None)),
    "identity-down": ({"endpoint": "token", "status": 503}, (503, "temporarily_unavailable", DEFAULT_RETRY_AFTER)),
}


def graph_auth(**extra):
    return override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "GRAPH_MAX_RETRIES": 0, "TIMEOUT": 0.2, **extra})


def call(kind: str, token: str):
    """Call the API of ``kind`` with a fresh client (its middleware is loaded at the first request)."""
    if kind == "drf-handler":
        rest = {**getattr(settings, "REST_FRAMEWORK", {}), "EXCEPTION_HANDLER": "graph_auth.drf.exception_handler"}
        with override_settings(REST_FRAMEWORK=rest, MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != MIDDLEWARE]):
            return Client().get("/drf/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    return Client().get("/api/me" if kind == "api_view" else "/drf/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def answer(response) -> tuple:
    body = json.loads(response.content)
    body.pop("request_id", None)                  # Graph's, different for each request
    return (response.status_code, body, response.get("Retry-After"), response.get("WWW-Authenticate"))


@pytest.mark.parametrize("failure", FAILURES)
def test_api_view_and_drf_answer_failures_alike(entra_emulator, entra_session, failure):
    fault, (status, code, retry_after) = FAILURES[failure]
    token = spa_token(entra_emulator, entra_session)
    answers = {}
    with graph_auth():
        for kind in KINDS:
            entra_emulator.fail_next(times=None, **fault)
            answers[kind] = answer(call(kind, token))
            entra_emulator.clear_faults()
            breaker.forget()        # a Retry-After recorded would answer the next kind at once
    assert answers["api_view"] == answers["drf"] == answers["drf-handler"]
    got_status, body, got_retry_after, _ = answers["api_view"]
    assert (got_status, body["error"], got_retry_after) == (status, code, retry_after)
    assert body["error_description"]


def test_graph_failures_carry_what_support_asks_for(entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    entra_emulator.fail_next("graph:/v1.0/me", 500, headers={"request-id": "r-1"}, times=None)
    with graph_auth():
        responses = [call(kind, token) for kind in KINDS]
    for response in responses:
        body = json.loads(response.content)
        assert (body["status"], body["code"]) == (500, "generalException") and body["request_id"]


@pytest.mark.parametrize("kind", KINDS)
def test_without_the_users_consent_the_api_says_so(entra_emulator, entra_directory, entra_session, kind):
    entra_directory.apps[WEB_APP_ID].known_client_applications = []      # no combined consent
    token = spa_token(entra_emulator, entra_session)
    status, body, _, challenge = answer(call(kind, token))
    assert (status, body["error"]) == (403, "consent_required") and challenge.startswith("Bearer ")


@pytest.mark.parametrize("kind", KINDS)
def test_after_a_revocation_the_api_passes_the_claims_challenge_on(entra_emulator, entra_session, kind):
    token = spa_token(entra_emulator, entra_session)
    assert call(kind, token).status_code == 200
    entra_emulator.revoke_sessions(ADELE)
    status, body, _, challenge = answer(call(kind, token))
    assert (status, body["error"]) == (401, "insufficient_claims") and 'error="insufficient_claims"' in challenge
    assert json.loads(body["claims"])["access_token"]["nbf"]


@pytest.mark.parametrize("kind", ["api_view", "drf-handler"])
def test_apis_opt_out_too(entra_emulator, entra_session, kind):
    token = spa_token(entra_emulator, entra_session)
    entra_emulator.fail_next("graph:/v1.0/me", 503, times=None)
    with graph_auth():
        assert call(kind, token).status_code == 503
    with graph_auth(HANDLE_ERRORS=False), pytest.raises(GraphThrottled):
        call(kind, token)
