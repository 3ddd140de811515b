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


def _unauthorized(message: str, extra: str = "") -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      {"WWW-Authenticate": WWW_AUTHENTICATE + extra})


def authenticate(em, request) -> Context:
    token = request.bearer()
    if not token:
        raise _unauthorized("Access token is empty.")
    try:
        claims = tokens.decode(em, token, AUDIENCES)
    except tokens.TokenInvalid as exc:
        raise _unauthorized({
            "malformed": "IDX14100: JWT is not well formed, there are no dots (.).",
            "audience": "Access token validation failure. Invalid audience.",
            "expired": "Lifetime validation failed, the token is expired.",
            "not_yet_valid": "Lifetime validation failed, the token is not yet valid.",
        }.get(exc.reason, "Access token validation failure.")) from exc
    user = None
    if claims.get("idtyp") != "app":
        user = em.directory.user(claims.get("oid"))
        if user is None:
            raise _unauthorized("Access token validation failure: unknown user.")
        if "cp1" in (claims.get("xms_cc") or []) and (
                em.issued_at(claims) < user.sessions_valid_from or not user.enabled):
            raise _cae_challenge(user)
    return Context(claims, claims.get("tid", ""), user, set((claims.get("scp") or "").split()),
                   set(claims.get("roles") or []))


def _cae_challenge(user: User) -> GraphError:
    text = ("Continuous access evaluation resulted in challenge with result: InteractionRequired "
            "and code: TokenIssuedBeforeRevocationTimestamp")
    value = {"access_token": {"nbf": {"essential": True, "value": str(int(user.sessions_valid_from))}}}
    claims = base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return _unauthorized(text, f', error_description="{text}", error="insufficient_claims", '
                               f'claims="{claims}"')


def throttled(em, ctx: Context) -> GraphError | None:
    throttle = em.take_throttle(ctx.caller_id)
    if throttle is None:
        return None
    retry = throttle.retry_after
    return GraphError(429, "TooManyRequests", "Please retry again later.",
                      {"Retry-After": str(int(retry)) if float(retry).is_integer() else str(retry)})


def handle(em, request) -> Response:
    segments = [s for s in request.segments]
    if [s.lower() for s in segments] == ["oidc", "userinfo"]:
        ctx = authenticate(em, request)
        return _response(request, users.userinfo(em, ctx))
    if not segments or segments[0] not in ("v1.0", "beta"):
        raise GraphError(400, "BadRequest", "Invalid version: the URL must start with /v1.0 or /beta.")
    ctx = authenticate(em, request)
    rest = segments[1:]
    if [s.lower() for s in rest] == ["$batch"] and request.method == "POST":
        return _response(request, batch.run(em, ctx, request))
    error = throttled(em, ctx)
    if error:
        raise error
    result = execute(em, ctx, request.method, segments[0], rest, request.query, request.body,
                     request.headers)
    return _response(request, result)


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
    elif low == ["users"] and method == "GET":
        return users.list_users(em, ctx, query, path, headers)
    else:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segments[0] if segments else ''}'.")
    handler = _OPERATIONS.get((method, tuple(rest)))
    if handler is None:
        segment = rest[0] if rest else method
        raise GraphError(400 if rest else 405, "BadRequest" if rest else "Request_BadRequest",
                         f"Resource not found for the segment '{segment}'." if rest else
                         f"The method {method} is not allowed on this resource.")
    return handler(em, ctx, target, query=query, body=body, path=path)


_OPERATIONS = {
    ("GET", ()): users.get_user,
    ("GET", ("photo",)): users.photo_metadata,
    ("GET", ("photo", "$value")): users.photo_value,
    ("GET", ("messages",)): mail.list_messages,
    ("GET", ("memberof",)): users.member_of,
    ("POST", ("getmemberobjects",)): users.get_member_objects,
    ("POST", ("getmembergroups",)): users.get_member_objects,
    ("POST", ("revokesigninsessions",)): users.revoke_sign_in_sessions,
}


def _response(request, result: Result) -> Response:
    request_id = str(uuid.uuid4())
    headers = {"request-id": request_id,
               "client-request-id": request.headers.get("client-request-id", request_id),
               "OData-Version": "4.0", **result.headers}
    if isinstance(result.body, bytes):
        content_type = headers.pop("Content-Type", "application/octet-stream")
        return Response(result.body, result.status, list(headers.items()), content_type=content_type)
    return Response.json(result.body, result.status, headers, content_type=JSON_TYPE)
