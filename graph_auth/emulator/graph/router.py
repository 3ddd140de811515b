"""Graph requests: authenticate, throttle, dispatch (or run a $batch), and shape the HTTP response."""
from __future__ import annotations

import uuid

from ..errors import GraphError
from ..wsgi_io import Response
from . import batch, users
from .context import authenticate, throttled
from .odata import JSON_TYPE, Result
from .operations import execute, method_not_allowed


def route(request):
    return "graph", handle


def handle(em, request) -> Response:
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    try:
        result = _handle(em, request)
    except GraphError as exc:
        return error_response(em, exc, request_id, client_request_id)
    return _response(result, request_id, client_request_id)


def _handle(em, request) -> Result:
    segments = list(request.segments)
    if [s.lower() for s in segments] == ["oidc", "userinfo"]:
        if request.method not in ("GET", "POST"):
            raise GraphError(405, "Request_BadRequest",
                             f"The method {request.method} is not allowed on this resource.")
        return users.userinfo(em, authenticate(em, request))
    if not segments or segments[0] not in ("v1.0", "beta"):
        raise GraphError(400, "BadRequest", "Invalid version: the URL must start with /v1.0 or /beta.")
    ctx = authenticate(em, request)
    rest = segments[1:]
    if [s.lower() for s in rest] == ["$batch"]:
        if request.method != "POST":
            raise method_not_allowed(request.method)
        return batch.run(em, ctx, request)
    error = throttled(em, ctx)
    if error:
        raise error
    return execute(em, ctx, request.method, segments[0], rest, request.query, request.body,
                   request.headers)


def _response(result: Result, request_id: str, client_request_id: str) -> Response:
    headers = {"request-id": request_id, "client-request-id": client_request_id,
               "OData-Version": "4.0", **result.headers}
    if isinstance(result.body, bytes):
        content_type = headers.pop("Content-Type", "application/octet-stream")
        return Response(result.body, result.status, list(headers.items()), content_type=content_type)
    return Response.json(result.body, result.status, headers, content_type=JSON_TYPE)


def error_response(em, exc: GraphError, request_id: str, client_request_id: str) -> Response:
    """Graph's error JSON, with the same request ids in the body and the headers."""
    headers = {"request-id": request_id, "client-request-id": client_request_id, **exc.headers}
    return Response.json(exc.body(em.clock.now(), request_id, client_request_id), exc.status, headers)
