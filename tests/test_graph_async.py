"""What only the async half of GraphClient has: its HTTP client (one per event loop and settings),
the emulator's async transports (in-process, over HTTP, unknown hosts refused), transport errors
and timeouts, and concurrent calls. The sync tests of test_graph_client, test_graph_retries and
test_graph_batch run against the async methods too (the ``graph`` fixture's "async" case)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import override_settings

from graph_auth import http
from graph_auth.emulator import AsyncNetworkBlocked, async_emulator_client
from graph_auth.exceptions import GraphRequestError

from .emulator.serving import served
from .graph_support import ADELE, adele, client, graph_requests

V1 = "https://graph.microsoft.com/v1.0"


def run(coroutine_function, *args, **kwargs):
    return async_to_sync(coroutine_function)(*args, **kwargs)


def test_concurrent_calls_overlap(adele, entra_emulator, entra_async_client):
    """Five calls with 0.2 s of Graph latency each take about one call's time, not five."""
    entra_emulator.fail_next("graph", delay=0.2, times=5)
    graph = client(adele, None, async_client=entra_async_client)

    async def five():
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(*(graph.aget("/me") for _ in range(5)))
        return results, loop.time() - start

    results, elapsed = run(five)
    assert [r["userPrincipalName"] for r in results] == [ADELE] * 5
    assert elapsed < 0.2 * 3                    # sequential would be 1 s; generous for slow machines


def test_a_timeout_is_a_graph_request_error(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me", delay=5)
    graph = client(adele, None, async_client=async_emulator_client(entra_emulator, timeout=0.05))
    with pytest.raises(GraphRequestError) as info:
        run(graph.aget, "/me")
    assert (info.value.status_code, info.value.code) == (0, "transportError")
    assert "ReadTimeout" in info.value.message
    assert adele.result["access_token"] not in str(info.value)
    cause = info.value.__cause__
    assert isinstance(cause, httpx.ReadTimeout) and cause.__traceback__ is None


def test_an_unreachable_host_is_a_graph_request_error(adele, entra_async_client, entra_emulator):
    graph = client(adele, None, async_client=entra_async_client, base_url="https://graph.example.com/v1.0")
    with pytest.raises(GraphRequestError) as info:
        run(graph.aget, "/me")
    assert info.value.code == "transportError" and "AsyncNetworkBlocked" in info.value.message
    assert entra_emulator.requests("graph") == []


@pytest.mark.parametrize("url", ["https://example.com/", "http://graph.microsoft.com/v1.0/me",
                                 "https://graph.microsoft.com:8443/v1.0/me",
                                 "https://login.microsoftonline.com.example.com/"])
def test_the_async_transport_refuses_every_other_url(entra_async_client, entra_emulator, url):
    async def get():
        return await entra_async_client.get(url)

    with pytest.raises(AsyncNetworkBlocked):
        run(get)
    assert entra_emulator.requests() == []


def test_the_async_transport_serves_the_identity_platform_too(entra_async_client):
    async def get():
        return await entra_async_client.get("https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration")

    response = run(get)
    assert response.status_code == 200 and response.json()["token_endpoint"].endswith("/oauth2/v2.0/token")


# -- the seam: graph_auth.http.get_async_client ----------------------------------------------------------
def test_one_async_client_per_event_loop_and_settings(entra_emulator):
    async def twice():
        first = http.get_async_client()
        assert http.get_async_client() is first
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "TIMEOUT": 3}):
            other = http.get_async_client()
        assert other is not first and other.timeout.read == 3
        return first

    assert run(twice) is not run(twice)          # each loop its own: httpx pools are loop-bound


def test_the_default_async_client_is_routed_to_the_current_emulator(adele, entra_emulator):
    graph = client(adele, None)                  # no async client given: graph_auth's seam
    assert run(graph.aget, "/me")["userPrincipalName"] == ADELE
    assert len(graph_requests(entra_emulator, "/me")) == 1


def test_an_emulator_served_over_http(adele, entra_emulator):
    with served(entra_emulator) as url, \
            override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "EMULATOR_URL": url}):
        graph = client(adele, None)
        assert run(graph.aget, "/me")["userPrincipalName"] == ADELE

        async def elsewhere():
            return await http.get_async_client().get("https://example.com/")

        with pytest.raises(AsyncNetworkBlocked):
            run(elsewhere)
    [logged] = graph_requests(entra_emulator, "/me")
    assert logged.headers["x-emulated-host"] == "graph.microsoft.com"


def test_production_mode_uses_a_plain_client_with_the_timeout():
    async def get():
        return http.get_async_client()

    with override_settings(GRAPH_AUTH={"CLIENT_ID": "x", "CLIENT_SECRET": "y", "TIMEOUT": 7}):
        production = run(get)
    assert production.timeout.read == 7 and production.follow_redirects
    assert isinstance(production._transport, httpx.AsyncHTTPTransport)     # the network, not the emulator
