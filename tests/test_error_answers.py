"""Graph's and the identity platform's failures in browser pages: graph_auth's middleware answers them
(503 + Retry-After, 403, 502; a page, or JSON for JSON/XHR clients), never with a 500."""
from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, override_settings

from graph_auth import breaker
from graph_auth.answers import describe
from graph_auth.emulator.default_directory import WEB_APP_ID
from graph_auth.exceptions import GraphRequestError, GraphThrottled

from .test_middleware import adele  # a fixture: Adele signed in
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]
ADELE = "adele@contoso.onmicrosoft.com"
ACCEPT_JSON = {"HTTP_ACCEPT": "application/json"}
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
DEFAULT_RETRY_AFTER = "30"          # graph_auth's, when the failure named no time
INVALID_CLIENT = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.",
                  "error_codes": [7000215]}


def graph_auth(**extra):
    return override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, **extra})


def templates(response) -> list[str]:
    return [t.name for t in response.templates]


def closed_port_url() -> str:
    """A local URL nothing listens on: connecting is refused at once, as for a host that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def adele_expired(client, entra_emulator, entra_sign_in):
    """Adele with an access token too close to expiry to serve even while the platform is down
    (tokens issued after her sign-in last as usual)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    leave_only(10, client)                   # due, and too close to expiry for the outage fallback
    return client


# -- 503: throttled, down, timed out -------------------------------------------------------------
def test_graph_503_after_the_retries_is_a_503_page_with_graphs_retry_after(adele, entra_emulator):
    entra_emulator.fail_next("graph", 503, headers={"Retry-After": "7"}, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0):
        response = adele.get("/profile/")
    assert response.status_code == 503 and response["Retry-After"] == "7"
    assert "graph_auth/unavailable.html" in templates(response)
    body = response.content.decode()
    assert 'data-code="graph_throttled"' in body and 'id="graph-auth-retry" href="/profile/"' in body
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("value", ["inf", "1e999"])
def test_an_infinite_retry_after_from_graph_is_a_503_with_a_finite_one(adele, entra_emulator, value):
    """Not a usable wait: the client backs off instead, and the 503 asks for that back-off."""
    entra_emulator.fail_next("graph", 429, headers={"Retry-After": value}, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0):
        response = adele.get("/profile/", **ACCEPT_JSON)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["error"] == "graph_throttled"


@pytest.mark.parametrize(("wait", "header"), [(float("inf"), DEFAULT_RETRY_AFTER), (float("nan"), DEFAULT_RETRY_AFTER),
                                              (1e300, "86400"), (0.2, "1")])
def test_the_answered_retry_after_is_a_whole_number_of_seconds_up_to_a_day(wait, header):
    answer = describe(GraphThrottled(0, "throttled", "", retry_after=wait))
    assert (answer.status, answer.headers["Retry-After"]) == (503, header)


def test_the_page_renders_when_the_home_url_names_no_view(adele, entra_emulator):
    entra_emulator.fail_next("graph", 503, headers={"Retry-After": "7"}, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0, LOGIN_REDIRECT_URL="no-such-view"):
        response = adele.get("/profile/")
    assert response.status_code == 503 and response.context["home_url"] == "/"


@pytest.mark.parametrize("headers", [ACCEPT_JSON, XHR], ids=["accept-json", "xhr"])
def test_json_and_xhr_clients_get_json(adele, entra_emulator, headers):
    entra_emulator.fail_next("graph", 503, headers={"Retry-After": "7"}, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0):
        response = adele.get("/profile/", **headers)
    assert response.status_code == 503 and response["Retry-After"] == "7"
    body = response.json()
    assert body["error"] == "graph_throttled" and body["error_description"]
    assert body["status"] == 503 and body["code"] == "serviceNotAvailable" and body["request_id"]


def test_an_async_view_gets_the_same_answer(adele, entra_emulator):
    entra_emulator.fail_next("graph", 503, headers={"Retry-After": "7"}, times=None)
    async_client = AsyncClient()
    async_client.cookies = adele.cookies
    with graph_auth(GRAPH_MAX_RETRIES=0):
        response = async_to_sync(async_client.get)("/async/profile/")
    assert response.status_code == 503 and response["Retry-After"] == "7"
    assert "graph_auth/unavailable.html" in templates(response)


def test_a_throttled_user_fails_fast_with_graphs_retry_after(adele, entra_emulator):
    entra_emulator.throttle(ADELE, retry_after=45, times=None)      # longer than GRAPH_MAX_RETRY_AFTER
    response = adele.get("/profile/", **ACCEPT_JSON)
    assert (response.status_code, response["Retry-After"], response.json()["error"]) == (503, "45", "graph_throttled")
    assert len(entra_emulator.requests("graph")) == 1                 # no waiting, no retry


def test_a_graph_timeout_is_a_503(adele, entra_emulator):
    entra_emulator.fail_next("graph", delay=2)
    with graph_auth(TIMEOUT=0.1):
        response = adele.get("/profile/")
    assert response.status_code == 503 and response["Retry-After"] == DEFAULT_RETRY_AFTER
    assert 'data-code="graph_timeout"' in response.content.decode()


def test_an_unreachable_graph_is_a_503(adele, entra_emulator):
    with graph_auth(EMULATOR_URL=closed_port_url()):       # Microsoft's hosts, as if they were down
        response = adele.get("/profile/", **ACCEPT_JSON)
    assert response.status_code == 503 and response["Retry-After"] == DEFAULT_RETRY_AFTER
    assert response.json()["error"] == "graph_unavailable"


