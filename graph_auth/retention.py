"""What graph_auth keeps after people stop using the site, and when it goes (``graph_auth_purge``).

- A user's token cache (``TokenCache``) once the user has been inactive for PURGE_INACTIVE_DAYS:
  the row was not written (by a sign-in or a refresh) and no linked Microsoft account signed in
  within that window. Entra's refresh tokens last 90 days and every refresh writes a new one to
  the row, so a row untouched that long holds only dead refresh tokens.
- An on-behalf-of cache (``AppTokenCache`` rows keyed ``obo:``) whose newest refresh token is
  older than the window. msal stores no expiry for refresh tokens, only when each was written
  (``last_modification_time``); a row with none that can be read goes by its ``updated_at``.
  The app's client-credentials rows are left alone (they hold no refresh token, and are rewritten
  whenever a token is needed).
- A session record (``UserSession``) whose Django session has ended: deleted or expired, read from
  the session table for the db and cached_db engines (and any engine built on them); asked of the
  session store one record at a time for the others (cache: gone once evicted or expired; file:
  once ``clearsessions`` removed the file). With signed_cookies the sessions live in the browsers
  and the server can't tell which ended: records are kept.
"""
from __future__ import annotations

import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.contrib.sessions.backends.signed_cookies import SessionStore as CookieSessionStore
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import crypto, msal_client
from .app_settings import app_settings
from .models import AppTokenCache, MicrosoftAccount, TokenCache, UserSession


def window() -> datetime.timedelta:
    """PURGE_INACTIVE_DAYS as a timedelta (ValueError when it is not a positive number)."""
    days = app_settings.PURGE_INACTIVE_DAYS
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0:
        raise ValueError(f"GRAPH_AUTH['PURGE_INACTIVE_DAYS'] must be a positive number of days, not {days!r}")
    return datetime.timedelta(days=days)


def inactive_token_caches(cutoff: datetime.datetime):
    """The token caches of users with no token write and no sign-in since ``cutoff``."""
    recent_sign_in = MicrosoftAccount.objects.filter(user=OuterRef("user"), last_login_at__gte=cutoff)
    return TokenCache.objects.filter(updated_at__lt=cutoff).exclude(Exists(recent_sign_in))


def _obo_last_refresh_token(row) -> float | None:
    """When the row's newest refresh token was written (epoch), or None when it has none we can read."""
    plaintext = crypto.decrypt(row.data, row.context) if row.data else None
    times = msal_client.refresh_token_times(msal_client.new_cache(plaintext)) if plaintext else []
    return max(times) if times else None


def expired_obo_caches(cutoff: datetime.datetime) -> list[str]:
    """The keys of on-behalf-of caches whose refresh tokens were all written before ``cutoff``."""
    expired = []
    rows = AppTokenCache.objects.filter(key__startswith="obo:").only("key", "data", "updated_at")
    for row in rows.iterator():
        written = _obo_last_refresh_token(row)
        if (row.updated_at < cutoff) if written is None else (written < cutoff.timestamp()):
            expired.append(row.key)
    return expired


def ended_session_records(now: datetime.datetime | None = None) -> list[int] | None:
    """The ids of session records whose Django session has ended; None when the session engine
    can't tell (signed_cookies)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, CookieSessionStore):
        return None
    if issubclass(store, DbSessionStore):
        live = store.get_model_class().objects.filter(expire_date__gt=now or timezone.now())
        records = UserSession.objects.exclude(session_key__in=live.values("session_key"))
        return list(records.values_list("pk", flat=True))
    return [pk for pk, key in UserSession.objects.values_list("pk", "session_key").iterator()
            if not store().exists(key)]


def purge(*, dry_run: bool = False) -> dict:
    """Delete (or with ``dry_run`` only count) what has outlived its use; return the counts
    (``sessions`` is None when the session engine can't tell which sessions ended)."""
    now = timezone.now()
    cutoff = now - window()
    tokens = inactive_token_caches(cutoff)
    obo = expired_obo_caches(cutoff)
    sessions = ended_session_records(now)
    counts = {"tokens": tokens.count(), "obo": len(obo), "sessions": None if sessions is None else len(sessions)}
    if not dry_run:
        tokens.delete()
        AppTokenCache.objects.filter(key__in=obo).delete()
        if sessions:
            UserSession.objects.filter(pk__in=sessions).delete()
    return counts
