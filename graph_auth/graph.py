"""GraphClient: Microsoft Graph over the shared ``requests.Session``.

Parsed JSON back (bytes for media such as ``/photo/$value``), paging through ``@odata.nextLink``,
``$batch`` in chunks of 20, retries on 429/503/504 honouring ``Retry-After`` (with a cap), one
fresh-token retry on 401, and Continuous Access Evaluation claims challenges answered by
re-acquiring a token with the claims.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import time
from urllib.parse import urlsplit

from django.views.decorators.debug import sensitive_variables
from requests import RequestException, Timeout

from .app_settings import app_settings
from .exceptions import (
    GraphForbidden,
    GraphRequestError,
    GraphThrottled,
    GraphTimeout,
    GraphUnauthorized,
    GraphUnavailable,
)
from .http import get_session, without_request

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503, 504)
BATCH_LIMIT = 20
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def claims_from_challenge(www_authenticate: str) -> str | None:
    """Return the decoded claims (a JSON string) of an ``insufficient_claims`` challenge, or None."""
    params = dict(_AUTH_PARAM.findall(www_authenticate or ""))
    if params.get("error") != "insufficient_claims" or not params.get("claims"):
        return None
    raw = params["claims"].replace("-", "+").replace("_", "/")      # base64, or base64url
    try:
        claims = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        is_object = isinstance(json.loads(claims), dict)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if is_object else None      # msal json.loads it: only a JSON object will do


def _origin(url: str) -> tuple:
    """(scheme, host, port) of an absolute URL; user info in it never matches an origin."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:                 # a port that is not a number
        return ("invalid", url)
    if parts.username is not None or parts.password is not None:
        return ("invalid", url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def _retry_after(headers, attempt: int) -> float:
    """Seconds to wait: the Retry-After header (seconds, possibly fractional), else 2**attempt."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return float(2 ** attempt)        # no (usable) Retry-After: back off exponentially


def _error(response, kind=None, **extra) -> GraphRequestError:
    """The exception for an error answer: what Graph said, never the response (its request
    carried the access token)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    # Graph's shape is {"error": {"code", "message", "innerError"}}; proxies and gateways may
    # answer with anything else (HTML, {"error": "..."}), which must not hide the status.
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror")
    inner = inner if isinstance(inner, dict) else {}
    kind = kind or (GraphUnauthorized if response.status_code == 401 else GraphRequestError)
    return kind(response.status_code, str(error.get("code") or "unknown"),
                str(error.get("message") or response.reason or ""),
                inner.get("request-id") or response.headers.get("request-id"), inner, **extra)


class GraphClient:
    """A Microsoft Graph client.

    ``token_provider`` has ``get_token(scopes=None, *, claims_challenge=None, force_refresh=False)``
    returning an access token (the user's for ``request.graph``, the app's for app-only clients).
    """

    def __init__(self, token_provider, session=None, base_url: str | None = None,
                 max_retries: int | None = None, max_retry_after: float | None = None,
                 sleep=time.sleep) -> None:
        self.token_provider = token_provider
        self.session = session or get_session()
        self.base_url = (base_url or app_settings.GRAPH_URL).rstrip("/")
        self.max_retries = app_settings.GRAPH_MAX_RETRIES if max_retries is None else max_retries
        self.max_retry_after = (app_settings.GRAPH_MAX_RETRY_AFTER if max_retry_after is None
                                else max_retry_after)
        self.sleep = sleep
        self.required_scopes: list[str] = []       # what the view declared (require_scopes)

    # -- verbs ------------------------------------------------------------------------------------
    def get(self, path: str, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path: str, json=None, data=None, **kwargs):
        return self.request("PUT", path, json=json, data=data, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    @sensitive_variables()
    def require_scopes(self, scopes) -> None:
        """Make sure the token covers ``scopes``; raises InteractionRequired (with the scopes) when
        the user must consent first. graph_auth's middleware turns that into a consent round trip,
        as it does (once) for a Graph 403 on a client whose view declared scopes."""
        self.required_scopes = list(dict.fromkeys([*self.required_scopes, *scopes]))
        self.token_provider.get_token(list(scopes))

    # -- paging -----------------------------------------------------------------------------------
    def pages(self, path: str, params=None):
        """Yield each page (the whole JSON object) of a collection, following @odata.nextLink."""
        page = self.get(path, params=params)
        while True:
            yield page
            link = page.get("@odata.nextLink") if isinstance(page, dict) else None
            if not link:
                return
            page = self.get(link)          # nextLink already carries every query option

    def iterate(self, path: str, params=None):
        """Yield every item of a collection, across pages."""
        for page in self.pages(path, params=params):
            yield from page.get("value", [])

    # -- the request loop -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """Return the absolute URL for ``path``; an absolute URL must be on Graph's own origin."""
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            if _origin(path) != _origin(self.base_url):
                raise ValueError(f"refusing to send a Graph token to {parts.netloc or path!r}")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # No local of this call or of those beneath it (the token, the requests library's prepared
    # request with its Authorization header) shows in Django's error reports.
    @sensitive_variables()
    def request(self, method: str, path: str, *, params=None, json=None, data=None, headers=None,
                scopes=None):
        """Send one request; return parsed JSON, bytes for non-JSON bodies, None for 204."""
        response = self._send(method, self.url(path), params=params, json=json, data=data,
                              headers=headers, scopes=scopes)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", "").lower():
            return response.json()
        return response.content

    def _send(self, method, url, *, params, json, data, headers, scopes):
        token = self.token_provider.get_token(scopes)
        refreshed = challenged = False
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method, url, params=params, json=json, data=data,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"})
            except RequestException as exc:
                kind = GraphTimeout if isinstance(exc, Timeout) else GraphUnavailable
                raise kind(0, "transportError", f"{type(exc).__name__} calling Graph") from without_request(exc)
            status = response.status_code
            if status < 400:
                return response
            if status in (401, 403):       # Conditional Access may also challenge with a 403
                claims = claims_from_challenge(response.headers.get("WWW-Authenticate", ""))
                if claims and not challenged:
                    challenged = True
                    token = self.token_provider.get_token(scopes, claims_challenge=claims)
                    continue
                if status == 401 and not claims and not refreshed:
                    refreshed = True
                    token = self.token_provider.get_token(scopes, force_refresh=True)
                    continue
            if status in RETRY_STATUSES:
                wait = _retry_after(response.headers, attempt)
                if attempt >= self.max_retries or wait > self.max_retry_after:
                    raise _error(response, GraphThrottled, retry_after=wait)
                logger.info("Graph answered %s; retrying in %.1fs", status, wait)
                self.sleep(wait)
                attempt += 1
                continue
            if status == 403:
                raise _error(response, GraphForbidden, scopes=self.required_scopes)
            raise _error(response)

    # -- $batch -----------------------------------------------------------------------------------
    def batch(self, requests: list[dict]) -> list[dict]:
        """Run requests through ``$batch`` (chunks of 20) and return the responses in input order.

        Each request is ``{"method", "url"[, "body", "headers", "id", "dependsOn"]}``; missing ids
        are assigned. Requests linked by ``dependsOn`` go into the same chunk (a linked group of
        more than 20 is a ValueError). Sub-requests answered 429/503/504, and those that failed
        (424) only because one of them did, are sent again (honouring Retry-After) up to
        GRAPH_MAX_RETRIES times; after that their throttled responses are returned as they are.
        """
        items = _batch_items(requests)
        results: dict[str, dict] = {}
        for chunk in _chunks(items):
            self._run_chunk(chunk, results)
        return [results[item["id"]] for item in items]

    def _run_chunk(self, chunk: list[dict], results: dict) -> None:
        pending, attempt = chunk, 0
        while pending:
            answer = self.post("/$batch", json={"requests": pending})
            for response in (answer or {}).get("responses", []):
                results[str(response.get("id"))] = response
            throttled = {item["id"].lower() for item in pending
                         if results.get(item["id"], {}).get("status") in RETRY_STATUSES}
            if not throttled:
                return
            wait = max(_retry_after(results[item["id"]].get("headers") or {}, attempt)
                       for item in pending if item["id"].lower() in throttled)
            if attempt >= self.max_retries or wait > self.max_retry_after:
                return
            resend = _with_failed_dependents(pending, throttled, results)
            logger.info("%d of %d batched requests throttled; retrying in %.1fs",
                        len(throttled), len(pending), wait)
            self.sleep(wait)
            attempt += 1
            pending = [_without_done_deps(item, resend) for item in chunk
                       if item["id"].lower() in resend]


def _without_done_deps(item: dict, resend: set) -> dict:
    """A re-sent request depends only on requests re-sent with it (the others succeeded)."""
    deps = [d for d in item.get("dependsOn") or [] if d.lower() in resend]
    item = {k: v for k, v in item.items() if k != "dependsOn"}
    return {**item, "dependsOn": deps} if deps else item


def _batch_items(requests: list[dict]) -> list[dict]:
    """Copy the requests with string ids (assigned where missing) and JSON bodies' Content-Type."""
    taken = {str(r["id"]).lower() for r in requests if r.get("id") is not None}
    items, seen, counter = [], set(), 0
    for request in requests:
        item = dict(request)
        if item.get("id") is None:
            counter += 1
            while str(counter) in taken:
                counter += 1
            item["id"] = str(counter)
        item["id"] = str(item["id"])
        if item["id"].lower() in seen:
            raise ValueError(f"duplicate $batch request id {item['id']!r}")
        seen.add(item["id"].lower())
        if "dependsOn" in item:
            item["dependsOn"] = [str(d) for d in item["dependsOn"] or []]
        if "body" in item:
            headers = dict(item.get("headers") or {})
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
            item["headers"] = headers
        items.append(item)
    return items


def _chunks(items: list[dict]) -> list[list[dict]]:
    """Split into chunks of at most BATCH_LIMIT, keeping each dependsOn-linked group together."""
    parent = {item["id"].lower(): item["id"].lower() for item in items}

    def root(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep.lower() in parent:       # an unknown id: Graph answers 400, as it should
                parent[root(item["id"].lower())] = root(dep.lower())
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(root(item["id"].lower()), []).append(item)
    chunks: list[list[dict]] = []
    current: list[dict] = []
    for group in groups.values():
        if len(group) > BATCH_LIMIT:
            raise ValueError(f"{len(group)} $batch requests are linked by dependsOn; Graph takes "
                             f"at most {BATCH_LIMIT} in one batch")
        if len(current) + len(group) > BATCH_LIMIT:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks


def _with_failed_dependents(pending: list[dict], throttled: set, results: dict) -> set:
    """The throttled ids plus those of requests that failed (424) because one of them did."""
    resend = set(throttled)
    grew = True
    while grew:
        grew = False
        for item in pending:
            key = item["id"].lower()
            if (key not in resend and results.get(item["id"], {}).get("status") == 424
                    and any(d.lower() in resend for d in item.get("dependsOn") or [])):
                resend.add(key)
                grew = True
    return resend
