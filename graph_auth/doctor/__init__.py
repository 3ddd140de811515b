"""``manage.py graph_auth_doctor``: check a configured site against the identity platform (or the
emulator, in emulator mode) and say, line by line, what passes, what fails and how to fix it."""
from __future__ import annotations

import logging

from .. import msal_client
from ..http import get_session
from . import platform, site
from .base import FAIL, PASS, SKIP, WARN, Context, Result

__all__ = ["FAIL", "PASS", "SKIP", "WARN", "Result", "run"]
logger = logging.getLogger(__name__)

# In report order; a check sees what the ones before it put in the context.
CHECKS = (site.settings_checks, platform.discovery, platform.signing_keys, platform.clock,
          platform.credentials, platform.graph, site.redirect_uri, platform.sign_in, site.token_caches)


def run(*, tenant: str | None = None, url: str | None = None) -> list[Result]:
    """Run every check; ``tenant`` for the probes that need one, ``url`` the site's public URL."""
    msal_client.clear_caches()          # msal keeps failures for a while: probe afresh
    ctx = Context(session=get_session(), tenant=tenant, url=url)
    results = []
    for check in CHECKS:
        try:
            found = check(ctx)
        except Exception as exc:      # a broken check is one failed line, not a crash
            logger.exception("graph_auth_doctor: the %s check failed", check.__name__)
            found = Result(check.__name__, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}")
        results += found if isinstance(found, list) else [found]
    return results
