"""Graph requests: check the bearer token, throttle, dispatch, and shape the HTTP response."""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

from .. import tokens
from ..directory import GRAPH_APP_ID, User
from ..errors import GraphError
from ..wsgi_io import Response
from . import batch, mail, users
from .odata import JSON_TYPE, Result

AUDIENCES = (GRAPH_APP_ID, "https://graph.microsoft.com", "https://graph.microsoft.com/")
WWW_AUTHENTICATE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                    'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')


@dataclass
class Context:
    """Who is calling: the token's claims, the signed-in user (delegated) and the permissions."""
    claims: dict
    tenant_id: str
    user: User | None
    scopes: set = field(default_factory=set)
    roles: set = field(default_factory=set)

    @property
    def app_only(self) -> bool:
        return self.user is None

    @property
    def caller_id(self) -> str:
        return self.user.id if self.user else self.claims.get("oid", "")


def route(request):
    return "graph", handle


def unauthorized(message: str, extra: str = "") -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      {"WWW-Authenticate": WWW_AUTHENTICATE + extra})


def authenticate(em, request) -> Context:
    token = request.bearer()
    if not token:
        raise unauthorized("Access token is empty.")
    try:
        claims = tokens.decode(em, token, AUDIENCES)
    except tokens.TokenInvalid as exc:
        raise unauthorized({
            "malformed": ("IDX14100: JWT is not well formed, there are no dots (.)." if "." not in token
                          else "IDX14102: Unable to decode the header as Base64Url encoded string."),
            "audience": "Access token validation failure. Invalid audience.",
            "expired": "Lifetime validation failed, the token is expired.",
            "not_yet_valid": "Lifetime validation failed, the token is not yet valid.",
        }.get(exc.reason, "Access token validation failure.")) from exc
    user = None
    if claims.get("idtyp") != "app":
        user = em.directory.user(claims.get("oid"))
        if user is None:
            raise unauthorized("Access token validation failure: unknown user.")
        home = em.directory.home_of(user)         # sessions belong to a guest's home account
        if "cp1" in (claims.get("xms_cc") or []) and (
                em.issued_at(claims) < home.sessions_valid_from or not (user.enabled and home.enabled)):
            raise _cae_challenge(em, user if not user.enabled else home)
    return Context(claims, claims.get("tid", ""), user, set((claims.get("scp") or "").split()),
                   set(claims.get("roles") or []))


def _cae_challenge(em, user: User) -> GraphError:
    if user.enabled:
        code, not_before = "TokenIssuedBeforeRevocationTimestamp", user.sessions_valid_from
    else:   # a token issued from now on would do: sign-in then fails because the user is disabled
        code, not_before = "UserDisabled", max(user.sessions_valid_from, em.clock.now())
    text = ("Continuous access evaluation resulted in challenge with result: InteractionRequired "
            f"and code: {code}")
    value = {"access_token": {"nbf": {"essential": True, "value": str(int(not_before))}}}
    claims = base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return unauthorized(text, f', error_description="{text}", error="insufficient_claims", '
                              f'claims="{claims}"')


def throttled(em, ctx: Context) -> GraphError | None:
    throttle = em.take_throttle(ctx.caller_id)
    if throttle is None:
        return None
    retry = throttle.retry_after
    return GraphError(429, "TooManyRequests", "Please retry again later.",
                      {"Retry-After": str(int(retry)) if float(retry).is_integer() else str(retry)})


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
            raise _method_not_allowed(request.method)
        return batch.run(em, ctx, request)
    error = throttled(em, ctx)
    if error:
        raise error
    return execute(em, ctx, request.method, segments[0], rest, request.query, request.body,
                   request.headers)


def execute(em, ctx: Context, method: str, version: str, segments: list[str], query: dict,
            body, headers: dict) -> Result:
    """Run one Graph operation (top-level or inside $batch)."""
    path = "/" + "/".join([version, *segments])
    low = [s.lower() for s in segments]
    if low[:1] == ["me"]:
        if ctx.app_only:
            raise GraphError(400, "BadRequest",
                             "/me request is only valid with delegated authentication flow.")
        target, rest = ctx.user, low[1:]
    elif low[:1] == ["users"] and len(low) >= 2:
        target, rest = users.find(em, ctx, segments[1]), low[2:]
    elif low == ["users"]:
        if method != "GET":
            raise _method_not_allowed(method)
        return users.list_users(em, ctx, query, path, headers)
    else:
        segment = segments[0] if segments else ""
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    handler = _OPERATIONS.get((method, tuple(rest)))
    if handler is None:
        if any(key[1] == tuple(rest) for key in _OPERATIONS):
            raise _method_not_allowed(method)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
    return handler(em, ctx, target, query=query, body=body, path=path, headers=headers)


def _method_not_allowed(method: str) -> GraphError:
    return GraphError(405, "Request_BadRequest", f"The method {method} is not allowed on this resource.")


_OPERATIONS = {
    ("GET", ()): users.get_user,
    ("GET", ("photo",)): users.photo_metadata,
    ("GET", ("photo", "$value")): users.photo_value,
    ("GET", ("messages",)): mail.list_messages,
    ("GET", ("memberof",)): users.member_of,
    ("GET", ("transitivememberof",)): users.transitive_member_of,
    ("POST", ("getmemberobjects",)): users.get_member_objects,
    ("POST", ("getmembergroups",)): users.get_member_objects,
    ("POST", ("revokesigninsessions",)): users.revoke_sign_in_sessions,
}


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
