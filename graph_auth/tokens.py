"""TokenProvider: the one sequence every access-token provider runs, written once for sync
(``get_token``) and async (``aget_token``) callers.

    1. what this provider already holds: the cache it read earlier (one read per request), or a
       subclass's memory (the app's process-wide cache);
    2. the stored cache, read without a lock (one query, one decryption);
    3. the row locked, the cache read again (a concurrent request may have refreshed meanwhile);
    4. the subclass's grant (``acquire``), saved when the lock is released.

What fails on the way does not waste what is held (see ``_locked``): an access token that is due
but still valid (``STILL_VALID``) is used while the identity platform's circuit breaker is open
(no lock, no grant; without one, only the breaker's probe tries), when the platform fails or is
too slow for the time budget, and when the lock can't be had within it. A grant of a still-valid
token (ahead of expiry) gets only ``REFRESH_AHEAD_TIMEOUT`` per call. Fresh tokens that could not
be saved (a database error, SQLite's "database is locked" at the write or COMMIT, anything else)
still serve the request; the next one refreshes again (Entra keeps a used refresh token valid). A
database error with nothing to fall back on is ``StorageUnavailable`` (503).

The async variant serves step 1 on the event loop and runs steps 2-4 as one ``sync_to_async`` call
(msal is synchronous and Django's async ORM has no transactions): the row lock is held in that one
thread, and concurrent ``aget_token`` calls of one provider wait for the first one's read.

Subclasses supply their own step only (``acquire``), and where they need them ``account``,
``prepare``, ``remembered``, ``fetched`` and ``failed``, as Django's ``SessionBase`` subclasses
supply ``load``/``save``/``exists``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import NamedTuple

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.views.decorators.debug import sensitive_variables

from . import breaker, budget, msal_client
from .app_settings import app_settings
from .exceptions import (
    SHORT_RETRY_AFTER,
    BudgetExceeded,
    IdentityPlatformUnavailable,
    InteractionRequired,
    StorageUnavailable,
)
from .log import clean
from .msal_client import Hit

logger = logging.getLogger(__name__)

STILL_VALID = 30        # seconds: a due access token this far from expiry still serves when no new one comes


def _why(exc: Exception) -> str:
    """A database error's type (its message may quote data), or another error's type and message."""
    if isinstance(exc, DatabaseError):
        return type(exc).__name__
    cause = f" from {type(exc.__cause__).__name__}" if exc.__cause__ is not None else ""
    return f"{type(exc).__name__}{cause}: {clean(exc)}"


class Want(NamedTuple):
    """What one token request asks for."""
    scopes: tuple
    claims: str | None
    force: bool

    @property
    def cacheable(self) -> bool:
        """Whether a cached token may answer it (not when Graph rejected one or asks for claims)."""
        return not (self.claims or self.force)


class TokenProvider:
    """The acquisition sequence (see the module docstring); ``store`` is the provider's RowStore."""

    store = None
    throttle_key: str | None = None     # whose Graph Retry-After this provider's requests share

    def __init__(self) -> None:
        self._cache = None                          # the msal cache this provider last read or saved
        self._alocks: weakref.WeakKeyDictionary | None = None      # per event loop, made when needed

    # -- what a subclass supplies -----------------------------------------------------------------
    def default_scopes(self) -> list[str]:
        return list(app_settings.SCOPES)

    @property
    def margin(self) -> int:
        return app_settings.REFRESH_MARGIN

    def prepare(self) -> None:
        """Raise before any query when no token can be had at all (runs in sync code)."""

    def account(self, cache) -> str | None:
        """The msal home account id whose tokens to use (None: app-only tokens)."""
        return None

    def acquire(self, cache, want: Want) -> Hit:
        """Get a new token into ``cache`` (the row is locked); return it."""
        raise NotImplementedError

    def remembered(self, want: Want) -> Hit | None:
        """A token from a memory of the subclass's own, without any I/O."""
        return None

    def fetched(self, hit: Hit, want: Want, cache, *, acquired: bool) -> None:
        """Called when a token came from the database (``acquired``: by a grant, saved)."""

    def failed(self, error: InteractionRequired, want: Want) -> None:
        """Called when the grant needs the user (before the error propagates)."""

    # -- the sequence -----------------------------------------------------------------------------
    def want(self, scopes, claims_challenge, force_refresh) -> Want:
        return Want(tuple(scopes or self.default_scopes()), claims_challenge, bool(force_refresh))

    def peek(self, cache, want: Want, *, still_valid: bool = False) -> Hit | None:
        """A token not yet due for refresh, or with ``still_valid`` one valid for STILL_VALID s more."""
        account = self.account(cache)
        if still_valid:
            return msal_client.peek(cache, account, want.scopes, STILL_VALID, fallback=True)
        return msal_client.peek(cache, account, want.scopes, self.margin)

    def usable(self, cache, want: Want) -> Hit | None:
        """A due but still valid token in ``cache`` that may serve when no new one can be had (never
        for a token Graph rejected, nor when Graph asks for claims)."""
        if cache is None or not want.cacheable:
            return None
        return self.peek(cache, want, still_valid=True)

    def held(self, want: Want) -> Hit | None:
        """A fresh token this provider holds in memory (no query, no decryption)."""
        if not want.cacheable:
            return None
        hit = self.remembered(want)
        if hit is None and self._cache is not None:
            hit = self.peek(self._cache, want)
        return hit

    @sensitive_variables()
    def get_token(self, scopes=None, *, claims_challenge: str | None = None,
                  force_refresh: bool = False) -> str:
        """Return an access token for ``scopes`` (default: the provider's)."""
        self.prepare()
        want = self.want(scopes, claims_challenge, force_refresh)
        with budget.outside_requests():
            hit = self.held(want)
            if hit is None and want.cacheable and self._cache is None:
                self._cache = self._load()
                hit = self.peek(self._cache, want)
                if hit is not None:
                    self.fetched(hit, want, self._cache, acquired=False)
            if hit is None:
                hit = self._fetch(want)
        return hit.token

    @sensitive_variables()
    def refresh(self, scopes=None, *, claims_challenge: str | None = None,
                force_refresh: bool = False) -> str:
        """Steps 3-4 only: under the row lock, a request that waited finds the token the other one
        saved and makes no grant of its own."""
        self.prepare()
        with budget.outside_requests():
            return self._locked(self.want(scopes, claims_challenge, force_refresh)).token

    def _load(self):
        try:
            return self.store.load()
        except DatabaseError as exc:
            raise StorageUnavailable(f"reading the token cache failed: {type(exc).__name__}") from exc

    @sensitive_variables()
    def _fetch(self, want: Want) -> Hit:
        """Steps 3-4, unless the breaker being open answers first (``_while_open``); a request that
        took the breaker's probe releases it when done, whatever happened."""
        hit, ticket = self._while_open(want)
        if hit is not None:
            return hit
        try:
            return self._locked(want)
        finally:
            if ticket is not None:
                breaker.release_probe(ticket)

    def _while_open(self, want: Want) -> tuple[Hit | None, str | None]:
        """While the identity platform's breaker is open: the still-valid token held; without one,
        this request tries the platform only as the breaker's one probe (its ticket), else fails at
        once. ``(None, None)``: the breaker is closed."""
        if not breaker.identity_open():
            return None, None
        hit = self.usable(self._cache, want)
        if hit is not None:
            logger.info("refresh ahead of expiry skipped: the identity platform failed recently")
            return hit, None
        left = budget.remaining()
        ticket = breaker.probe(app_settings.TIMEOUT if left is None else left)
        if ticket is not None:
            return None, ticket
        error = IdentityPlatformUnavailable("the identity platform failed recently (circuit breaker open) and "
                                            "another request tries it; no valid access token meanwhile")
        error.retry_after = SHORT_RETRY_AFTER
        raise error

    @sensitive_variables()
    def _locked(self, want: Want) -> Hit:
        """Steps 3-4, and what serves when they fail (see the module docstring)."""
        cache, fresh = None, None
        fallback = self.usable(self._cache, want)
        try:
            with self.store.locked() as cache:
                hit = self.peek(cache, want) if want.cacheable else None
                if hit is None:
                    fallback = self.usable(cache, want) or fallback
                    hit = self._grant(cache, want, ahead=fallback is not None)
                    fresh = hit if cache.has_state_changed else None
        except InteractionRequired as exc:
            if want.claims and not exc.claims:          # sign in again with Graph's challenge
                exc.claims = want.claims
            self.failed(exc, want)
            raise
        except Exception as exc:
            # The grant went through and saving it failed, whatever the error (SQLite's "database is
            # locked" ends the lock wait's budget: BudgetExceeded); or the database failed.
            if fresh is not None or isinstance(exc, DatabaseError):
                return self._unsaved(exc, fresh, fallback, cache)
            if fallback is None or not isinstance(exc, (IdentityPlatformUnavailable, BudgetExceeded)):
                raise
            logger.warning("no new access token (%s); using the one held until it expires", clean(exc))
            return fallback
        self._cache = cache
        self.fetched(hit, want, cache, acquired=fresh is not None)
        return hit

    @sensitive_variables()
    def _grant(self, cache, want: Want, *, ahead: bool) -> Hit:
        """``acquire``, with the short timeout ahead of expiry; the breaker learns how it went."""
        try:
            with budget.capped(app_settings.REFRESH_AHEAD_TIMEOUT) if ahead else contextlib.nullcontext():
                hit = self.acquire(cache, want)
        except IdentityPlatformUnavailable:
            # A cut of the caller's own making (the middleware's REFRESH_AHEAD_TIMEOUT) with no valid
            # token to fall back on says nothing of the platform: the view's grant, if it needs one,
            # gets the full TIMEOUT. Only a failure within that, or ahead of expiry, opens the breaker.
            if ahead or budget.cap() is None:
                breaker.trip_identity()
            raise
        breaker.close_identity()
        return hit

    @sensitive_variables()
    def _unsaved(self, exc: Exception, fresh: Hit | None, fallback: Hit | None, cache) -> Hit:
        """What serves after a database error, or any failure to save fresh tokens: those tokens
        (this request keeps them; the next one refreshes again), else a still-valid token."""
        if fresh is not None:
            logger.error("token refresh succeeded but saving the tokens failed (%s); this request "
                         "uses them, the next one refreshes again", _why(exc))
            self._cache = cache
            return fresh
        if fallback is not None:
            logger.warning("the token cache could not be locked (%s); using the access token held "
                           "until it expires", type(exc).__name__)
            return fallback
        raise StorageUnavailable(f"the token cache failed: {type(exc).__name__}") from exc

    @sensitive_variables()
    async def aget_token(self, scopes=None, *, claims_challenge: str | None = None,
                         force_refresh: bool = False) -> str:
        """``get_token`` for async code: a held token without leaving the event loop, else the
        whole sequence in one thread (the first of several concurrent calls; the others wait)."""
        want = self.want(scopes, claims_challenge, force_refresh)
        hit = self.held(want)
        if hit is not None:
            return hit.token
        async with self._alock():
            hit = self.held(want)             # the call this one waited for may have read it
            if hit is not None:
                return hit.token
            return await sync_to_async(self.get_token, thread_sensitive=True)(
                scopes, claims_challenge=claims_challenge, force_refresh=force_refresh)

    def _alock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._alocks is None:
            self._alocks = weakref.WeakKeyDictionary()
        lock = self._alocks.get(loop)
        if lock is None:
            lock = self._alocks[loop] = asyncio.Lock()
        return lock
