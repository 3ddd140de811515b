"""The Graph operations: map a method and path to its handler (top-level requests and $batch alike)."""
from __future__ import annotations

from ..errors import GraphError
from . import mail, users
from .context import Context
from .odata import Result


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
            raise method_not_allowed(method)
        return users.list_users(em, ctx, query, path, headers)
    else:
        segment = segments[0] if segments else ""
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    handler = _OPERATIONS.get((method, tuple(rest)))
    if handler is None:
        if any(key[1] == tuple(rest) for key in _OPERATIONS):
            raise method_not_allowed(method)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
    return handler(em, ctx, target, query=query, body=body, path=path, headers=headers)


def method_not_allowed(method: str) -> GraphError:
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
