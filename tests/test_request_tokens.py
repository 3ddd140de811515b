"""One read of the user's tokens per request, cached key derivation, pruned caches, and never two
refresh grants in one request (counts from the database, the decryption counter and the
emulator's log; no timings)."""
import json
import time

import msal
import pytest
from django.http import JsonResponse
from django.test import override_settings
from django.urls import include, path

from graph_auth import crypto
from graph_auth import session as keys
from graph_auth.models import TokenCache
from graph_auth.token_store import TokenStore

from .token_aging import leave_only

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"


def three_calls(request):
    """A view that makes three Graph calls."""
    me = request.graph.get("/me")
    mail = request.graph.get("/me/messages", params={"$top": "1"})
    people = request.graph.get("/users", params={"$top": "1"})
    return JsonResponse({"me": me["displayName"], "mail": len(mail["value"]), "people": len(people["value"])})


urlpatterns = [path("three", three_calls), path("", include("demo_site.urls"))]


@pytest.fixture
def adele(client, entra_emulator, entra_sign_in):
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.clear_log()
    crypto.counters.reset()
    return client


def bearers(emulator) -> set[str]:
    return {r.headers["authorization"] for r in emulator.requests("graph")}


def refresh_grants(emulator) -> list:
    return emulator.requests("token", grant_type="refresh_token")


def stored_access_token() -> str:
    row = TokenCache.objects.get()
    (entry,) = json.loads(crypto.decrypt(row.data, row.context))["AccessToken"].values()
    return entry["secret"]


# -- one read per request --------------------------------------------------------------------------
@pytest.mark.urls(__name__)
def test_three_graph_calls_with_a_fresh_token_cost_one_query_and_one_decryption(
        adele, entra_emulator, django_assert_num_queries):
    with django_assert_num_queries(3):          # the session, the user, the token cache: once
        assert adele.get("/three").json() == {"me": "Adele Vance", "mail": 1, "people": 1}
    assert crypto.counters.decrypts == 1
    assert len(entra_emulator.requests("graph")) == 3 and entra_emulator.requests("token") == []


@pytest.mark.urls(__name__)
def test_a_refresh_ahead_updates_the_tokens_the_request_holds(adele, entra_emulator):
    leave_only(240, adele)                      # due: the middleware refreshes before the view runs
    old = stored_access_token()
    crypto.counters.reset()
    assert adele.get("/three").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    assert crypto.counters.decrypts == 2        # the unlocked read, then the locked one; the view: none
    (bearer,) = bearers(entra_emulator)         # the three calls carry the refreshed token
    assert bearer == f"Bearer {stored_access_token()}" != f"Bearer {old}"


@pytest.mark.urls(__name__)
def test_a_refresh_inside_the_view_serves_its_later_calls(adele, entra_emulator):
    """Graph rejects the first call's token (401): one refresh, and the next two calls use the new
    token without another read."""
    entra_emulator.fail_next("graph:/v1.0/me", 401)
    assert adele.get("/three").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    first, *rest = entra_emulator.requests("graph")
    assert len({r.headers["authorization"] for r in rest}) == 1
    assert first.headers["authorization"] not in {r.headers["authorization"] for r in rest}
    assert crypto.counters.decrypts == 2        # the first read, and the locked one to refresh


# -- keys and the stored cache ----------------------------------------------------------------------
def test_derived_keys_are_computed_once_per_secret(adele):
    data = crypto.encrypt("x", "user:1")
    before = crypto.counters.derivations
    for _ in range(5):
        assert crypto.decrypt(crypto.encrypt("x", "user:1"), "user:1") == "x"
    assert crypto.counters.derivations == before
    with override_settings(SECRET_KEY="another secret", SECRET_KEY_FALLBACKS=[]):
        assert crypto.decrypt(data, "user:1") is None            # the new secret's key, derived
        assert crypto.counters.derivations == before + 1
    with override_settings(SECRET_KEY="another secret", SECRET_KEY_FALLBACKS=["graph-auth-tests"]):
        assert crypto.decrypt(data, "user:1") == "x"             # the fallback still opens it


def test_expired_access_tokens_are_pruned_when_the_cache_is_written(adele, entra_emulator):
    row = TokenCache.objects.get()
    cache = json.loads(crypto.decrypt(row.data, row.context))
    (key, entry), = cache["AccessToken"].items()
    stale = {**entry, "target": "Calendars.Read", "expires_on": str(int(time.time()) - 60),
             "cached_at": str(int(time.time()) - 3660)}
    cache["AccessToken"][key.replace(entry["target"].lower(), "calendars.read")] = stale   # msal's key
    TokenCache.objects.filter(pk=row.pk).update(data=crypto.encrypt(json.dumps(cache), row.context))
    entra_emulator.fail_next("graph:/v1.0/me", 401)      # a forced refresh writes the cache
    assert adele.get("/profile/").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    stored = json.loads(crypto.decrypt(TokenCache.objects.get().data, row.context))
    assert [e["target"] for e in stored["AccessToken"].values()] == [entry["target"]]
    assert stored["RefreshToken"] and stored["Account"] and stored["IdToken"]


def test_every_write_prunes_expired_access_tokens(adele):
    """Also writes that don't go through a token lookup (msal sweeps expired tokens out of the
    copy in memory when it searches them, not otherwise)."""
    user = TokenCache.objects.get().user
    cache = TokenStore(user).load()
    (entry,) = cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, now=0)
    cache.modify(msal.TokenCache.CredentialType.ACCESS_TOKEN, entry, {"expires_on": str(int(time.time()) - 1)})
    TokenStore(user).replace(cache)
    stored = json.loads(crypto.decrypt(TokenCache.objects.get().data, f"user:{user.pk}"))
    assert stored["AccessToken"] == {} and stored["RefreshToken"] and stored["IdToken"]


# -- no double refresh ------------------------------------------------------------------------------
def test_tokens_shorter_lived_than_the_margin_cost_one_grant_per_request(adele, entra_emulator):
    """With 200 s access tokens and the default 300 s margin, a request used to refresh in the
    middleware and again in the view (the new token was due at once): 400 grants for 200 requests."""
    leave_only(60, adele)
    entra_emulator.settings.access_token_lifetime = 200
    for _ in range(5):
        assert adele.get("/profile/").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    status = adele.session[keys.TOKEN_KEY]
    assert status["expires_at"] - status["refresh_at"] == 100      # half the lifetime, not 300


def test_the_middleware_and_the_view_never_both_refresh(adele, entra_emulator):
    leave_only(240, adele)
    assert adele.get("/profile/").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    assert len(bearers(entra_emulator)) == 1
