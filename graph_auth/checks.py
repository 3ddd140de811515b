"""System checks for graph_auth's configuration (ids graph_auth.E0xx / W0xx, each with a hint)."""
from __future__ import annotations

import sys

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .app_settings import DEFAULTS, app_settings


@register(Tags.security, deploy=False)
def check_emulator(app_configs=None, **kwargs):
    """The emulator signs tokens for anyone: it must never be on by accident, nor reachable."""
    user = app_settings.user_settings
    problems = []
    if user.get("EMULATOR") is True and user.get("CLIENT_ID"):
        problems.append(Error(
            "GRAPH_AUTH['EMULATOR'] is True but a CLIENT_ID is configured; the emulator stays off.",
            hint="Remove EMULATOR (or CLIENT_ID): the emulator only runs with no app registration.",
            id="graph_auth.E010"))
    if app_settings.emulator_enabled:
        public = [h for h in settings.ALLOWED_HOSTS if not _is_local_host(h)]
        if public and not app_settings.EMULATOR_ALLOW_REMOTE:
            problems.append(Error(
                f"graph_auth's emulator is on and ALLOWED_HOSTS names {', '.join(map(repr, public))}: "
                "anyone who reaches this site could sign in as any test user.",
                hint="Set GRAPH_AUTH['CLIENT_ID'], CLIENT_SECRET and TENANT_ID (the emulator then stays "
                     "off), or keep ALLOWED_HOSTS local. EMULATOR_ALLOW_REMOTE=True allows a demo on a "
                     "private network.", id="graph_auth.E011"))
        if not settings.DEBUG:
            problems.append(Warning(
                "graph_auth's emulator is on with DEBUG off: anyone can sign in as any test user.",
                hint="Only for demos and CI. In production set GRAPH_AUTH['CLIENT_ID'] (and remove "
                     "EMULATOR=True).",
                id="graph_auth.W011"))
        else:
            problems.append(Warning(
                "graph_auth is running on its emulator: sign-ins and Graph data are simulated.",
                hint="Set GRAPH_AUTH['CLIENT_ID'], CLIENT_SECRET and TENANT_ID to use Microsoft Entra ID.",
                id="graph_auth.W010"))
    elif not user.get("CLIENT_ID") or not (user.get("CLIENT_SECRET") or user.get("CLIENT_CERTIFICATE")):
        problems.append(Error(
            "GRAPH_AUTH needs CLIENT_ID and CLIENT_SECRET (or CLIENT_CERTIFICATE): no client id is set"
            if not user.get("CLIENT_ID") else
            "GRAPH_AUTH needs CLIENT_SECRET (or CLIENT_CERTIFICATE) with its CLIENT_ID.",
            hint="Set CLIENT_ID and CLIENT_SECRET (or CLIENT_CERTIFICATE) from your app registration. "
                 "For a demo or tests without one, set GRAPH_AUTH['EMULATOR'] = True.",
            id="graph_auth.E001"))
    return problems


def _is_local_host(pattern) -> bool:
    """Whether an ALLOWED_HOSTS entry can only match this machine's names."""
    from django.http.request import split_domain_port

    from .views.emulator import is_local_name
    pattern = str(pattern).lower()
    if pattern.startswith("."):                  # a subdomain wildcard: only ".localhost" stays local
        return pattern == ".localhost"
    return pattern not in ("", "*") and is_local_name(split_domain_port(pattern)[0] or pattern)


@register(Tags.compatibility)
def check_unknown_keys(app_configs=None, **kwargs):
    unknown = sorted(set(app_settings.user_settings) - set(DEFAULTS))
    return [Error(f"GRAPH_AUTH has an unknown key {key!r}.",
                  hint=f"Valid keys: {', '.join(sorted(DEFAULTS))}.", id="graph_auth.E002")
            for key in unknown]


BACKEND = "graph_auth.backends.GraphAuthBackend"
MIDDLEWARE = "graph_auth.middleware.GraphAuthMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
RESERVED_SCOPES = {"openid", "profile", "offline_access"}


def _is_subclass(path: str, base: str) -> bool:
    from django.utils.module_loading import import_string
    try:
        return path == base or issubclass(import_string(path), import_string(base))
    except ImportError:
        return False


