"""Each user's msal token cache in a ``TokenCache`` row: encrypted, locked while refreshing,
written only when msal changed it."""
from __future__ import annotations

import contextlib
import datetime

from django.db import transaction

from . import crypto, msal_client
from .app_settings import app_settings
from .models import TokenCache


class TokenStore:
    """Load and save one user's token cache.

    ``load()`` reads without a lock (one query): enough to serve a still-fresh access token.
    ``locked()`` opens a transaction holding the row (``SELECT ... FOR UPDATE`` on PostgreSQL; on
    SQLite the IMMEDIATE transaction mode takes the write lock), reads the newest cache and saves
    it when msal changed it, so two requests of one user never lose a rotated refresh token.
    An exception inside the block rolls back and saves nothing. Data no current key decrypts
    reads as an empty cache (the user signs in again).
    """

    def __init__(self, user) -> None:
        self.user = user

    def load(self):
        """Return the user's cache (an empty one when there is none), with one query."""
        data = TokenCache.objects.filter(user_id=self.user.pk).values_list("data", flat=True).first()
        return msal_client.new_cache(crypto.decrypt(data) if data else None)

    @contextlib.contextmanager
    def locked(self):
        """Yield the user's newest cache while holding its row (created empty when missing: the
        row is what the lock holds); save it on exit when msal changed it."""
        with transaction.atomic():
            row, _ = TokenCache.objects.select_for_update().get_or_create(user_id=self.user.pk)
            cache = msal_client.new_cache(crypto.decrypt(row.data) if row.data else None)
            yield cache
            if cache.has_state_changed:
                self._write(row, cache)

    def replace(self, cache) -> None:
        """Store ``cache`` as the user's whole cache (after a sign-in)."""
        with transaction.atomic():
            row, _ = TokenCache.objects.select_for_update().get_or_create(user_id=self.user.pk)
            self._write(row, cache)

    def delete(self) -> None:
        """Forget the user's tokens (sign-out, deactivation)."""
        TokenCache.objects.filter(user_id=self.user.pk).delete()

    def _write(self, row: TokenCache, cache) -> None:
        account_id = next(iter(msal_client.account_ids(cache)), None)
        status = msal_client.token_status(cache, account_id, app_settings.SCOPES,
                                          app_settings.REFRESH_MARGIN) if account_id else {}
        expires = status.get("expires_at")
        row.data = crypto.encrypt(cache.serialize())
        row.access_token_expires_at = (datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
                                       if expires else None)
        row.scopes = " ".join(status.get("scopes", []))
        row.has_refresh_token = bool(status.get("has_rt"))
        row.save()
