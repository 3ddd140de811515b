"""msal token caches in database rows: encrypted, locked while refreshing, written only when msal
changed them. ``TokenStore`` holds one user's cache, ``AppTokenStore`` the app's own."""
from __future__ import annotations

import contextlib
import datetime

from . import crypto, lock_wait, msal_client
from .app_settings import app_settings
from .models import AppTokenCache, TokenCache


def _when(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch else None


class RowStore:
    """Load and save the msal cache kept in one row of ``model`` (found by ``lookup``).

    ``load()`` reads without a lock (one query): enough to serve a still-fresh access token.
    ``locked()`` opens a transaction holding the row (``SELECT ... FOR UPDATE`` on PostgreSQL; on
    SQLite the IMMEDIATE transaction mode takes the write lock), reads the newest cache and saves
    it when msal changed it, so concurrent requests never lose a rotated refresh token. Waiting
    for that lock ends with the time budget (``graph_auth.lock_wait``: ``BudgetExceeded``).
    An exception inside the block rolls back and saves nothing. Data no current key decrypts
    reads as an empty cache. Expired access tokens are dropped whenever the cache is written.
    """
    model = None

    def __init__(self, context: str, **lookup) -> None:
        self.context, self.lookup = context, lookup      # context: what the ciphertext is bound to

    def _cache(self, data: str | None):
        return msal_client.new_cache(crypto.decrypt(data, self.context) if data else None)

    def load(self):
        """Return the cache (an empty one when there is none), with one query."""
        return self._cache(self.model.objects.filter(**self.lookup).values_list("data", flat=True).first())

    @contextlib.contextmanager
    def locked(self):
        """Yield the newest cache while holding its row (created empty when missing: the row is
        what the lock holds); save it on exit when msal changed it."""
        with lock_wait.atomic():
            row, _ = self.model.objects.select_for_update().get_or_create(**self.lookup)
            cache = self._cache(row.data)
            yield cache
            if cache.has_state_changed:
                self._write(row, cache)

    def replace(self, cache) -> None:
        """Store ``cache`` as the whole cache (after a sign-in)."""
        with lock_wait.atomic():
            row, _ = self.model.objects.select_for_update().get_or_create(**self.lookup)
            self._write(row, cache)

    def delete(self) -> None:
        self.model.objects.filter(**self.lookup).delete()

    def _write(self, row, cache) -> None:
        msal_client.prune_expired(cache)       # expired access tokens only grow what is decrypted
        row.data = crypto.encrypt(cache.serialize(), self.context)
        self.describe(row, cache)
        row.save()

    def describe(self, row, cache) -> None:
        """Fill the row's readable status columns (never token values)."""


class TokenStore(RowStore):
    """One user's token cache (``TokenCache``); deleted on sign-out and deactivation."""
    model = TokenCache

    def __init__(self, user) -> None:
        super().__init__(TokenCache.context_for(user.pk), user_id=user.pk)
        self.user = user

    def describe(self, row, cache) -> None:
        account_id = next(iter(msal_client.account_ids(cache)), None)
        status = msal_client.token_status(cache, account_id, app_settings.SCOPES,
                                          app_settings.REFRESH_MARGIN) if account_id else {}
        row.access_token_expires_at = _when(status.get("expires_at"))
        row.scopes = " ".join(status.get("scopes", []))
        row.has_refresh_token = bool(status.get("has_rt"))


class AppTokenStore(RowStore):
    """A token cache of the app's own (``AppTokenCache``), shared by every process: client-credentials
    tokens per tenant (``AppTokenStore(tenant)``), or on-behalf-of tokens per API caller
    (``AppTokenStore.for_caller(tid, oid)``)."""
    model = AppTokenCache

    def __init__(self, tenant: str | None = None, *, key: str | None = None) -> None:
        key = key or f"{app_settings.client_id}:{tenant}"
        super().__init__(AppTokenCache.context_for(key), key=key)

    @classmethod
    def for_caller(cls, tenant_id: str, object_id: str) -> AppTokenStore:
        return cls(key=f"obo:{app_settings.client_id}:{tenant_id}:{object_id}")

    def describe(self, row, cache) -> None:
        status = msal_client.token_status(cache, None, [], 0)
        row.access_token_expires_at = _when(status.get("expires_at"))
        row.scopes = " ".join(status.get("scopes", []))
