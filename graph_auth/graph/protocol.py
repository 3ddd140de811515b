"""How to talk to Graph, without doing any I/O: the sync and async clients drive the same steps.

A protocol function is a generator that yields what it needs done and gets the answer back
(``next_io`` advances it):

    Token(scopes, claims_challenge, force_refresh)   get a token (the driver keeps it; answer None)
    Send(method, url, params, json, data, headers)   send with that token; answer: a Reply
    Sleep(seconds)                                   wait; answer None
    Emit(value)                                      hand a page to the caller; answer None
    Pending()                                        what any process recorded: answer Waits(asked:
                                                     seconds left of a Retry-After Graph gave the
                                                     client's principal (user or app), failing:
                                                     seconds left of Graph failing for this app)
    Record(seconds, failing)                         record Graph's Retry-After for that principal
                                                     (failing: Graph's 503s for the whole app), for
                                                     every process; answer None

and returns its result. The token never reaches these frames (the drivers' frames are
``@sensitive_variables``), so no error report can show it from here. Waits are decided here against
the request's time budget (``graph_auth.budget``: a clock, no I/O): a wait that would end past it
is not slept, the request fails at once with ``GraphThrottled`` and the wait (503, Retry-After).
"""
from __future__ import annotations

import base64
import json as jsonlib
import logging
import math
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .. import budget
from ..exceptions import (
    GraphForbidden,
    GraphRequestError,
    GraphThrottled,
    GraphTimeout,
    GraphUnauthorized,
    GraphUnavailable,
)

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503, 504)
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


class Token(NamedTuple):
    scopes: Any = None
    claims_challenge: str | None = None
    force_refresh: bool = False


class Send(NamedTuple):
    method: str
    url: str
    params: Any = None
    json: Any = None
    data: Any = None
    headers: dict | None = None


class Sleep(NamedTuple):
    seconds: float


class Emit(NamedTuple):
    value: Any


class Pending(NamedTuple):
    pass


class Waits(NamedTuple):
    asked: float = 0.0
    failing: float = 0.0


class Record(NamedTuple):
    seconds: float
    failing: bool = False


class Done(NamedTuple):
    value: Any


def next_io(steps, answer=None, *, until_emit: bool = False):
    """Send ``answer`` into ``steps`` and return the next step that needs I/O (Token, Send, Sleep),
    or ``Done``: with the steps' result, or with ``until_emit`` the next Emit (None at the end)."""
    try:
        step = steps.send(answer)
        while isinstance(step, Emit) and not until_emit:
            step = steps.send(None)
    except StopIteration as stop:
        return Done(None if until_emit else stop.value)
    return Done(step) if isinstance(step, Emit) else step


class Reply(NamedTuple):
    """What the protocol reads of an HTTP response (``headers``: a case-insensitive mapping)."""
    status_code: int
    reason: str
    headers: Any
    content: bytes

    def json(self):
        return jsonlib.loads(self.content)


def claims_from_challenge(www_authenticate: str) -> str | None:
    """Return the decoded claims (a JSON string) of an ``insufficient_claims`` challenge, or None."""
    params = dict(_AUTH_PARAM.findall(www_authenticate or ""))
    if params.get("error") != "insufficient_claims" or not params.get("claims"):
        return None
    raw = params["claims"].replace("-", "+").replace("_", "/")      # base64, or base64url
    try:
        claims = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        is_object = isinstance(jsonlib.loads(claims), dict)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if is_object else None      # msal json.loads it: only a JSON object will do


def origin(url: str) -> tuple:
    """(scheme, host, port) of an absolute URL; user info in it never matches an origin."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:                 # a port that is not a number
        return ("invalid", url)
    if parts.username is not None or parts.password is not None:
        return ("invalid", url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def asked_wait(headers) -> float | None:
    """The Retry-After header's seconds (possibly fractional), None without a usable one (not a
    number, or not a finite one: ``inf``, ``1e999``, ``nan``)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_after(headers, attempt: int) -> float:
    """Seconds to wait: the Retry-After header, else 2**attempt (back off exponentially)."""
    asked = asked_wait(headers)
    return float(2 ** attempt) if asked is None else asked


