"""Checks of the site itself: graph_auth's system checks, the redirect URI Django builds behind the
current proxy settings, and whether stored token caches decrypt with the current keys."""
from __future__ import annotations

import contextlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import NoReverseMatch, get_script_prefix, reverse, set_script_prefix

from .. import crypto
from ..app_settings import app_settings
from ..exceptions import GraphAuthConfigError
from ..models import AppTokenCache, TokenCache
from ..views.signin import redirect_uri as build  # exactly what the login view sends
from .base import FAIL, PASS, SKIP, WARN, Context, Result

SAMPLE = 100                    # newest rows of each token-cache table tried
LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")
PROXY_HINT = ("Behind a proxy that ends TLS, set SECURE_PROXY_SSL_HEADER = (\"HTTP_X_FORWARDED_PROTO\", "
              "\"https\") and have the proxy send that header (and only the proxy), or set "
              "GRAPH_AUTH['REDIRECT_URI']. If Django itself serves https, ignore this.")


def settings_checks(ctx: Context) -> Result:
    """graph_auth's system checks (the doctor runs them itself: it must run when they fail)."""
    found = [m for m in checks.run_checks()
             if str(m.id or "").startswith("graph_auth.") and not m.is_silenced()]
    errors = [m for m in found if m.level >= checks.ERROR]
    listed = "; ".join(f"{m.id}: {m.msg}" for m in (errors or found))
    if errors:
        return Result("settings", FAIL, listed, errors[0].hint or "")
    if found:
        return Result("settings", WARN, listed, found[0].hint or "")
    return Result("settings", PASS, "graph_auth's system checks find no problem")


@contextlib.contextmanager
def _script_prefix(prefix: str):
    """Reverse URLs as a request under ``prefix`` would (a site mounted below the root)."""
    previous = get_script_prefix()
    set_script_prefix(prefix)
    try:
        yield
    finally:
        set_script_prefix(previous)


def _forwarded_request(url: str, path: str):
    """The request Django gets for ``url`` from a reverse proxy that passes the public host on
    (as Host, or as X-Forwarded-Host when USE_X_FORWARDED_HOST) and, when SECURE_PROXY_SSL_HEADER
    is set, that header for https; the hop from the proxy to Django is plain http."""
    public = urlsplit(url)
    meta = {"HTTP_HOST": public.netloc}
    if settings.USE_X_FORWARDED_HOST:
        meta = {"HTTP_HOST": "127.0.0.1:8000", "HTTP_X_FORWARDED_HOST": public.netloc}
    if settings.SECURE_PROXY_SSL_HEADER and public.scheme == "https":
        header, value = settings.SECURE_PROXY_SSL_HEADER
        meta[header] = value
    return RequestFactory().get(path, secure=False, **meta)


def redirect_uri(ctx: Context) -> Result:
    """The redirect URI the login view sends, as Django builds it for the public URL (--url)."""
    public = urlsplit(ctx.url) if ctx.url else None
    prefix = settings.FORCE_SCRIPT_NAME or (public.path.rstrip("/") + "/" if public else "/")
    try:
        with _script_prefix(prefix):
            path = reverse("graph_auth:callback")
            uri = app_settings.REDIRECT_URI or (build(_forwarded_request(ctx.url, path)) if public else None)
    except NoReverseMatch:
        return Result("redirect_uri", FAIL, "graph_auth's URLs are not in the URLconf",
                      "Add path(\"auth/\", include(\"graph_auth.urls\")) to your urls.py.")
    except DisallowedHost:
        return Result("redirect_uri", FAIL, f"Django refuses requests for {public.hostname!r} (DisallowedHost: "
                                            "a 400 for every page)", "Add it to ALLOWED_HOSTS.")
    if uri is None:
        return Result("redirect_uri", SKIP, f"built from each request (the callback is {path})",
                      "Pass --url https://your.site (the public URL) to see the redirect URI Django builds "
                      "behind your proxy settings.")
    ctx.redirect_uri = uri
    built = urlsplit(uri)
    how = "GRAPH_AUTH['REDIRECT_URI']" if app_settings.REDIRECT_URI else "built by Django"
    if not built.path.endswith(path.removeprefix(prefix.rstrip("/"))):
        return Result("redirect_uri", FAIL, f"{uri} ({how}) is not graph_auth's callback ({path})",
                      "Point REDIRECT_URI at graph_auth:callback, or leave it out.")
    if built.scheme != "https" and built.hostname not in LOOPBACK:
        return Result("redirect_uri", WARN, f"{uri} ({how}): Entra takes http only for localhost",
                      PROXY_HINT if not app_settings.REDIRECT_URI else "Use an https REDIRECT_URI.")
    if public and built.netloc != public.netloc:
        return Result("redirect_uri", WARN, f"{uri} ({how}) is not on {public.netloc}",
                      "Set REDIRECT_URI on the public host, or check USE_X_FORWARDED_HOST and the "
                      "proxy's Host header.")
    return Result("redirect_uri", PASS, f"{uri} ({how}): register it as a Web redirect URI")


@contextlib.contextmanager
def _quiet(logger_name: str):
    """Keep a logger's per-row warnings out of the report (the report counts them)."""
    logger = logging.getLogger(logger_name)
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def token_caches(ctx: Context) -> Result:
    """Stored token caches decrypt with the current keys (CACHE_ENCRYPTION_KEYS or SECRET_KEY)."""
    try:
        if crypto.decrypt(crypto.encrypt("probe", "doctor"), "doctor") != "probe":
            return Result("token_caches", FAIL, "the current keys can't read what they write")
        rows = [(row.data, row.context) for model in (TokenCache, AppTokenCache)
                for row in model.objects.exclude(data="").order_by("-updated_at")[:SAMPLE]]
    except GraphAuthConfigError as exc:
        return Result("token_caches", FAIL, str(exc), "Fix GRAPH_AUTH['CACHE_ENCRYPTION_KEYS'].")
    except DatabaseError as exc:
        return Result("token_caches", FAIL, f"the token tables can't be read ({type(exc).__name__})",
                      "Run manage.py migrate.")
    if not rows:
        return Result("token_caches", PASS, "no stored token caches yet (the keys work)")
    with _quiet("graph_auth.crypto"):
        unreadable = [data for data, context in rows if crypto.decrypt(data, context) is None]
        other_row = [data for data in unreadable if crypto.decrypt_unbound(data) is not None]
    if not unreadable:
        return Result("token_caches", PASS, f"the {len(rows)} newest stored token caches decrypt")
    summary = f"{len(unreadable)} of the {len(rows)} newest stored token caches don't decrypt"
    if other_row:
        return Result("token_caches", FAIL, f"{summary}: {len(other_row)} were written for another row or "
                                            "by the first release", "Run manage.py migrate (migration "
                                                                    "graph_auth.0003 re-encrypts them).")
    return Result("token_caches", FAIL, f"{summary} with the current keys",
                  "The keys changed: put the old SECRET_KEY in SECRET_KEY_FALLBACKS (or the old key after "
                  "the new one in CACHE_ENCRYPTION_KEYS). Until then those users sign in again.")
