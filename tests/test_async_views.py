"""Async views through Django's AsyncClient (the ASGI handler, the middleware in async mode): gathered
Graph calls share one token read, refreshes inside async views, CAE and throttling, timeouts,
app-only and on-behalf-of clients. Counts come from the database, the decryption counter and the
emulator's log."""
import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.http import JsonResponse
from django.test import AsyncClient, override_settings
from django.urls import include, path

from graph_auth import crypto
from graph_auth import middleware as graph_middleware
from graph_auth import session as keys
from graph_auth import tokens as graph_tokens
from graph_auth.api import api_view
from graph_auth.app_tokens import app_graph
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.exceptions import GraphRequestError, GraphTimeout
from graph_auth.middleware import REAUTH_KEY, GraphAuthMiddleware

from .api_support import spa_token
from .test_request_tokens import bearers, refresh_grants, stored_access_token
from .token_aging import leave_only

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"


async def gathered(request):
    """Three Graph calls at once."""
    me, mail, people = await asyncio.gather(
        request.graph.aget("/me"), request.graph.aget("/me/messages", params={"$top": "1"}),
        request.graph.aget("/users", params={"$top": "1"}))
    return JsonResponse({"me": me["displayName"], "mail": len(mail["value"]), "people": len(people["value"])})


async def plain(request):
    """An async page that does not use Graph."""
    return JsonResponse({"ok": True})


async def app_only(request):
    """Three app-only calls at once (client credentials)."""
    graph = app_graph(tenant=CONTOSO_ID)
    pages = await asyncio.gather(*(graph.aget("/users", params={"$top": "1"}) for _ in range(3)))
    return JsonResponse({"users": [len(p["value"]) for p in pages]})


@api_view(scopes=["access_as_user"])
async def api_me(request):
    me, mail = await asyncio.gather(request.graph.aget("/me"), request.graph.aget("/me/messages"))
    return JsonResponse({"displayName": me["displayName"], "mail": len(mail["value"])})


urlpatterns = [path("gathered", gathered), path("plain", plain), path("app-only", app_only),
               path("api/async-me", api_me), path("", include("demo_site.urls"))]


def run(coroutine_function, *args, **kwargs):
    """Await from a sync test: the event loop runs in another thread, and the database work of
    sync_to_async(thread_sensitive=True) comes back to this one (its connection, its transaction)."""
    return async_to_sync(coroutine_function)(*args, **kwargs)


@pytest.fixture
def adele(client, entra_emulator, entra_sign_in) -> AsyncClient:
    """Adele, signed in; an AsyncClient with her session cookie."""
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.clear_log()
    crypto.counters.reset()
    browser = AsyncClient()
    browser.cookies = client.cookies
    return browser


# -- gathered calls, one token read ------------------------------------------------------------------
@pytest.mark.urls(__name__)
def test_gathered_calls_share_one_token_read(adele, entra_emulator, django_assert_num_queries, monkeypatch):
    hops = []
    real = graph_tokens.sync_to_async
    monkeypatch.setattr(graph_tokens, "sync_to_async", lambda *a, **k: hops.append(a) or real(*a, **k))
    with django_assert_num_queries(3):          # the session, the user, the token cache: once
        response = run(adele.get, "/gathered")
    assert response.json() == {"me": "Adele Vance", "mail": 1, "people": 1}
    assert crypto.counters.decrypts == 1
    assert len(hops) == 1                       # one thread for the three calls' token
    assert len(entra_emulator.requests("graph")) == 3 and entra_emulator.requests("token") == []


