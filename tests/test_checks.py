"""System checks about the emulator and credentials: each fires when it should, and only then."""
import pytest
from django.core.checks import run_checks
from django.test import override_settings

from graph_auth.backends import GraphAuthBackend
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.middleware import GraphAuthMiddleware

# graph_auth's own URLs: no protected API, so graph_auth.W030 (tests below) stays out of the way.
pytestmark = pytest.mark.urls("graph_auth.urls")


def ids(**graph_auth):
    with override_settings(GRAPH_AUTH=graph_auth.pop("GRAPH_AUTH"), **graph_auth):
        return {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}


@pytest.mark.parametrize("case, expected", [
    ({"GRAPH_AUTH": {}, "DEBUG": True}, {"graph_auth.E001"}),          # no client id: never the emulator
    ({"GRAPH_AUTH": {}, "DEBUG": False}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": True}, {"graph_auth.W010"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": False}, {"graph_auth.W011"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": True, "ALLOWED_HOSTS": ["example.com"]},
     {"graph_auth.W010", "graph_auth.E011"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": True, "ALLOWED_HOSTS": ["*"]},
     {"graph_auth.W010", "graph_auth.E011"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": True, "ALLOWED_HOSTS": [".example.com", "localhost"]},
     {"graph_auth.W010", "graph_auth.E011"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": True,
      "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "[::1]", "app.localhost", ".localhost", "localhost:8000"]},
     {"graph_auth.W010"}),
    ({"GRAPH_AUTH": {"EMULATOR": True, "EMULATOR_ALLOW_REMOTE": True}, "DEBUG": True,
      "ALLOWED_HOSTS": ["demo.lan"]}, {"graph_auth.W010"}),
    ({"GRAPH_AUTH": {"EMULATOR": True, "CLIENT_ID": "id", "CLIENT_SECRET": "s"}, "DEBUG": True},
     {"graph_auth.E010"}),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id", "CLIENT_SECRET": "s"}, "DEBUG": False}, set()),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id"}, "DEBUG": False}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"EMULATOR": False}, "DEBUG": True}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id", "CLIENT_SECRET": "s", "SCOPE": ["x"]}, "DEBUG": False},
     {"graph_auth.E002"}),
])
def test_checks(case, expected):
    assert ids(**case) == expected


def test_every_check_has_a_hint():
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CLIENT_ID": "id", "BOGUS": 1}, DEBUG=False):
        messages = [m for m in run_checks() if m.id and m.id.startswith("graph_auth.")]
    assert messages and all(m.hint for m in messages)


@pytest.mark.parametrize("graph_auth, debug, on", [
    ({}, True, False), ({}, False, False), ({"EMULATOR": True}, False, True), ({"EMULATOR": True}, True, True),
    ({"EMULATOR": "yes"}, True, False), ({"EMULATOR": None}, True, False),
    ({"EMULATOR": False}, True, False), ({"CLIENT_ID": "id"}, True, False),
    ({"CLIENT_ID": "id", "EMULATOR": True}, True, False),
])
def test_emulator_is_never_on_by_accident(graph_auth, debug, on):
    from graph_auth.app_settings import app_settings
    with override_settings(GRAPH_AUTH=graph_auth, DEBUG=debug):
        assert app_settings.emulator_enabled is on


CONFIGURED = {"CLIENT_ID": "id", "CLIENT_SECRET": "s"}
BACKEND = "graph_auth.backends.GraphAuthBackend"
MIDDLEWARE = "graph_auth.middleware.GraphAuthMiddleware"
AUTH_MW = "django.contrib.auth.middleware.AuthenticationMiddleware"
SESSION_MW = "django.contrib.sessions.middleware.SessionMiddleware"


class SubBackend(GraphAuthBackend):          # referenced by dotted path below
    pass


class SubMiddleware(GraphAuthMiddleware):
    pass


@pytest.mark.parametrize("overrides, expected", [
    ({"AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.ModelBackend"]}, {"graph_auth.E003"}),
    ({"MIDDLEWARE": [SESSION_MW, AUTH_MW]}, {"graph_auth.W004"}),
    ({"MIDDLEWARE": [SESSION_MW, MIDDLEWARE, AUTH_MW]}, {"graph_auth.E004"}),
    ({"MIDDLEWARE": [SESSION_MW, AUTH_MW, MIDDLEWARE]}, set()),
    ({"GRAPH_AUTH": {**CONFIGURED, "SCOPES": ["User.Read", "offline_access"]}}, {"graph_auth.E005"}),
    ({"GRAPH_AUTH": {**CONFIGURED, "REDIRECT_URI": "http://example.com/auth/callback"}}, {"graph_auth.E006"}),
    ({"GRAPH_AUTH": {**CONFIGURED, "REDIRECT_URI": "https://example.com/auth/callback"}}, set()),
    ({"GRAPH_AUTH": {**CONFIGURED, "REDIRECT_URI": "http://localhost:8000/auth/callback"}}, set()),  # Entra takes it
    ({"GRAPH_AUTH": {**CONFIGURED, "REDIRECT_URI": "http://127.0.0.1/auth/callback"}}, set()),
    ({"GRAPH_AUTH": {**CONFIGURED, "RESPONSE_MODE": "fragment"}}, {"graph_auth.E007"}),
    ({"GRAPH_AUTH": {**CONFIGURED, "RESPONSE_MODE": "form_post"}}, {"graph_auth.W007"}),
    ({"GRAPH_AUTH": {**CONFIGURED, "RESPONSE_MODE": "form_post"}, "SESSION_COOKIE_SAMESITE": "None"}, set()),
])
def test_installation_checks(overrides, expected):
    settings = {"GRAPH_AUTH": CONFIGURED, "DEBUG": False, **overrides}
    with override_settings(**settings):
        found = {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}
    assert found == expected


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize("options, expected", [({}, {"graph_auth.W020"}),
                                               ({"transaction_mode": "IMMEDIATE"}, set())])
