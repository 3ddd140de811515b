"""JSON batching: POST /v1.0/$batch with up to 20 requests, dependsOn and per-request statuses."""
from __future__ import annotations

import base64
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

from ..constants import GRAPH_FAULT_CODES, GRAPH_FAULT_MESSAGES
from ..errors import GraphError, graph_error_body
from .context import throttled
from .odata import JSON_TYPE, Result, bad_request
from .operations import execute

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
        if not isinstance(item.get("headers", {}), dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in (item.get("headers") or {}).items()):
            raise bad_request(f"Request '{item['id']}': 'headers' must be an object of strings.")
        deps = item.get("dependsOn", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise bad_request(f"Request '{item['id']}': 'dependsOn' must be an array of request ids.")
        if item["id"].lower() in seen:
            raise bad_request(f"Batch request contains duplicate Id '{item['id']}'.")
        seen.add(item["id"].lower())
    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep.lower() not in seen:
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
            visit(by_id[dep.lower()])
        state[key] = "done"
        ordered.append(item)

    for item in items:
        visit(item)
    return ordered


def run(em, ctx, request) -> Result:
    try:
        payload = request.json()
    except ValueError:
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header "
                          "is set and payload is of valid JSON format.") from None
    items = _order(_validate(payload))
    version = request.segments[0]
    statuses, responses = {}, []
    for item in items:
        deps = [d.lower() for d in item.get("dependsOn") or []]
        if any(statuses[d] >= 400 for d in deps):
            status, headers, body = 424, {"Content-Type": "application/json"}, _error(
                em, "FailedDependency", "The request's dependency failed.")
        else:
            status, headers, body = _execute_one(em, ctx, version, item)
        statuses[item["id"].lower()] = status
        responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
    return Result(200, {"responses": responses})


def _execute_one(em, ctx, version, item):
    parts = urlsplit("/" + item["url"].lstrip("/"))
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if segments[:1] and segments[0] in ("v1.0", "beta"):
        segments = segments[1:]
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    method = item["method"].upper()
    body = item.get("body")
    headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
    path = "/" + "/".join([version, *segments])
    sub_request = _SubRequest(method, path, query, body)
    sub_request.headers = headers
    fault = em.take_fault("graph", sub_request, status_only=True)   # delays apply to whole requests only
    try:
        if fault is not None:
            if fault.json is not None:
                return fault.status, {"Content-Type": "application/json", **fault.headers}, fault.json
            code = GRAPH_FAULT_CODES.get(fault.status, "generalException")
            raise GraphError(fault.status, code, GRAPH_FAULT_MESSAGES.get(code, "An error occurred."),
                             dict(fault.headers))
        if body is not None and "content-type" not in headers:
            raise bad_request("Content-Type header is required when a body is present.")
        error = throttled(em, ctx)
        if error:
            raise error
        result = execute(em, ctx, method, version, segments, query, _decode_body(body, headers),
                         headers)
    except GraphError as exc:
        headers = {"Content-Type": "application/json", **exc.headers}
        return exc.status, headers, _error(em, exc.code, exc.message)
    out_headers = {k: v for k, v in result.headers.items()}
    if isinstance(result.body, bytes):
        out_headers.setdefault("Content-Type", "application/octet-stream")
        return result.status, out_headers, base64.b64encode(result.body).decode()
    out_headers.setdefault("Content-Type", JSON_TYPE)
    return result.status, out_headers, result.body


def _decode_body(body, headers: dict):
    """A sub-request's body: JSON as is; a string under a non-JSON content type is base64."""
    if isinstance(body, str) and "json" not in headers.get("content-type", "").lower():
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise bad_request("The body of a non-JSON request must be base64-encoded.") from None
    return body


def _error(em, code: str, message: str) -> dict:
    return graph_error_body(code, message, em.clock.now(), str(uuid.uuid4()))