@pytest.mark.urls(__name__)
def test_the_demo_dashboard_gathers_profile_photo_and_mail(adele, entra_emulator):
    response = run(adele.get, "/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="display-name">Adele Vance<' in page and 'id="messages"' in page
    assert sorted(r.path for r in entra_emulator.requests("graph")) == [
        "/v1.0/me", "/v1.0/me/messages", "/v1.0/me/photo/$value"]
    assert crypto.counters.decrypts == 1


# -- refreshes -----------------------------------------------------------------------------------------
@pytest.mark.urls(__name__)
def test_a_refresh_inside_an_async_view_is_made_once_for_all_gathered_calls(adele, entra_emulator):
    leave_only(240)                             # due in the database; the session's hint does not know
    old = stored_access_token()
    crypto.counters.reset()
    assert run(adele.get, "/gathered").status_code == 200
    assert crypto.counters.decrypts == 2        # the first read, then the locked one
    assert len(refresh_grants(entra_emulator)) == 1
    assert bearers(entra_emulator) == {f"Bearer {stored_access_token()}"} != {f"Bearer {old}"}


@pytest.mark.urls(__name__)
def test_the_async_middleware_refreshes_ahead_and_the_view_reuses_it(adele, client, entra_emulator):
    leave_only(240, client)                     # the session says it is due too
    adele.cookies = client.cookies
    assert run(adele.get, "/gathered").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1
    assert len(bearers(entra_emulator)) == 1
    assert client.session[keys.TOKEN_KEY]["refresh_at"] > time.time()        # the hint moved on


@pytest.mark.urls(__name__)
def test_tokens_shorter_lived_than_the_margin_cost_one_grant_per_async_request(adele, client, entra_emulator):
    leave_only(60, client)
    adele.cookies = client.cookies
    entra_emulator.settings.access_token_lifetime = 200
    for _ in range(3):
        assert run(adele.get, "/gathered").status_code == 200
    assert len(refresh_grants(entra_emulator)) == 1


# -- the middleware in an async stack -------------------------------------------------------------------
def test_the_middleware_is_async_capable():
    async def get_response(request):
        return None

    assert GraphAuthMiddleware.sync_capable and GraphAuthMiddleware.async_capable
    assert iscoroutinefunction(GraphAuthMiddleware(get_response))
    assert not iscoroutinefunction(GraphAuthMiddleware(lambda request: None))


@pytest.mark.urls(__name__)
def test_requests_that_need_no_refresh_take_no_thread(adele, monkeypatch, django_assert_num_queries):
    hops = []
    real = graph_middleware.sync_to_async
    monkeypatch.setattr(graph_middleware, "sync_to_async", lambda *a, **k: hops.append(a) or real(*a, **k))
    with django_assert_num_queries(1):          # the session (the page never reads the user)
        assert run(adele.get, "/plain").json() == {"ok": True}
    assert run(AsyncClient().get, "/plain").status_code == 200     # anonymous: no session at all
    assert hops == []


@pytest.mark.urls(__name__)
def test_a_cae_challenge_in_an_async_view_sends_the_user_through_sign_in(adele, entra_emulator):
    entra_emulator.revoke_sessions(ADELE)       # Graph challenges; the refresh with the claims fails
    response = run(adele.get, "/gathered")
    assert response.status_code == 302 and response["Location"] == "/auth/login/?next=%2Fgathered"
    assert 401 in {r.status for r in entra_emulator.requests("graph")}
    claims = run(adele.session.aget, REAUTH_KEY)["claims"]
    assert json.loads(claims)["access_token"]["nbf"]["essential"] is True


@pytest.mark.urls(__name__)
def test_throttling_in_an_async_view_waits_retry_after(adele, entra_emulator):
    entra_emulator.throttle(ADELE, retry_after=0.01, times=2)
    assert run(adele.get, "/gathered").status_code == 200
    assert sorted(r.status for r in entra_emulator.requests("graph")) == [200, 200, 200, 429, 429]


@pytest.mark.urls(__name__)
def test_a_graph_timeout_in_an_async_view_is_a_transport_error(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", delay=5)
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "TIMEOUT": 0.05, "HANDLE_ERRORS": False}):
        with pytest.raises(GraphTimeout) as info:
            run(adele.get, "/gathered")
    assert (info.value.status_code, info.value.code) == (0, "transportError")
    assert "ReadTimeout" in info.value.message
    assert info.value.__cause__.__traceback__ is None           # no frame of the transport, no token
    entra_emulator.fail_next("graph:/v1.0/me", delay=5)
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "TIMEOUT": 0.05}):
        response = run(adele.get, "/gathered")                   # answered by the middleware
    assert response.status_code == 503 and response["Retry-After"]


# -- app-only and on-behalf-of ---------------------------------------------------------------------------
@pytest.mark.urls(__name__)
def test_app_only_calls_in_an_async_view_share_one_grant(entra_emulator):
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "TENANT_ID": CONTOSO_ID}):
        response = run(AsyncClient().get, "/app-only")
        assert response.json() == {"users": [1, 1, 1]}
        assert run(AsyncClient().get, "/app-only").status_code == 200        # the process's memory
    assert len(entra_emulator.requests("token", grant_type="client_credentials")) == 1
    assert len(entra_emulator.requests("graph")) == 6


@pytest.mark.urls(__name__)
def test_an_async_api_view_calls_graph_on_behalf_of_the_caller(entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    entra_emulator.clear_log()
    for _ in range(2):
        response = run(AsyncClient().get, "/api/async-me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["displayName"] == "Adele Vance"
    assert len(entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")) == 1
    assert len(entra_emulator.requests("graph")) == 4


@pytest.mark.urls(__name__)
def test_an_async_api_view_refuses_a_missing_token(entra_emulator):
    response = run(AsyncClient().get, "/api/async-me")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