@pytest.mark.parametrize("down", ["token-500", "unreachable"])
def test_an_identity_platform_outage_with_no_usable_token_is_a_503(adele_expired, entra_emulator, down):
    extra = {}
    if down == "unreachable":
        extra["EMULATOR_URL"] = closed_port_url()
    else:
        entra_emulator.fail_next("token", 500, times=None)
    with graph_auth(**extra):
        assert adele_expired.get("/").status_code == 200              # pages without Graph still serve
        response = adele_expired.get("/profile/")
    assert response.status_code == 503 and response["Retry-After"] == DEFAULT_RETRY_AFTER
    assert 'data-code="temporarily_unavailable"' in response.content.decode()
    assert "_auth_user_id" in adele_expired.session                  # still signed in


# -- 502: any other failure ----------------------------------------------------------------------
def test_other_graph_failures_are_a_502(adele, entra_emulator):
    entra_emulator.fail_next("graph", 500, headers={"request-id": "r-1"}, times=2)
    page, data = adele.get("/profile/"), adele.get("/profile/", **ACCEPT_JSON)
    assert page.status_code == 502 and "graph_auth/graph_error.html" in templates(page)
    assert 'data-code="graph_error"' in page.content.decode() and not page.has_header("Retry-After")
    assert data.status_code == 502
    assert {k: data.json()[k] for k in ("error", "status", "code")} == {
        "error": "graph_error", "status": 500, "code": "generalException"}


def test_a_refused_refresh_is_a_502_and_pages_without_graph_keep_working(adele_expired, entra_emulator):
    """An expired client secret, say: the identity platform refuses every refresh."""
    entra_emulator.fail_next("token", 401, json=INVALID_CLIENT, grant_type="refresh_token", times=None)
    assert adele_expired.get("/").status_code == 200
    response = adele_expired.get("/profile/", **ACCEPT_JSON)
    assert response.status_code == 502 and response.json()["error"] == "token_error"


# -- 403: consent only for declared scopes, and only once ----------------------------------------
def test_a_graph_403_where_the_view_declared_no_scope_is_a_403_page(adele, entra_emulator):
    entra_emulator.fail_next("graph", 403, times=None)
    response = adele.get("/profile/")
    assert response.status_code == 403 and "graph_auth/forbidden.html" in templates(response)
    assert 'data-code="graph_forbidden"' in response.content.decode()
    assert "_auth_user_id" in adele.session


def test_a_graph_403_where_the_view_declared_scopes_goes_to_consent_once(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 403, times=None)
    first = adele.get("/mail/")
    assert first.status_code == 302 and first["Location"] == "/auth/login/?next=%2Fmail%2F"
    assert "_auth_user_id" in adele.session                          # consent keeps the session
    login = adele.get(first["Location"])
    assert "Mail.Read" in parse_qs(urlsplit(login["Location"]).query)["scope"][0].split()
    result = entra_emulator.sign_in(login["Location"], ADELE)
    assert adele.get("/auth/callback", result)["Location"] == "/mail/"
    again = adele.get("/mail/")                                       # consent did not help: no loop
    assert again.status_code == 403 and "graph_auth/forbidden.html" in templates(again)
    assert adele.get("/mail/").status_code == 403
    entra_emulator.clear_faults()
    assert adele.get("/mail/").status_code == 200


def test_a_json_client_gets_the_consent_answer_once_then_a_403(adele, entra_emulator):
    entra_emulator.fail_next("graph:/v1.0/me/messages", 403, times=None)
    first = adele.get("/mail/", **XHR)
    assert first.status_code == 401 and first.json()["error"] == "consent_required"
    second = adele.get("/mail/", **XHR)
    assert second.status_code == 403 and second.json()["error"] == "graph_forbidden"


# -- settings --------------------------------------------------------------------------------------
def test_the_page_templates_are_settings(adele, entra_emulator):
    entra_emulator.fail_next("graph", 503, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0, UNAVAILABLE_TEMPLATE="graph_auth/login_failed.html"):
        response = adele.get("/profile/")
    assert response.status_code == 503 and templates(response)[0] == "graph_auth/login_failed.html"


def test_sites_can_opt_out_and_handle_failures_themselves(adele, entra_emulator):
    entra_emulator.fail_next("graph", 503, times=None)
    with graph_auth(GRAPH_MAX_RETRIES=0):
        assert adele.get("/profile/").status_code == 503
    with graph_auth(GRAPH_MAX_RETRIES=0, HANDLE_ERRORS=False), pytest.raises(GraphThrottled):
        adele.get("/profile/")
    entra_emulator.clear_faults()
    entra_emulator.fail_next("graph:/v1.0/me/messages", 403, times=None)
    with graph_auth(HANDLE_ERRORS=False), pytest.raises(GraphRequestError) as info:   # no consent round trip
        adele.get("/mail/")
    assert info.value.status_code == 403


def test_pages_reveal_no_configuration_with_debug_off(adele_expired, entra_emulator):
    unreachable = closed_port_url()
    configuration = [WEB_APP_ID, unreachable.split("//")[1], "login.microsoftonline.com", "graph.microsoft.com",
                     "organizations", "ConnectionError", "token refresh"]
    with graph_auth(EMULATOR_URL=unreachable):
        page = adele_expired.get("/profile/").content.decode()
        breaker.forget()            # else the open breaker answers at once, without trying the platform
        with override_settings(DEBUG=True):
            debug_page = adele_expired.get("/profile/").content.decode()
    assert 'data-code="temporarily_unavailable"' in page
    assert [text for text in configuration if text in page] == []
    assert "token refresh failed: ConnectionError" in debug_page       # developers see why