@register(Tags.compatibility)
def check_installation(app_configs=None, **kwargs):
    problems = []
    if not any(_is_subclass(b, BACKEND) for b in settings.AUTHENTICATION_BACKENDS):
        problems.append(Error(
            f"{BACKEND} is not in AUTHENTICATION_BACKENDS.",
            hint=f'Add "{BACKEND}" (or your subclass of it) to AUTHENTICATION_BACKENDS.',
            id="graph_auth.E003"))
    middleware = list(settings.MIDDLEWARE or [])
    ours = [i for i, m in enumerate(middleware) if _is_subclass(m, MIDDLEWARE)]
    if not ours:
        problems.append(Warning(
            f"{MIDDLEWARE} is not in MIDDLEWARE: no request.graph and no refresh ahead of expiry.",
            hint=f'Add "{MIDDLEWARE}" after "{AUTH_MIDDLEWARE}".', id="graph_auth.W004"))
    elif AUTH_MIDDLEWARE not in middleware or ours[0] < middleware.index(AUTH_MIDDLEWARE):
        problems.append(Error(
            f"{MIDDLEWARE} must come after {AUTH_MIDDLEWARE}.",
            hint="Move it below AuthenticationMiddleware: it needs request.user and request.session.",
            id="graph_auth.E004"))
    reserved = sorted(RESERVED_SCOPES & {str(s).lower() for s in app_settings.SCOPES or []})
    if reserved:
        problems.append(Error(
            f"GRAPH_AUTH['SCOPES'] contains reserved scope(s): {', '.join(reserved)}.",
            hint="Remove them: msal adds openid, profile and offline_access itself (and refuses them).",
            id="graph_auth.E005"))
    return problems


def _is_loopback_uri(uri) -> bool:
    """Whether ``uri`` is an http://localhost or http://127.0.0.1 URI, which Entra accepts."""
    from urllib.parse import urlsplit
    parts = urlsplit(str(uri))
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")


@register(Tags.security)
def check_transport_security(app_configs=None, **kwargs):
    problems = []
    uri = app_settings.REDIRECT_URI
    if uri and not settings.DEBUG and not str(uri).startswith("https://") and not _is_loopback_uri(uri):
        problems.append(Error(
            f"GRAPH_AUTH['REDIRECT_URI'] ({uri}) is not https and DEBUG is off.",
            hint="Entra only accepts https redirect URIs outside localhost: use https.",
            id="graph_auth.E006"))
    if app_settings.RESPONSE_MODE not in ("query", "form_post"):
        problems.append(Error(
            f"GRAPH_AUTH['RESPONSE_MODE'] is {app_settings.RESPONSE_MODE!r}.",
            hint='Use "query" (the default) or "form_post".', id="graph_auth.E007"))
    elif app_settings.RESPONSE_MODE == "form_post" and settings.SESSION_COOKIE_SAMESITE != "None":
        problems.append(Warning(
            "RESPONSE_MODE is form_post but SESSION_COOKIE_SAMESITE is not 'None': browsers won't send "
            "the session cookie with Entra's cross-site POST, and every sign-in fails with 'expired'.",
            hint='Set SESSION_COOKIE_SAMESITE = "None" and SESSION_COOKIE_SECURE = True, or use "query".',
            id="graph_auth.W007"))
    return problems


@register(Tags.compatibility)
def check_sqlite_locking(app_configs=None, **kwargs):
    db = settings.DATABASES.get("default", {})
    if db.get("ENGINE") == "django.db.backends.sqlite3" and \
            (db.get("OPTIONS") or {}).get("transaction_mode") != "IMMEDIATE":
        return [Warning(
            "SQLite without transaction_mode IMMEDIATE: concurrent token refreshes of one user can "
            "fail with 'database is locked'.",
            hint='Set DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20} '
                 "(Django 5.1+), or use PostgreSQL.", id="graph_auth.W020")]
    return []


TIMES = {"REQUEST_BUDGET": True, "BACKGROUND_BUDGET": True, "REFRESH_AHEAD_TIMEOUT": False,
         "BREAKER_COOLDOWN": False}         # setting -> whether None is allowed


