"""JSON batching: POST /v1.0/$batch with up to 20 requests, dependsOn and per-request statuses."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from ..errors import GraphError, graph_error_body
from .odata import Result, bad_request

MAX_REQUESTS = 20


class _SubRequest:
    """What a fault's ``match`` sees of a sub-request."""

    def __init__(self, method: str, path: str, query: dict, body) -> None:
        self.method, self.path, self.query, self.body = method, path, query, body
        self.form, self.headers = {}, {}


def _validate(payload) -> list[dict]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    items = payload["requests"]
    if not items:
        raise bad_request("The batch request must contain at least one request.")
    if len(items) > MAX_REQUESTS:
        raise bad_request(f"The number of requests in a batch exceeded the limit of {MAX_REQUESTS}.")
    seen = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise bad_request("Each request in a batch must have a string 'id'.")
        if not isinstance(item.get("url"), str) or not isinstance(item.get("method"), str):
            raise bad_request(f"Request '{item['id']}' needs a 'method' and a relative 'url'.")
        if item["url"].lower().startswith(("http://", "https://")):
            raise bad_request(f"Request '{item['id']}': the url must be relative to the version root.")
        if item["id"].lower() in seen:
            raise bad_request(f"Batch request contains duplicate Id '{item['id']}'.")
        seen.add(item["id"].lower())
    for item in items:
        for dep in item.get("dependsOn") or []:
            if str(dep).lower() not in seen:
                raise bad_request(f"Request '{item['id']}' depends on unknown request '{dep}'.")
    return items


def _order(items: list[dict]) -> list[dict]:
    """Dependencies first; a cycle is a bad request."""
    by_id = {i["id"].lower(): i for i in items}
    ordered, state = [], {}

    def visit(item):
        key = item["id"].lower()
        if state.get(key) == "done":
            return
        if state.get(key) == "active":
            raise bad_request("The dependsOn references form a cycle.")
        state[key] = "active"
        for dep in item.get("dependsOn") or []:
            visit(by_id[str(dep).lower()])
        state[key] = "done"
        ordered.append(item)

    for item in items:
        visit(item)
    return ordered


def run(em, ctx, request) -> Result:
    from .router import execute, throttled
    try:
        payload = request.json()
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header "
                          "is set and payload is of valid JSON format.")
    items = _order(_validate(payload))
    version = request.segments[0]
    statuses, responses = {}, []
    for item in items:
        deps = [str(d).lower() for d in item.get("dependsOn") or []]
        if any(statuses.get(d, 500) >= 400 for d in deps):
            status, headers, body = 424, {"Content-Type": "application/json"}, _error(
                em, "FailedDependency", "The request's dependency failed.")
        else:
            status, headers, body = _execute_one(em, ctx, version, item, execute, throttled)
        statuses[item["id"].lower()] = status
        responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
    return Result(200, {"responses": responses})


def _execute_one(em, ctx, version, item, execute, throttled):
    parts = urlsplit("/" + item["url"].lstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] and segments[0] in ("v1.0", "beta"):
        segments = segments[1:]
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    method = item["method"].upper()
    body = item.get("body")
    headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
    path = "/" + "/".join([version, *segments])
    fault = em._take_fault("graph", _SubRequest(method, path, query, body))
    try:
        if body is not None and "content-type" not in headers:
            raise bad_request("Content-Type header is required when a body is present.")
        if fault is not None and fault.status is not None:
            raise GraphError(fault.status, "TooManyRequests" if fault.status == 429 else "generalException",
                             "Forced by the emulator.", dict(fault.headers))
        error = throttled(em, ctx)
        if error:
            raise error
        result = execute(em, ctx, method, version, segments, query, body, headers)
    except GraphError as exc:
        return exc.status, {"Content-Type": "application/json", **exc.headers}, _error(em, exc.code, exc.message)
    out_headers = {k: v for k, v in result.headers.items()}
    if isinstance(result.body, bytes):
        return result.status, out_headers, base64.b64encode(result.body).decode()
    out_headers.setdefault("Content-Type", "application/json")
    return result.status, out_headers, result.body


def _error(em, code: str, message: str) -> dict:
    import uuid
    return graph_error_body(code, message, em.clock.now(), str(uuid.uuid4()))
