"""GraphClient: Microsoft Graph over the shared ``requests.Session``.

Parsed JSON back (bytes for media such as ``/photo/$value``), paging through ``@odata.nextLink``,
``$batch`` in chunks of 20, retries on 429/503/504 honouring ``Retry-After`` (with a cap), one
fresh-token retry on 401, and Continuous Access Evaluation claims challenges answered by
re-acquiring a token with the claims.
"""
from __future__ import annotations

import base64
import logging
import re
import time
from urllib.parse import urlsplit

from requests import RequestException

from .app_settings import app_settings
from .exceptions import GraphRequestError, GraphThrottled, GraphUnauthorized
from .http import get_session

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503, 504)
BATCH_LIMIT = 20
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def claims_from_challenge(www_authenticate: str) -> str | None:
    """Return the decoded claims (a JSON string) of an ``insufficient_claims`` challenge, or None."""
    params = dict(_AUTH_PARAM.findall(www_authenticate or ""))
    if params.get("error") != "insufficient_claims" or not params.get("claims"):
        return None
    raw = params["claims"]
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _retry_after(headers, attempt: int) -> float:
    """Seconds to wait: the Retry-After header (seconds, possibly fractional), else 2**attempt."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return float(2 ** attempt)        # no (usable) Retry-After: back off exponentially


def _error(response) -> GraphRequestError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    inner = error.get("innerError") or error.get("innererror") or {}
    kind = GraphUnauthorized if response.status_code == 401 else GraphRequestError
    return kind(response.status_code, error.get("code", "unknown"), error.get("message", response.reason or ""),
                inner.get("request-id") or response.headers.get("request-id"), response)


class GraphClient:
    """A Microsoft Graph client.

    ``token_provider`` has ``get_token(scopes=None, *, claims_challenge=None, force_refresh=False)``
    returning an access token (the user's for ``request.graph``, the app's for app-only clients).
    """

    def __init__(self, token_provider, *, session=None, base_url: str | None = None,
                 max_retries: int | None = None, max_retry_after: float | None = None,
                 sleep=time.sleep) -> None:
        self.token_provider = token_provider
        self.session = session or get_session()
        self.base_url = (base_url or app_settings.GRAPH_URL).rstrip("/")
        self.max_retries = app_settings.GRAPH_MAX_RETRIES if max_retries is None else max_retries
        self.max_retry_after = (app_settings.GRAPH_MAX_RETRY_AFTER if max_retry_after is None
                                else max_retry_after)
        self.sleep = sleep

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

    def require_scopes(self, scopes) -> None:
        """Make sure the token covers ``scopes``; raises InteractionRequired (with the scopes) when
        the user must consent first. graph_auth's middleware turns that into a consent round trip."""
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
        if path.startswith(("https://", "http://")):
            root = urlsplit(self.base_url)
            target = urlsplit(path)
            if (target.scheme, target.netloc) != (root.scheme, root.netloc):
                raise ValueError(f"refusing to send a Graph token to {target.netloc!r}")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params=None, json=None, data=None, headers=None,
                scopes=None):
        """Send one request; return parsed JSON, bytes for non-JSON bodies, None for 204."""
        response = self._send(method, self.url(path), params=params, json=json, data=data,
                              headers=headers, scopes=scopes)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", ""):
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
                raise GraphRequestError(0, "transportError", f"{type(exc).__name__} calling Graph") from exc
            status = response.status_code
            if status < 400:
                return response
            if status == 401:
                claims = claims_from_challenge(response.headers.get("WWW-Authenticate", ""))
                if claims and not challenged:
                    challenged = True
                    token = self.token_provider.get_token(scopes, claims_challenge=claims)
                    continue
                if not claims and not refreshed:
                    refreshed = True
                    token = self.token_provider.get_token(scopes, force_refresh=True)
                    continue
            if status in RETRY_STATUSES:
                wait = _retry_after(response.headers, attempt)
                if attempt >= self.max_retries or wait > self.max_retry_after:
                    err = _error(response)
                    raise GraphThrottled(err.status_code, err.code, err.message, err.request_id,
                                         response, retry_after=wait)
                logger.info("Graph answered %s; retrying in %.1fs", status, wait)
                self.sleep(wait)
                attempt += 1
                continue
            raise _error(response)

    # -- $batch -----------------------------------------------------------------------------------
    def batch(self, requests: list[dict]) -> list[dict]:
        """Run requests through ``$batch`` (chunks of 20) and return the responses in input order.

        Each request is ``{"method", "url"[, "body", "headers", "id", "dependsOn"]}``. Sub-requests
        answered 429/503/504 are sent again (honouring their Retry-After) up to GRAPH_MAX_RETRIES
        times; ``dependsOn`` must stay within one chunk of 20.
        """
        items = []
        for index, item in enumerate(requests):
            item = dict(item)
            item.setdefault("id", str(index + 1))
            if "body" in item:
                item.setdefault("headers", {"Content-Type": "application/json"})
            items.append(item)
        results: dict[str, dict] = {}
        for start in range(0, len(items), BATCH_LIMIT):
            self._run_chunk(items[start:start + BATCH_LIMIT], results)
        return [results[item["id"]] for item in items]

    def _run_chunk(self, chunk: list[dict], results: dict) -> None:
        pending, attempt = chunk, 0
        while pending:
            answer = self.post("/$batch", json={"requests": pending})
            retry, wait = [], 0.0
            for response in answer.get("responses", []):
                results[response["id"]] = response
                if response.get("status") in RETRY_STATUSES:
                    retry.append(response["id"])
                    wait = max(wait, _retry_after(response.get("headers") or {}, attempt))
            if not retry or attempt >= self.max_retries or wait > self.max_retry_after:
                return
            self.sleep(wait)
            attempt += 1
            # a retried request no longer depends on requests that already succeeded
            pending = [{k: v for k, v in item.items() if k != "dependsOn"} | (
                {"dependsOn": [d for d in item["dependsOn"] if d in retry]}
                if any(d in retry for d in item.get("dependsOn", [])) else {})
                for item in chunk if item["id"] in retry]

