"""The circuit breaker against a real Redis, as production shares it between processes (issue 9,
item 3). ``GRAPH_AUTH_TEST_REDIS`` (default ``redis://127.0.0.1:6379/11``) names the database; this
module flushes that database, nothing else. Skipped when Redis can't be reached, except under
``CI=true``, where an unreachable Redis fails every test here."""
from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import override_settings

from graph_auth import breaker
from graph_auth.user_tokens import UserTokens

from .budget_support import ADELE, async_throttled_codes, graph_auth, graph_calls, refreshes, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.budget_support")]
REDIS_URL = os.environ.get("GRAPH_AUTH_TEST_REDIS", "redis://127.0.0.1:6379/11")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
          "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}


def _redis_problem() -> str | None:
    try:
        import redis
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 — any failure to reach it: report it
        return f"Redis at {REDIS_URL} is unreachable: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture
def redis_url():
    """The test Redis, flushed before and after; an unreachable one skips (fails under CI=true)."""
    problem = _redis_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
    import redis
    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    with override_settings(CACHES=CACHES), graph_auth(BREAKER_CACHE="shared"):
        yield server
        caches["shared"].close()
    server.flushdb()


def another_process_sees(key_part: str) -> float:
    """What a process with its own connection reads for the breaker's record containing
    ``key_part``: its TTL in seconds (-2: no such key)."""
    import redis
    other = redis.Redis.from_url(REDIS_URL)
    keys = [k for k in other.keys("*graph_auth:breaker:*") if key_part.encode() in k]
    return other.ttl(keys[0]) if keys else -2


def test_a_graph_retry_after_is_shared_through_redis(redis_url, entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.throttle(ADELE, retry_after=10)
    first = adele.get("/t/me")
    assert (first.status_code, first["Retry-After"]) == (503, "10")
    assert 10 <= another_process_sees(":user:") <= 11             # expires with the Retry-After
    second = adele.get("/t/me")
    assert second.status_code == 503 and second.json()["code"] == "retryAfterPending"
    assert len(graph_calls(entra_emulator)) == 1


def test_an_identity_outage_is_shared_through_redis(redis_url, entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    entra_emulator.fail_next("token", 503, times=None)
    assert adele.get("/t/plain").status_code == 200
    assert another_process_sees(":identity:") > 0
    caches["shared"].close()                       # the next request reads through a new connection
    assert adele.get("/t/me").status_code == 200
    assert len(refreshes(entra_emulator)) == 1 and breaker.identity_open()


def test_async_calls_read_redis_off_the_event_loop(redis_url, entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator)
    tokens = UserTokens.for_user(get_user_model().objects.get())
    entra_emulator.throttle(ADELE, retry_after=10)

    assert async_throttled_codes(tokens) == ["TooManyRequests", "retryAfterPending"]
    assert another_process_sees(":user:") > 0 and len(graph_calls(entra_emulator)) == 1
