"""Error reports (Django's technical 500 page, the ADMINS mails) never show a token, code or secret."""
import logging
import sys

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.signals import got_request_exception
from django.http import JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, technical_500_response

from graph_auth.api import api_view
from graph_auth.app_tokens import AppTokens, app_graph
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_SECRET
from graph_auth.exceptions import GraphRequestError, IdentityPlatformUnavailable, TokenError
from graph_auth.signals import graph_user_authenticated
from graph_auth.user_tokens import UserTokens
from tests.secret_support import known_secrets, leaked
from tests.test_api import spa_token
from tests.token_aging import leave_only

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"


@api_view(scopes=["access_as_user"])
def failing_api(request):
    request.graph.get("/me")
    raise RuntimeError("the view failed after calling Graph")


def graph_page(request):
    """A page that leaves Graph's failures uncaught (the demo's pages handle outages themselves)."""
    return JsonResponse(request.graph.get("/me"))


urlpatterns = [path("failing-api", failing_api), path("graph-page", graph_page), path("", include("demo_site.urls"))]


@pytest.fixture
def reports(settings):
    """The error reports of each uncaught exception: the technical 500 page, ExceptionReporter's
    text, and the mails AdminEmailHandler sends (text and HTML), all with DEBUG off."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    pages = []

    def capture(sender, request, **kwargs):
        exc_info = sys.exc_info()
        pages.append(technical_500_response(request, *exc_info).content.decode())
        pages.append(ExceptionReporter(request, *exc_info, is_email=True).get_traceback_text())

    got_request_exception.connect(capture)
    try:
        yield lambda: pages + [m.body for m in mail.outbox] + [
            content for m in mail.outbox for content, _ in getattr(m, "alternatives", [])]
    finally:
        got_request_exception.disconnect(capture)
        logger.removeHandler(handler)


def graph_settings(**extra):
    from django.conf import settings
    return {**settings.GRAPH_AUTH, **extra}


def unhandled(**extra):
    """Settings under which Graph and platform failures stay uncaught (by default graph_auth answers
    them with a 503/502 page, and there is no error report)."""
    return graph_settings(HANDLE_ERRORS=False, **extra)


def assert_clean(texts, secrets, expected: str) -> None:
    assert all(expected in t for t in texts[:2])                # the reports are about this failure
    assert mail.outbox and any(getattr(m, "alternatives", None) for m in mail.outbox)   # text and HTML mails
    assert any("Local vars" in t or "local vars" in t.lower() for t in texts)
    assert not leaked(secrets, texts)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("fault", [{"status": 500}, {"delay": 5}], ids=["graph-500", "graph-timeout"])
def test_reports_of_a_failure_mid_graph_call(client, entra_emulator, entra_sign_in, reports, fault):
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.fail_next("graph:/v1.0/me", **fault)
    with override_settings(GRAPH_AUTH=unhandled(TIMEOUT=0.05)), pytest.raises(GraphRequestError):
        client.get("/graph-page")
    expected = "GraphTimeout" if "delay" in fault else "GraphRequestError"
    assert_clean(reports(), known_secrets(entra_emulator), expected)


@pytest.mark.parametrize("fault", [
    {"delay": 5, "times": None},
    {"status": 401, "json": {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret",
                             "error_codes": [7000215]}, "times": None},
], ids=["token-timeout", "token-refused"])
@pytest.mark.urls(__name__)
def test_reports_of_a_failure_mid_refresh(client, entra_emulator, entra_sign_in, reports, fault):
    assert entra_sign_in(client, ADELE).status_code == 302
    leave_only(10, client)                                     # due: the next use refreshes
    secrets = known_secrets(entra_emulator)
    entra_emulator.fail_next("token", grant_type="refresh_token", **fault)
    with override_settings(GRAPH_AUTH=unhandled(TIMEOUT=0.05)), \
            pytest.raises((IdentityPlatformUnavailable, TokenError)):
        client.get("/graph-page")
    assert entra_emulator.requests("token", grant_type="refresh_token")
    assert_clean(reports(), secrets | known_secrets(entra_emulator), "/graph-page")


@pytest.mark.parametrize("fault", [
    {"endpoint": "graph:/v1.0/me", "status": 500}, {"endpoint": "graph:/v1.0/me", "delay": 5},
    {"endpoint": "token", "grant_type": "refresh_token", "delay": 5},
], ids=["graph-500", "graph-timeout", "token-timeout"])
def test_reports_of_a_failure_in_an_async_view(client, entra_emulator, entra_sign_in, reports, fault):
    """The async path: gathered aget calls (the token in coroutine frames, httpx beneath them)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    if "grant_type" in fault:
        leave_only(10)                                         # due: the view's first call refreshes
    secrets = known_secrets(entra_emulator)
    entra_emulator.fail_next(**fault)
    browser = AsyncClient()
    browser.cookies = client.cookies
    with override_settings(GRAPH_AUTH=unhandled(TIMEOUT=0.05)), \
            pytest.raises((GraphRequestError, IdentityPlatformUnavailable)):
        async_to_sync(browser.get)("/dashboard/")
    assert_clean(reports(), secrets | known_secrets(entra_emulator), "/dashboard/")


