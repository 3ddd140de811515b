"""Helpers for the time-budget, circuit-breaker and token-write tests: a fake clock (graph_auth reads
time and sleeps through ``graph_auth.clock``), views that call Graph or not, and signed-in users."""
from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import include, path

from graph_auth import budget, clock, crypto
from graph_auth import session as keys
from graph_auth.models import TokenCache

from .token_aging import leave_only

ADELE = "adele@contoso.onmicrosoft.com"
ALEX = "alex@contoso.onmicrosoft.com"


class FakeClock:
    """Time that moves only when told to (``advance``) or when graph_auth sleeps (recorded)."""

    def __init__(self) -> None:
        # Whole seconds: sums of whole and half seconds stay exact (no 5.999... for 6).
        self.monotonic_at, self.now_at = float(int(time.monotonic())), float(int(time.time()))
        self.sleeps: list[float] = []

    def advance(self, seconds: float) -> None:
        self.monotonic_at += seconds
        self.now_at += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def fake_clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(clock, "monotonic", lambda: fake.monotonic_at)
    monkeypatch.setattr(clock, "now", lambda: fake.now_at)
    monkeypatch.setattr(clock, "sleep", fake.sleep)
    monkeypatch.setattr(clock, "asleep", fake.asleep)
    return fake


def graph_auth(**extra):
    """``override_settings`` of GRAPH_AUTH keys on top of the test settings."""
    return override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, **extra})


# -- views -----------------------------------------------------------------------------------------
def me(request):
    """A page that needs Graph (its failures go to the middleware's answers)."""
    return JsonResponse({"name": request.graph.get("/me")["displayName"]})


def plain(request):
    """A signed-in page that does not use Graph."""
    return JsonResponse({"user": request.user.get_username()})


def left(request):
    """What is left of this request's budget."""
    return JsonResponse({"left": budget.remaining()})


async def ame(request):
    """``me`` for async code (the middleware in async mode)."""
    return JsonResponse({"name": (await request.graph.aget("/me"))["displayName"]})


async def aleft(request):
    return JsonResponse({"left": budget.remaining()})


urlpatterns = [path("t/me", me), path("t/plain", plain), path("t/left", left), path("t/ame", ame),
               path("t/aleft", aleft), path("", include("demo_site.urls"))]


# -- users -----------------------------------------------------------------------------------------
def signed_in(entra_sign_in, entra_emulator, user: str = ADELE, left_s: int | None = None) -> Client:
    """A client signed in as ``user``; with ``left_s``, its access token has that much left (240:
    due for refresh by the default margin, still valid; 10: too close to expiry to serve)."""
    client = Client(headers={"accept": "application/json"})
    assert entra_sign_in(client, user).status_code == 302
    if left_s is not None:
        leave_only(left_s, client)
        assert client.session[keys.TOKEN_KEY]["refresh_at"] <= time.time()
    entra_emulator.clear_log()
    return client


def stored_access_token() -> str:
    """The one access token stored (there is one user)."""
    row = TokenCache.objects.get()
    (entry,) = json.loads(crypto.decrypt(row.data, row.context))["AccessToken"].values()
    return entry["secret"]


def async_throttled_codes(tokens, calls: int = 2) -> list[str]:
    """Call ``/me`` ``calls`` times from async code, each call with a 5 s budget; return the codes of
    the GraphThrottled raised (the database work of the tokens comes back to this thread)."""
    from graph_auth.exceptions import GraphThrottled
    from graph_auth.graph import GraphClient

    async def run():
        codes = []
        for _ in range(calls):
            with budget.deadline(5):
                try:
                    await GraphClient(tokens).aget("/me")
                except GraphThrottled as exc:
                    codes.append(exc.code)
        return codes
    return async_to_sync(run)()


def refreshes(emulator) -> list:
    return emulator.requests("token", grant_type="refresh_token")


def graph_calls(emulator) -> list:
    return emulator.requests("graph")


class BrokenCache(BaseCache):
    """A cache whose server is down: every call raises, as a Redis client does."""

    def __init__(self, location, params) -> None:
        super().__init__(params)

    def _fail(self, *args, **kwargs):
        raise ConnectionError("the cache server is down")

    get = set = add = delete = touch = clear = has_key = incr = _fail


BROKEN_CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                 "broken": {"BACKEND": "tests.budget_support.BrokenCache"}}