def test_sqlite_without_immediate_transactions(options, expected):
    databases = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": options}}
    with override_settings(GRAPH_AUTH=CONFIGURED, DEBUG=False, DATABASES=databases):
        found = {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}
    assert found == expected


def test_subclasses_of_the_backend_and_middleware_count():
    with override_settings(GRAPH_AUTH=CONFIGURED, DEBUG=False,
                           AUTHENTICATION_BACKENDS=["tests.test_checks.SubBackend"],
                           MIDDLEWARE=[SESSION_MW, AUTH_MW, "tests.test_checks.SubMiddleware"]):
        found = {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}
    assert found == set()


@pytest.mark.urls("demo_site.urls")             # a site with protected APIs (api_view and DRF)
@pytest.mark.parametrize("graph_auth, fires", [
    ({}, True),
    ({"TENANT_ID": "common"}, True),
    ({"ALLOWED_TENANTS": [CONTOSO_ID]}, False),
    ({"API_ALLOW_ANY_TENANT": True}, False),
    ({"TENANT_ID": CONTOSO_ID}, False),
    ({"TENANT_ID": "contoso.onmicrosoft.com"}, False),
])
def test_multi_tenant_api_without_allowed_tenants(graph_auth, fires):
    with override_settings(GRAPH_AUTH={**CONFIGURED, **graph_auth}, DEBUG=False):
        messages = [m for m in run_checks() if m.id == "graph_auth.W030"]
    assert bool(messages) is fires
    if fires:
        assert "ALLOWED_TENANTS" in messages[0].msg and "API_ALLOW_ANY_TENANT" in messages[0].hint


@pytest.mark.parametrize("urls", ["graph_auth.urls", "tests.drf_urls", "tests.api_urls"])
def test_the_api_check_looks_for_protected_apis_in_the_urls(urls, settings):
    """Silent for a site with no protected API; api_view views and DRF views authenticating with
    GraphBearerAuthentication (included at any depth) count."""
    settings.ROOT_URLCONF = urls
    with override_settings(GRAPH_AUTH=CONFIGURED, DEBUG=False):
        found = {m.id for m in run_checks() if m.id == "graph_auth.W030"}
    assert found == (set() if urls == "graph_auth.urls" else {"graph_auth.W030"})


def test_signed_cookie_sessions_are_reported():
    cookies = "django.contrib.sessions.backends.signed_cookies"
    assert "graph_auth.W031" in ids(GRAPH_AUTH=CONFIGURED, DEBUG=False, SESSION_ENGINE=cookies)
    assert "graph_auth.W031" not in ids(GRAPH_AUTH=CONFIGURED, DEBUG=False,
                                        SESSION_ENGINE="django.contrib.sessions.backends.cached_db")


@pytest.mark.parametrize("overrides, expected", [
    ({}, set()),
    ({"REQUEST_BUDGET": None, "BACKGROUND_BUDGET": 600}, set()),
    ({"REQUEST_BUDGET": 0}, {"graph_auth.E050"}),
    ({"REFRESH_AHEAD_TIMEOUT": None}, {"graph_auth.E050"}),
    ({"BREAKER_COOLDOWN": "30"}, {"graph_auth.E050"}),
    ({"BREAKER_CACHE": "nowhere"}, {"graph_auth.E051"}),
])
def test_budget_and_breaker_settings(overrides, expected):
    with override_settings(GRAPH_AUTH={**CONFIGURED, **overrides}, DEBUG=False):
        found = {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}
    assert found == expected


@pytest.mark.parametrize("backend, fires", [("django.core.cache.backends.locmem.LocMemCache", True),
                                            ("django.core.cache.backends.redis.RedisCache", False)])
def test_a_breaker_each_process_keeps_for_itself_is_reported_at_deploy(backend, fires):
    caches = {"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/11"}}
    with override_settings(GRAPH_AUTH=CONFIGURED, DEBUG=False, CACHES=caches):
        plain = {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}
        deploy = {m.id for m in run_checks(include_deployment_checks=True) if m.id and m.id.startswith("graph_auth.")}
    assert "graph_auth.W051" not in plain and ("graph_auth.W051" in deploy) == fires
