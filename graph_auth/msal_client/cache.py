"""Reading msal's token caches: which accounts they hold, whether an access token is fit to use
or due for refresh, what a token response names; no network, no token request."""
from __future__ import annotations

import base64
import json
import time
from typing import NamedTuple

import msal
from django.views.decorators.debug import sensitive_variables

from ..exceptions import TokenError

AT_MIN_VALIDITY = 300          # msal treats an access token expiring within 5 minutes as expired


@sensitive_variables()
def new_cache(serialized: str | None = None) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if serialized:
        cache.deserialize(serialized)
    return cache


def account_ids(cache) -> list[str]:
    """The home account ids the cache holds (msal's keys: ``<uid>.<utid>`` of client_info, the
    user's *home* account, which for a B2B guest is not the ID token's ``<oid>.<tid>``)."""
    return [a["home_account_id"] for a in cache.search(msal.TokenCache.CredentialType.ACCOUNT)]


@sensitive_variables()
def refresh_token_times(cache) -> list[int]:
    """When each refresh token in ``cache`` was issued or last replaced (epoch seconds): msal
    records no expiry for refresh tokens, only this ``last_modification_time``."""
    return [int(entry.get("last_modification_time") or 0)
            for entry in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]


def sole_account(cache) -> str:
    """Return the home account id of the one account a fresh cache holds after a sign-in."""
    ids = set(account_ids(cache))
    if len(ids) != 1:
        raise TokenError({"error": "no_account", "error_description":
                          f"expected one account in the new tokens, found {len(ids)}"})
    return ids.pop()


@sensitive_variables()
def result_account(result: dict) -> str | None:
    """The home account id a token response names in its ``client_info`` (None without one)."""
    try:
        raw = result["client_info"]
        info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return f"{info['uid']}.{info['utid']}"
    except (KeyError, TypeError, ValueError):
        return None


def _access_tokens(cache, account_id: str | None) -> list[dict]:
    return list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                             query={"home_account_id": account_id}))


class Hit(NamedTuple):
    """A cached access token fit to use: the token, when it expires, when it is due for refresh."""
    token: str
    expires_on: int
    refresh_at: int


def refresh_due(entry: dict, margin: int) -> int:
    """When an access-token entry is due for refresh (epoch seconds): ``margin`` (at least msal's 5
    minutes) before it expires, but never before half its lifetime has passed, nor after the
    ``refresh_on`` the platform asked for.

    The half-lifetime cap is what stops a refresh from being followed by another: a token just
    obtained is never already due, however short-lived (a 200 s token with a 300 s margin would
    be). Half is also where msal starts refreshing long-lived tokens ahead of expiry. Entra's access
    tokens live 60 to 90 minutes (10 at least when configured), so with the default margin the cap
    only matters for margins set above half the lifetime.
    """
    expires_on = int(entry.get("expires_on", 0))
    lifetime = max(0, expires_on - int(entry.get("cached_at", 0) or 0))
    due = expires_on - min(max(margin, AT_MIN_VALIDITY), lifetime // 2)
    return min(due, int(entry.get("refresh_on", due)))


@sensitive_variables()
def peek(cache, account_id: str | None, scopes, margin: int = AT_MIN_VALIDITY, *,
         fallback: bool = False, now: float | None = None) -> Hit | None:
    """Return a ``Hit`` when the cache holds a token for ``scopes`` that is not yet due for refresh
    by ``margin`` (see ``refresh_due``), else None. With ``fallback``, any token still valid for
    ``margin`` seconds will do (used when a refresh failed because the identity platform is down).
    Reads only."""
    now = time.time() if now is None else now
    wanted = set(scopes)
    for entry in _access_tokens(cache, account_id):
        if not wanted <= set(entry.get("target", "").split()):
            continue
        expires_on, due = int(entry.get("expires_on", 0)), refresh_due(entry, margin)
        usable = expires_on - now >= margin if fallback else now < due
        if usable:
            return Hit(entry["secret"], expires_on, due)
    return None


@sensitive_variables()
def result_hit(result: dict, margin: int, now: float | None = None) -> Hit:
    """The ``Hit`` for a token msal just returned (its ``expires_in`` counts from now)."""
    now = int(time.time() if now is None else now)
    entry = {"cached_at": now, "expires_on": now + int(result.get("expires_in") or 0)}
    if result.get("refresh_on"):
        entry["refresh_on"] = int(result["refresh_on"])
    return Hit(result["access_token"], entry["expires_on"], refresh_due(entry, margin))


def prune_expired(cache, now: float | None = None) -> int:
    """Remove the access tokens that have expired (before the cache is written: they would only
    grow it); refresh tokens, accounts and ID tokens stay. Return how many went."""
    now = time.time() if now is None else now
    kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
    expired = [entry for entry in cache.search(kind, now=0)      # now=0: msal's own sweep keeps them
               if int(entry.get("expires_on", 0)) <= now]
    for entry in expired:
        cache.remove_at(entry)
    return len(expired)


@sensitive_variables()
def token_status(cache, account_id: str, scopes, margin: int) -> dict:
    """Return what the session and the admin need to know, without token values: when the access
    token for ``scopes`` must be refreshed, when it expires, the scopes held, whether an RT exists."""
    wanted, refresh_at, expires_at, held = set(scopes), None, None, set()
    for entry in _access_tokens(cache, account_id):
        target = set(entry.get("target", "").split())
        held |= target
        if wanted <= target:
            exp, due = int(entry.get("expires_on", 0)), refresh_due(entry, margin)
            if expires_at is None or exp > expires_at:
                expires_at, refresh_at = exp, due
    has_rt = any(True for _ in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN,
                                            query={"home_account_id": account_id}))
    return {"refresh_at": refresh_at, "expires_at": expires_at, "scopes": sorted(held), "has_rt": has_rt}