def error(reply: Reply, kind=None, **extra) -> GraphRequestError:
    """The exception for an error answer: what Graph said, never the response (its request
    carried the access token)."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    # Graph's shape is {"error": {"code", "message", "innerError"}}; proxies and gateways may
    # answer with anything else (HTML, {"error": "..."}), which must not hide the status.
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    inner = err.get("innerError") or err.get("innererror")
    inner = inner if isinstance(inner, dict) else {}
    kind = kind or (GraphUnauthorized if reply.status_code == 401 else GraphRequestError)
    return kind(reply.status_code, str(err.get("code") or "unknown"),
                str(err.get("message") or reply.reason or ""),
                inner.get("request-id") or reply.headers.get("request-id"), inner, **extra)


def transport_error(exc: Exception, *, timeout: bool = False) -> GraphRequestError:
    """What a failure to reach Graph (connection, refused host: GraphUnavailable; a timeout:
    GraphTimeout) raises, sync or async."""
    kind = GraphTimeout if timeout else GraphUnavailable
    return kind(0, "transportError", f"{type(exc).__name__} calling Graph")


def result(reply: Reply):
    """Parsed JSON, bytes for non-JSON bodies (media such as ``/photo/$value``), None for 204."""
    if reply.status_code == 204 or not reply.content:
        return None
    if "json" in (reply.headers.get("Content-Type") or "").lower():
        return reply.json()
    return reply.content


def exchange(client, method: str, url: str, *, params=None, json=None, data=None, headers=None,
             scopes=None):
    """One request with retries: a fresh token once on 401, a claims challenge (CAE, Conditional
    Access: 401 or 403) answered once, 429/503/504 retried after Retry-After up to
    ``client.max_retries`` times unless it asks for more than ``client.max_retry_after`` or more
    than the time budget has left. A Retry-After still running (recorded by any request for this
    user or app) is waited for on the same terms, else the request fails at once. After a back-off,
    a request that finds Graph recorded failing for the app by another request fails at once too
    (retrying would hold its worker for another failure)."""
    yield Token(scopes)                # first: the provider knows whose token it is afterwards
    yield from _wait_pending(client)
    send = Send(method, url, params, json, data, dict(headers or {}))
    refreshed = challenged = recorded_failing = False
    attempt = 0
    while True:
        reply = yield send
        status = reply.status_code
        if status < 400:
            return reply
        if status in (401, 403):       # Conditional Access may also challenge with a 403
            claims = claims_from_challenge(reply.headers.get("WWW-Authenticate", ""))
            if claims and not challenged:
                challenged = True
                yield Token(scopes, claims_challenge=claims)
                continue
            if status == 401 and not claims and not refreshed:
                refreshed = True
                yield Token(scopes, force_refresh=True)
                continue
        if status in RETRY_STATUSES:
            wait = retry_after(reply.headers, attempt)
            if asked_wait(reply.headers) is not None:      # Graph's ask: every request of this principal
                yield Record(wait)
            elif status == 503 and attempt:    # unavailable again after a back-off: the whole app backs off
                yield Record(wait, failing=True)
                recorded_failing = True
            if attempt >= client.max_retries or wait > client.max_retry_after or not budget.fits(wait):
                raise error(reply, GraphThrottled, retry_after=wait)
            logger.info("Graph answered %s; retrying in %.1fs", status, wait)
            yield Sleep(wait)
            attempt += 1
            if not recorded_failing:           # meanwhile another request may have found Graph failing
                waits = yield Pending()
                if waits.failing > 0:
                    raise _failing(waits.failing)
            continue
        if status == 403:              # the middleware may send the user to consent (once)
            raise error(reply, GraphForbidden, scopes=list(getattr(client, "required_scopes", [])))
        raise error(reply)


def _wait_pending(client):
    """Wait out a Retry-After another request recorded, when it fits; else raise GraphThrottled.
    While Graph is recorded failing for this app (503 again after a back-off), raise
    GraphUnavailable at once: waiting would only hold this worker for another failure."""
    waits = yield Pending()
    if waits.failing > 0:
        raise _failing(waits.failing)
    wait = waits.asked
    if wait <= 0:
        return
    if wait > client.max_retry_after or not budget.fits(wait):
        raise GraphThrottled(0, "retryAfterPending", f"Graph asked for a pause of {wait:.1f}s more "
                             "(a Retry-After another request received)", retry_after=wait)
    logger.info("waiting %.1fs: Graph asked this user or app to pause", wait)
    yield Sleep(wait)


def _failing(seconds: float) -> GraphUnavailable:
    unavailable = GraphUnavailable(0, "serviceFailing", "Graph kept failing another request of this "
                                   f"app; the next try in {seconds:.1f}s")
    unavailable.retry_after = seconds
    return unavailable


def call(client, method: str, path: str, **options):
    """A request to ``path`` (relative to Graph's base URL, or one of its absolute URLs); returns
    its parsed result."""
    return result((yield from exchange(client, method, client.url(path), **options)))


def paging(client, path: str, params=None):
    """Emit each page (the whole JSON object) of a collection, following @odata.nextLink."""
    page = yield from call(client, "GET", path, params=params)
    while True:
        yield Emit(page)
        link = page.get("@odata.nextLink") if isinstance(page, dict) else None
        if not link:
            return
        page = yield from call(client, "GET", link)     # nextLink already carries every query option