@pytest.mark.urls(__name__)
def test_reports_of_an_api_view_that_fails_after_on_behalf_of(client, entra_emulator, entra_session, reports):
    bearer = spa_token(entra_emulator, entra_session)
    with pytest.raises(RuntimeError):
        client.get("/failing-api", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")
    assert_clean(reports(), known_secrets(entra_emulator) | {bearer}, "the view failed after calling Graph")


def test_reports_of_a_form_post_callback_that_fails(entra_emulator, reports):
    def fail(**kwargs):
        raise RuntimeError("a receiver failed")

    client = Client()
    graph_user_authenticated.connect(fail)
    try:
        with override_settings(GRAPH_AUTH=graph_settings(RESPONSE_MODE="form_post")):
            result = entra_emulator.sign_in(client.get("/auth/login/")["Location"], ADELE)
            with pytest.raises(RuntimeError):
                client.post("/auth/callback", result)
    finally:
        graph_user_authenticated.disconnect(fail)
    assert_clean(reports(), known_secrets(entra_emulator) | {result["code"]}, "a receiver failed")


def background_job() -> tuple:
    """A job that uses a user's tokens outside a request and fails; return its exc_info."""
    try:
        UserTokens.for_user(get_user_model().objects.get()).get_token()
    except IdentityPlatformUnavailable:
        return sys.exc_info()
    raise AssertionError("the refresh did not fail")


def test_reports_of_a_background_job_that_fails_mid_refresh(client, entra_emulator, entra_sign_in):
    assert entra_sign_in(client, ADELE).status_code == 302
    leave_only(10)
    secrets = known_secrets(entra_emulator)
    entra_emulator.fail_next("token", grant_type="refresh_token", delay=5)
    with override_settings(GRAPH_AUTH=graph_settings(TIMEOUT=0.05)):
        html = ExceptionReporter(None, *background_job()).get_traceback_html()
    assert "IdentityPlatformUnavailable" in html and "Local vars" in html
    assert not leaked(secrets, [html])


def _raised(call) -> Exception:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 — the test inspects whatever was raised
        return exc
    raise AssertionError("nothing was raised")


def test_errors_hold_no_request_response_or_token(entra_emulator):
    token = AppTokens(CONTOSO_ID).get_token()
    with override_settings(GRAPH_AUTH=graph_settings(TIMEOUT=0.05)):
        graph = app_graph(tenant=CONTOSO_ID)
        entra_emulator.fail_next("graph:/v1.0/users", 500)
        answered = _raised(lambda: graph.get("/users"))
        entra_emulator.fail_next("graph:/v1.0/users", delay=5)
        unreachable = _raised(lambda: graph.get("/users"))
        entra_emulator.fail_next("token", delay=5)
        platform_down = _raised(lambda: AppTokens(CONTOSO_ID).get_token(force_refresh=True))
    assert isinstance(answered, GraphRequestError) and answered.status_code == 500 and answered.inner_error
    assert isinstance(unreachable, GraphRequestError) and unreachable.code == "transportError"
    assert isinstance(platform_down, IdentityPlatformUnavailable)
    for exc in (answered, unreachable, platform_down):
        for held in (exc, exc.__cause__):
            if held is not None:
                assert getattr(held, "request", None) is None and getattr(held, "response", None) is None
                assert token not in repr(vars(held)) and WEB_APP_SECRET not in repr(vars(held))
