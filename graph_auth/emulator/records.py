"""What the emulator remembers between requests: codes, grants, sessions, faults and its log."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    tenant_id: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: dict
    auth_time: float
    sid: str
    expires_at: float
    spa: bool = False
    redeemed: bool = False
    max_age: int | None = None          # the authorize request's max_age (the ID token then has auth_time)


@dataclass
class RefreshGrant:
    """The server side of one refresh token."""
    client_id: str
    user_id: str
    tenant_id: str
    resource_app_id: str
    scopes: list[str]
    oidc: list[str]
    issued_at: float
    expires_at: float
    family: str                        # all rotations of one sign-in share a family id
    sid: str
    claims: dict = field(default_factory=dict)
    rotated_out: bool = False
    revoked: bool = False
    spa: bool = False


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    tenant_key: str
    scope: str
    claims: dict
    expires_at: float
    interval: int
    last_poll: float | None = None
    user_id: str | None = None
    sid: str | None = None
    declined: bool = False
    redeemed: bool = False


@dataclass
class SsoSession:
    sid: str
    user_id: str
    auth_time: float
    apps: set = field(default_factory=set)     # client ids signed in to (front-channel logout)


@dataclass
class Fault:
    """A forced answer for the next matching requests of one endpoint."""
    endpoint: str
    status: int | None = None
    json: Any = None
    body: bytes | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = 1                  # None: until cleared
    match: Callable | None = None

    def matches(self, endpoint: str, request) -> bool:
        name, _, path = self.endpoint.partition(":")      # "graph:/v1.0/me" narrows by path
        if name not in (endpoint, "*") or (path and not request.path.startswith(path)):
            return False
        return self.match is None or bool(self.match(request))


@dataclass
class Throttle:
    retry_after: float
    remaining: int | None


@dataclass
class LoggedRequest:
    """One request the emulator received (kept for assertions; may hold secrets: test-only)."""
    time: float
    method: str
    host: str
    path: str
    endpoint: str
    query: dict
    form: dict
    headers: dict
    body: bytes
    status: int | None = None

    @property
    def grant_type(self) -> str | None:
        return self.form.get("grant_type")

    def json(self):
        return json.loads(self.body or b"null")

    def __repr__(self) -> str:
        grant = f" grant_type={self.grant_type}" if self.grant_type else ""
        return f"<{self.method} {self.host}{self.path} [{self.endpoint}]{grant} -> {self.status}>"


def wall_clock() -> float:
    return time.time()
