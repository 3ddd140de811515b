"""Who is calling Graph: check the bearer token, and the permissions and throttling that follow from it."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from .. import tokens
from ..constants import GRAPH_APP_ID
from ..errors import GraphError
from ..objects import User

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


def require(ctx, delegated: set, application: set) -> None:
    granted = ctx.roles if ctx.app_only else ctx.scopes
    if not granted & (application if ctx.app_only else delegated):
        raise GraphError(403, "Authorization_RequestDenied",
                         "Insufficient privileges to complete the operation.")
