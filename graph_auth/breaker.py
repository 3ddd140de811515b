"""The circuit breaker, shared by every process through Django's cache framework (the cache named
by GRAPH_AUTH["BREAKER_CACHE"]: Redis or another shared cache in production; a per-process local
memory cache only protects that process).

- **Identity platform**: a token request that timed out, could not connect or got a 5xx opens it
  for BREAKER_COOLDOWN seconds. While it is open, the middleware refreshes nothing ahead of expiry,
  and access tokens that are due but still valid are used as they are (no grant, no row lock: no
  thread waits on a failing platform). A request with no valid token left may try the platform,
  one at a time across processes (``probe``: half-open, released when that request is done); the
  others fail at once (503). A successful grant closes the breaker.
- **Graph**: a ``Retry-After`` Graph gave for a user or for the app is recorded, so every other
  request for that user or app waits for what is left of it only within its time budget, else
  fails at once (503 with the remaining ``Retry-After``) without calling Graph. A request that
  gets Graph's 503 without ``Retry-After`` again after a back-off (Graph failing, not pausing one
  caller) records its next back-off for the whole app: the app's other requests fail at once
  until it ends (one 503 retried away records nothing; a 504 is often one slow query's: neither).

A failing cache never fails a request: the breaker then knows nothing (and logs it).
"""
from __future__ import annotations

import functools
import logging
import threading
import uuid
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from . import clock
from .app_settings import app_settings

logger = logging.getLogger(__name__)

_written: set[str] = set()            # keys this process set (``forget`` removes them)
_lock = threading.Lock()


def _cache():
    return caches[app_settings.BREAKER_CACHE]


def _cache_failed(exc: Exception) -> None:
    logger.warning("circuit breaker: the cache %r failed: %s", app_settings.BREAKER_CACHE, type(exc).__name__)


def _get(key: str):
    try:
        return _cache().get(key)
    except Exception as exc:  # noqa: BLE001 — any cache failure: the breaker knows nothing
        _cache_failed(exc)
        return None


def _set(key: str, until: float, seconds: float) -> None:
    try:
        _cache().set(key, until, timeout=clock.whole_seconds(seconds) + 1)     # the cache forgets it after
    except Exception as exc:  # noqa: BLE001 — any cache failure: the breaker stays closed
        _cache_failed(exc)
        return
    with _lock:
        _written.add(key)


def _delete(*keys: str) -> None:
    try:
        _cache().delete_many(keys)
    except Exception as exc:  # noqa: BLE001 — the record then ends by itself
        _cache_failed(exc)


def _identity_key() -> str:
    return f"graph_auth:breaker:identity:{urlsplit(app_settings.AUTHORITY_HOST).hostname}"


def _probe_key() -> str:
    return f"{_identity_key()}:probe"


FAILING = "*failing*"               # the key's "who" when Graph itself fails (503s) for the app


def _graph_key(who: str) -> str:
    return f"graph_auth:breaker:graph:{app_settings.client_id}:{who}"


# -- the identity platform ---------------------------------------------------------------------
def identity_open() -> bool:
    """Whether refreshes ahead of expiry pause (the identity platform failed not long ago)."""
    until = _get(_identity_key())
    return until is not None and until > clock.now()


def trip_identity() -> None:
    """Open the breaker for BREAKER_COOLDOWN seconds (a token request failed on the platform's side)."""
    cooldown = float(app_settings.BREAKER_COOLDOWN)
    _set(_identity_key(), clock.now() + cooldown, cooldown)
    logger.warning("the identity platform is failing: refreshes ahead of expiry pause for %.0fs "
                   "while access tokens are still valid", cooldown)


def close_identity() -> None:
    """Close the breaker (a grant succeeded)."""
    _delete(_identity_key(), _probe_key())


def probe(seconds: float) -> str | None:
    """Whether this request may try the platform while the breaker is open: one request at a
    time across processes, for ``seconds`` at most. Return the probe's ticket, to give back to
    ``release_probe`` when the request is done, whatever happened (a failing cache: a ticket, try);
    None while another request holds it."""
    ticket = uuid.uuid4().hex
    try:
        taken = _cache().add(_probe_key(), ticket, timeout=clock.whole_seconds(seconds))
    except Exception as exc:  # noqa: BLE001 — the breaker knows nothing: try
        _cache_failed(exc)
        return ticket
    return ticket if taken else None


def release_probe(ticket: str) -> None:
    """Let the next request try the platform (the one holding ``ticket`` is done, whether it made
    a grant or not): the probe is otherwise held until its time runs out. Only that request's
    probe: once its time ran out, another may hold one."""
    if _get(_probe_key()) == ticket:        # a failing cache: None, and the probe ends by itself
        _delete(_probe_key())


# -- Graph's Retry-After -----------------------------------------------------------------------
def pending(who: str | None) -> tuple[float, float]:
    """Seconds left of a Retry-After Graph gave ``who`` (a user or the app), and of Graph failing
    for the whole app (0: none); one read of the cache."""
    keys = [_graph_key(who), _graph_key(FAILING)] if who else [_graph_key(FAILING)]
    try:
        found = _cache().get_many(keys)
    except Exception as exc:  # noqa: BLE001 — any cache failure: the breaker knows nothing
        _cache_failed(exc)
        return 0.0, 0.0
    now = clock.now()
    left = [max(0.0, found[key] - now) if key in found else 0.0 for key in keys]
    return (left[0] if who else 0.0), left[-1]


def record(who: str | None, seconds: float, *, failing: bool = False) -> None:
    """Record that Graph asked ``who`` to wait ``seconds`` (``failing``: that Graph is failing for
    the whole app for that long), for every request of every process."""
    key = FAILING if failing else who
    if key and seconds > 0:
        seconds = min(seconds, clock.LONGEST_WAIT)      # no record outlives a day
        _set(_graph_key(key), clock.now() + seconds, seconds)


async def apending(who: str | None) -> tuple[float, float]:
    return await _off_loop(pending, who)


async def arecord(who: str | None, seconds: float, *, failing: bool = False) -> None:
    await _off_loop(functools.partial(record, failing=failing), who, seconds)


async def _off_loop(function, *args):
    # A local-memory cache answers at once; any other may do network I/O: not on the event loop.
    if isinstance(_cache(), LocMemCache):
        return function(*args)
    return await sync_to_async(function, thread_sensitive=False)(*args)


def forget() -> None:
    """Remove every record this process made (tests: one test's faults must not reach the next)."""
    with _lock:
        keys = [*_written, _identity_key(), _probe_key()]
        _written.clear()
    _delete(*keys)
