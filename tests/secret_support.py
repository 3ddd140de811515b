"""Every secret a test's flows put on the wire or in a token cache, to grep logs and reports for."""
from __future__ import annotations

import json

from graph_auth import crypto
from graph_auth.emulator.default_directory import WEB_APP_SECRET
from graph_auth.models import AppTokenCache, TokenCache

SECRET_FORM_FIELDS = ("code", "code_verifier", "client_secret", "client_assertion", "assertion",
                      "refresh_token", "device_code")


def cache_secrets(row) -> set[str]:
    """The token values (access, refresh, ID) in one encrypted cache row."""
    cache = json.loads(crypto.decrypt(row.data, row.context) or "{}")
    return {entry["secret"] for section in cache.values() if isinstance(section, dict)
            for entry in section.values() if isinstance(entry, dict) and entry.get("secret")}


def known_secrets(emulator) -> set[str]:
    """The app's secret, what the token endpoint was sent, the bearer tokens Graph was sent and
    every token in the database's caches."""
    found = {WEB_APP_SECRET}
    for request in emulator.requests("token"):
        found |= {request.form[k] for k in SECRET_FORM_FIELDS if request.form.get(k)}
    for request in emulator.requests("graph"):
        auth = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        found.add(auth.removeprefix("Bearer "))
    for model in (TokenCache, AppTokenCache):
        for row in model.objects.all():
            found |= cache_secrets(row)
    return {s for s in found if s}


def leaked(secrets: set[str], texts) -> set[str]:
    """The secrets (their first characters) that appear in any of ``texts``."""
    return {s[:12] for s in secrets for t in texts if s in t}
