"""The herd's baseline: a token store that reads the cache without a lock and writes it back at the
end (last write wins), as an app that stores msal's cache naively does."""
from __future__ import annotations

import contextlib


def use_naive_store() -> None:
    """Make every ``TokenStore`` of this process naive (bench processes only)."""
    from django.db import transaction

    from graph_auth.models import TokenCache
    from graph_auth.token_store import TokenStore

    @contextlib.contextmanager
    def naive(self):
        cache = self.load()
        yield cache
        if cache.has_state_changed:
            with transaction.atomic():
                row, _ = TokenCache.objects.get_or_create(user_id=self.user.pk)
                self._write(row, cache)

    TokenStore.locked = naive
