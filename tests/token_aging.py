"""Let time pass for stored access tokens, as a test can't wait for them to become due.

The access tokens in the database keep their lifetime but are moved back in time so that only
``left`` seconds of it remain (msal's ``cached_at``, ``expires_on``, ``refresh_on`` shift alike);
the tokens themselves (their JWT ``exp``) are untouched, so Graph still takes them.
"""
from __future__ import annotations

import json
import time

from graph_auth import app_tokens, crypto
from graph_auth import session as keys
from graph_auth.models import AppTokenCache, TokenCache

TIMES = ("cached_at", "expires_on", "extended_expires_on", "refresh_on")


def _aged(data: str, left: int, now: int) -> tuple[str, int]:
    cache = json.loads(data)
    shift = 0
    for entry in cache.get("AccessToken", {}).values():
        shift = max(shift, int(entry["expires_on"]) - (now + left))
        for name in TIMES:
            if name in entry:
                entry[name] = str(int(entry[name]) - (int(entry["expires_on"]) - (now + left)))
    return json.dumps(cache), shift


def leave_only(left: int = 240, client=None) -> None:
    """Make every stored access token expire ``left`` seconds from now (240 s: due for refresh by
    the default 300 s margin, still valid); with a test client, move its session's hint too."""
    now, shift = int(time.time()), 0
    for model in (TokenCache, AppTokenCache):
        for row in model.objects.all():
            data, moved = _aged(crypto.decrypt(row.data, row.context), left, now)
            shift = max(shift, moved)
            model.objects.filter(pk=row.pk).update(data=crypto.encrypt(data, row.context))
    app_tokens.clear_caches()                      # the process's memory of app tokens too
    if client is not None:
        session = client.session
        status = session.get(keys.TOKEN_KEY)
        if status:
            session[keys.TOKEN_KEY] = {**status, "refresh_at": status["refresh_at"] - shift,
                                       "expires_at": status["expires_at"] - shift}
            session.save()