@register(Tags.compatibility)
def check_budget_and_breaker(app_configs=None, **kwargs):
    problems = [Error(f"GRAPH_AUTH['{name}'] must be a positive number of seconds{' or None' if none else ''}.",
                      hint="See README 'When Graph or Microsoft fails'.", id="graph_auth.E050")
                for name, none in TIMES.items() if not _seconds(getattr(app_settings, name), none)]
    alias = app_settings.BREAKER_CACHE
    if alias not in settings.CACHES:
        problems.append(Error(
            f"GRAPH_AUTH['BREAKER_CACHE'] = {alias!r} names no cache in CACHES.",
            hint="Name a cache alias of CACHES (Redis in production: every process shares the breaker).",
            id="graph_auth.E051"))
    return problems


@register(Tags.caches, deploy=True)
def check_breaker_is_shared(app_configs=None, **kwargs):
    backend = settings.CACHES.get(app_settings.BREAKER_CACHE, {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [Warning(
            f"graph_auth's circuit breaker uses {backend.rsplit('.', 1)[-1]}: each process keeps its own "
            "(a Retry-After or an identity-platform outage one process met, the others meet again).",
            hint="Point GRAPH_AUTH['BREAKER_CACHE'] at a shared cache (Redis, Memcached, database).",
            id="graph_auth.W051")]
    return []


def _seconds(value, none_allowed: bool) -> bool:
    if value is None:
        return none_allowed
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _protects_an_api(patterns) -> bool:
    """Whether the URL patterns route to an ``api_view`` or a DRF view authenticating with
    GraphBearerAuthentication (graph_auth.drf is imported by any module that uses it)."""
    drf = sys.modules.get("graph_auth.drf")
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            if _protects_an_api(pattern.url_patterns):
                return True
            continue
        view = getattr(pattern, "callback", None)
        if getattr(view, "graph_auth_api", False):
            return True
        authenticators = getattr(getattr(view, "cls", None), "authentication_classes", None) or ()
        if drf and any(isinstance(a, type) and issubclass(a, drf.GraphBearerAuthentication)
                       for a in authenticators):
            return True
    return False


@register(Tags.security)
def check_api_tenants(app_configs=None, **kwargs):
    """A multi-tenant protected API refuses every bearer token until it names its tenants."""
    user = app_settings.user_settings
    if not app_settings.multi_tenant or user.get("ALLOWED_TENANTS") or user.get("API_ALLOW_ANY_TENANT"):
        return []
    if not getattr(settings, "ROOT_URLCONF", None):
        return []
    from django.urls import get_resolver
    if not _protects_an_api(get_resolver().url_patterns):
        return []
    return [Warning(
        f"This site protects an API with graph_auth and TENANT_ID is {app_settings.TENANT_ID!r} "
        "(multi-tenant), but GRAPH_AUTH['ALLOWED_TENANTS'] is not set: the API refuses every bearer token.",
        hint="Set ALLOWED_TENANTS to the tenant ids whose users and apps may call the API, or "
             "API_ALLOW_ANY_TENANT=True for an API open to every Microsoft Entra tenant.",
        id="graph_auth.W030")]


@register(Tags.security)
def check_session_engine(app_configs=None, **kwargs):
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies":
        return [Warning(
            "SESSION_ENGINE is signed_cookies: 'sign out everywhere', Entra's front-channel logout "
            "and the admin's sign-out action can't end a user's sessions (they live in browsers).",
            hint="Use a server-side session engine (db, cache, cached_db or file) to be able to end "
                 "sessions, or accept that signed-out users stay signed in here until their cookie "
                 "expires.", id="graph_auth.W031")]
    return []


@register(Tags.templates)
def check_site_integration(app_configs=None, **kwargs):
    """The adapter class and the base template that graph_auth's pages extend must load."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    from .adapter import get_adapter
    from .exceptions import GraphAuthConfigError
    problems = []
    try:
        get_adapter()
    except GraphAuthConfigError as exc:
        problems.append(Error(str(exc), hint="Fix GRAPH_AUTH['ADAPTER'], or remove it for the default.",
                              id="graph_auth.E040"))
    try:
        get_template(app_settings.BASE_TEMPLATE)
    except TemplateDoesNotExist:
        problems.append(Error(
            f"GRAPH_AUTH['BASE_TEMPLATE'] = {app_settings.BASE_TEMPLATE!r}: no such template.",
            hint="Name a template your TEMPLATES settings can load (it must have the blocks title, "
                 "extra_head and content), or remove BASE_TEMPLATE for graph_auth's standalone one.",
            id="graph_auth.E041"))
    return problems
