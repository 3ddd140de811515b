"""TokenProvider: the one sequence every access-token provider runs, written once for sync
(``get_token``) and async (``aget_token``) callers.

    1. what this provider already holds: the cache it read earlier (one read per request), or a
       subclass's memory (the app's process-wide cache);
    2. the stored cache, read without a lock (one query, one decryption);
    3. the row locked, the cache read again (a concurrent request may have refreshed meanwhile);
    4. the subclass's grant (``acquire``), saved when the lock is released.

The async variant serves step 1 on the event loop and runs steps 2-4 as one ``sync_to_async`` call
(msal is synchronous and Django's async ORM has no transactions): the row lock is held in that one
thread, and concurrent ``aget_token`` calls of one provider wait for the first one's read.

Subclasses supply their own step only (``acquire``), and where they need them ``account``,
``prepare``, ``remembered``, ``fetched`` and ``failed``, as Django's ``SessionBase`` subclasses
supply ``load``/``save``/``exists``.
"""
from __future__ import annotations

import asyncio
import weakref
from typing import NamedTuple

from asgiref.sync import sync_to_async
from django.views.decorators.debug import sensitive_variables

from . import msal_client
from .app_settings import app_settings
from .exceptions import InteractionRequired
from .msal_client import Hit


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

    def __init__(self) -> None:
        self._cache = None                          # the msal cache this provider last read or saved
        self._alocks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # per event loop

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

    def peek(self, cache, want: Want) -> Hit | None:
        account = self.account(cache)
        return msal_client.peek(cache, account, want.scopes, self.margin)

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
        hit = self.held(want)
        if hit is None and want.cacheable and self._cache is None:
            self._cache = self.store.load()
            hit = self.peek(self._cache, want)
            if hit is not None:
                self.fetched(hit, want, self._cache, acquired=False)
        return hit.token if hit is not None else self._locked(want).token

    @sensitive_variables()
    def refresh(self, scopes=None, *, claims_challenge: str | None = None,
                force_refresh: bool = False) -> str:
        """Steps 3-4 only: under the row lock, a request that waited finds the token the other one
        saved and makes no grant of its own."""
        self.prepare()
        return self._locked(self.want(scopes, claims_challenge, force_refresh)).token

    @sensitive_variables()
    def _locked(self, want: Want) -> Hit:
        acquired = False
        try:
            with self.store.locked() as cache:
                hit = self.peek(cache, want) if want.cacheable else None
                if hit is None:
                    hit, acquired = self.acquire(cache, want), cache.has_state_changed
        except InteractionRequired as exc:
            if want.claims and not exc.claims:          # sign in again with Graph's challenge
                exc.claims = want.claims
            self.failed(exc, want)
            raise
        self._cache = cache
        self.fetched(hit, want, cache, acquired=acquired)
        return hit

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
        lock = self._alocks.get(loop)
        if lock is None:
            lock = self._alocks[loop] = asyncio.Lock()
        return lock
