"""The emulator's core: state, settings, test controls and the WSGI dispatch to the services.

The core knows no service: it routes each request through ``routers``, a table of host -> router
(``router(request)`` returns the endpoint's name and its handler, ``handler(em, request)`` answers).
``emulator.Emulator`` fills that table with the identity platform's and Graph's routers and adds
the conveniences built on them. The services get the emulator as ``em`` and never import the core.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import ClassVar

from .clock import Clock
from .constants import GRAPH_APP_ID, LOGIN_HOST
from .controls import Controls
from .default_directory import default_directory
from .directory import Directory
from .errors import EmulatorTimeout, GraphError, OAuthError
from .keys import KeySet
from .objects import User
from .records import Fault, LoggedRequest, Throttle
from .wsgi_io import Request, Response

logger = logging.getLogger(__name__)

Router = Callable[[Request], tuple]         # request -> (endpoint name, handler(em, request))


@dataclass
class EmulatorSettings:
    """Lifetimes and behaviour switches; change them on ``emulator.settings`` at any time."""
    access_token_lifetime: int = 3599
    id_token_lifetime: int = 3600
    refresh_in: int | None = None                 # sent as "refresh_in" with access tokens
    refresh_token_lifetime: int = 90 * 86400
    spa_refresh_token_lifetime: int = 86400
    code_lifetime: int = 600
    device_code_lifetime: int = 900
    device_code_interval: int = 5
    # Entra keeps a used refresh token valid until it expires or is revoked (each use still returns
    # a new one). True refuses a used token (AADSTS70000): opt in to prove a client stores the
    # newest token, e.g. that two workers refreshing at once don't lose it (last write wins).
    reject_rotated_refresh_tokens: bool = False
    # Where browsers reach the sign-in pages. None: https://login.microsoftonline.com (no
    # browser can get there offline); graph_auth sets it to the emulator's mount in the demo.
    browser_url: str | None = None
    sso_cookie: str = "graph_auth_emulator_sso"
    extra: dict = field(default_factory=dict)


class EmulatorCore(Controls):
    """The state of an emulated cloud, served as a WSGI application through ``routers``."""

    routers: ClassVar[dict[str, Router]] = {}   # host -> router; a subclass lists its services
    default_host: ClassVar[str] = LOGIN_HOST    # whose router answers every other host (browser pages)

    def __init__(self, directory: Directory | dict | None = None, **settings) -> None:
        if directory is None:
            directory = default_directory()
        self.directory = directory if isinstance(directory, Directory) else Directory.from_dict(directory)
        self.settings = EmulatorSettings(**settings)
        self.clock = Clock()
        self.keys = KeySet()
        self.lock = threading.RLock()
        self.codes: dict = {}
        self.refresh_tokens: dict = {}
        self.device_codes: dict = {}
        self.sso_sessions: dict = {}
        self.pending: dict = {}               # authorize requests waiting for sign-in / consent
        self.consents: dict = {}              # (user id, client id) -> {resource app id: {scopes}}
        self.faults: list[Fault] = []
        self.throttles: dict[str, Throttle] = {}
        self.log: list[LoggedRequest] = []
        self.errors: list[BaseException] = []  # internal errors (the pytest fixture fails on them)
        self.issue_times: dict[str, float] = {}  # token "uti" -> exact issue time (iat is whole seconds)
        self.login_hints: dict[str, str] = {}    # opaque login_hint claim -> the person's object id

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        try:
            request = Request(environ)
            response = self.handle(request)
        except EmulatorTimeout:
            raise
        except Exception as exc:  # a bug outside any handler: answer like a server, remember it
            logger.exception("emulator error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            response = self._internal_error(exc)
        start_response(response.status_line(), response.headers)
        return [response.body]

    def handle(self, request: Request) -> Response:
        if request.bad_content_length:
            # The front end refuses the request before any service sees it (HTML, not JSON).
            return Response.html("<h2>Bad Request</h2><hr><p>HTTP Error 400. The request has an "
                                 "invalid Content-Length header.</p>", 400)
        router = self.routers.get(request.host) or self.routers[self.default_host]
        endpoint, handler = router(request)
        entry = LoggedRequest(self.clock.now(), request.method, request.host, request.path, endpoint,
                              dict(request.query), dict(request.form), dict(request.headers),
                              request.body)
        with self.lock:
            self.log.append(entry)
            fault = self.take_fault(endpoint, request)
        if fault is not None and fault.delay:
            self._sleep(fault.delay, request)
        if fault is not None and fault.status is not None:
            response = self._fault_response(fault, endpoint, request)
        else:
            response = self._dispatch(handler, request)
        entry.status = response.status
        if response.header("Date") is None:   # as every HTTP answer; clients measure clock skew by it
            response.headers.append(("Date", formatdate(self.clock.now(), usegmt=True)))
        return response

    def _dispatch(self, handler, request: Request) -> Response:
        try:
            with self.lock:
                return handler(self, request)
        except OAuthError as exc:
            return Response.json(exc.body(self.clock.now(), request.headers.get("client-request-id")),
                                 exc.status)
        except GraphError as exc:
            return self.graph_error_response(exc, request)
        except Exception as exc:  # a bug in the emulator: answer like a server, remember it
            logger.exception("emulator error on %s %s", request.method, request.path)
            return self._internal_error(exc)

    def _internal_error(self, exc: Exception) -> Response:
        self.errors.append(exc)
        return Response.json({"error": "server_error",
                              "error_description": f"emulator internal error: {exc!r}"}, 500)

    def graph_error_response(self, exc: GraphError, request: Request) -> Response:
        request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        body = exc.body(self.clock.now(), str(uuid.uuid4()), request.headers.get("client-request-id"))
        headers = {"request-id": request_id, **exc.headers}
        return Response.json(body, exc.status, headers)

    # -- directory and sessions ----------------------------------------------------------------
    def user(self, who) -> User:
        """Return a directory user by User object, object id, UPN or mail (a sign-in name finds the
        person's own account: ``"fabrice@fabrikam.onmicrosoft.com"`` is the home user, not the guest)."""
        if isinstance(who, User):
            return who
        user = self.directory.user(who) or self.directory.user_by_name(who)
        if user is None:
            raise LookupError(f"no such user in the emulator's directory: {who!r}")
        return user

    def _person(self, who) -> User:
        """The account a person signs in with; a guest object has no credentials of its own."""
        user = self.user(who)
        if user.guest:
            raise ValueError(f"{user.user_principal_name} is a guest object: sign in as its home "
                             f"account {self.directory.home_of(user).user_principal_name}")
        return user

    def revoke_sessions(self, user) -> float:
        """Do what Graph's revokeSignInSessions does: refresh tokens and SSO sessions issued
        until now stop working, and CAE-capable access tokens get claims challenges. Sessions
        belong to the person's home account: revoking a guest object changes nothing."""
        with self.lock:
            user = self.user(user)
            # Strictly after every token issued so far, even when the clock is frozen.
            user.sessions_valid_from = self.clock.now() + 0.001
            return user.sessions_valid_from

    def grant_consent(self, user, client_id: str, scopes, resource_app_id: str | None = None) -> None:
        """Record that ``user`` consented to ``scopes`` for the app (Graph unless told otherwise)."""
        with self.lock:
            key = (self.user(user).id, client_id)
            granted = self.consents.setdefault(key, {}).setdefault(resource_app_id or GRAPH_APP_ID, set())
            granted.update(scopes)

    def issued_at(self, claims: dict) -> float:
        """When a token was issued, to the fraction of a second (its ``iat`` is whole seconds, and a
        token issued just after a revocation in the same second must count as issued after it)."""
        return self.issue_times.get(claims.get("uti"), claims.get("iat", 0))

    def rotate_keys(self, **kwargs):
        """Roll the signing key over (see ``KeySet.rotate``)."""
        with self.lock:
            return self.keys.rotate(**kwargs)

    # -- URLs ---------------------------------------------------------------------------------
    def login_url(self, path: str) -> str:
        return f"https://{LOGIN_HOST}{path}"

    def browser_url(self, path: str) -> str:
        base = (self.settings.browser_url or f"https://{LOGIN_HOST}").rstrip("/")
        return f"{base}{path}"

    def issuer(self, tenant_id: str) -> str:
        return f"https://{LOGIN_HOST}/{tenant_id}/v2.0"
