"""The Emulator: state, settings and test controls, served as one plain WSGI application."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from .clock import Clock
from .directory import Directory, User
from .errors import GraphError, OAuthError, graph_error_body
from .keys import KeySet
from .records import Fault, LoggedRequest, Throttle
from .wsgi_io import Request, Response

logger = logging.getLogger(__name__)

LOGIN_HOST = "login.microsoftonline.com"
GRAPH_HOST = "graph.microsoft.com"


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
    # Entra keeps a used refresh token valid; the emulator rejects it by default, so that a client
    # that loses the rotated token (two workers, last write wins) fails loudly in tests.
    reject_rotated_refresh_tokens: bool = True
    # Where browsers reach the sign-in pages. None: https://login.microsoftonline.com (no
    # browser can get there offline); graph_auth sets it to the emulator's mount in the demo.
    browser_url: str | None = None
    sso_cookie: str = "graph_auth_emulator_sso"
    extra: dict = field(default_factory=dict)


class EmulatorTimeout(Exception):
    """A forced delay outlasted the caller's timeout (the transport raises requests' ReadTimeout)."""


class Emulator:
    """An in-process emulator of the Microsoft identity platform and a slice of Microsoft Graph.

    Call it as a WSGI application, or take ``session()``: a ``requests.Session`` on which
    ``https://login.microsoftonline.com/`` and ``https://graph.microsoft.com/`` are served here.
    """

    def __init__(self, directory: Directory | dict | None = None, **settings) -> None:
        if directory is None:
            from .default_directory import default_directory
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
        from .graph.router import route as graph_route
        from .identity.router import route as identity_route
        router = graph_route if request.host == GRAPH_HOST else identity_route
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
        request_id = request.headers.get("client-request-id") or _uuid()
        body = exc.body(self.clock.now(), _uuid(), request.headers.get("client-request-id"))
        headers = {"request-id": request_id, **exc.headers}
        return Response.json(body, exc.status, headers)

    def _sleep(self, delay: float, request: Request) -> None:
        timeout = request.timeout
        if timeout is not None and delay >= timeout:
            time.sleep(timeout)
            raise EmulatorTimeout(f"forced delay of {delay}s exceeds the {timeout}s timeout")
        time.sleep(delay)

    # -- faults, throttling, log (test controls) ------------------------------------------------
    def fail_next(self, endpoint: str, status: int | None = None, *, json=None, body=None,
                  headers: dict | None = None, delay: float = 0.0, times: int | None = 1,
                  match=None, grant_type: str | None = None) -> Fault:
        """Force the next ``times`` answers of ``endpoint`` (None: until ``clear_faults()``).

        Endpoints: openid-configuration, instance-discovery, jwks, authorize, token, devicecode,
        userrealm, logout, devicelogin, graph (or "*"). ``status`` None with a ``delay`` only
        slows the real answer down. ``grant_type`` narrows a token-endpoint fault.
        """
        if grant_type is not None:
            inner = match

            def match(request):
                return request.form.get("grant_type") == grant_type and (inner is None or inner(request))
        fault = Fault(endpoint, status, json, body, dict(headers or {}), delay, times, match)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.throttles.clear()

    def take_fault(self, endpoint: str, request, *, status_only: bool = False) -> Fault | None:
        """The fault that answers this request (counted down), or None. ``status_only`` skips
        delay-only faults (a $batch sub-request can't be delayed on its own)."""
        for fault in self.faults:
            if (fault.status is not None or not status_only) and fault.matches(endpoint, request):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: Fault, endpoint: str, request: Request) -> Response:
        headers = dict(fault.headers)
        if fault.json is not None:
            return Response.json(fault.json, fault.status, headers)
        if fault.body is not None:
            return Response(fault.body, fault.status, list(headers.items()))
        if endpoint.startswith("graph"):
            code = GRAPH_FAULT_CODES.get(fault.status, "generalException")
            request_id = _uuid()
            client_request_id = request.headers.get("client-request-id") or request_id
            body = graph_error_body(code, GRAPH_FAULT_MESSAGES.get(code, "An error occurred."),
                                    self.clock.now(), request_id, client_request_id)
            headers = {"request-id": request_id, "client-request-id": client_request_id, **headers}
            return Response.json(body, fault.status, headers)
        error, code, text = _IDENTITY_FAULTS.get(fault.status, _IDENTITY_FAULTS[500])
        err = OAuthError(error, code, text, status=fault.status)
        return Response.json(err.body(self.clock.now(), request.headers.get("client-request-id")),
                             fault.status, headers)

    def throttle(self, user, retry_after: float = 10, times: int | None = 1) -> None:
        """Answer the user's next ``times`` Graph requests (None: all) with 429 and Retry-After."""
        with self.lock:
            self.throttles[self.user(user).id] = Throttle(retry_after, times)

    def take_throttle(self, user_id: str) -> Throttle | None:
        throttle = self.throttles.get(user_id)
        if throttle is None:
            return None
        if throttle.remaining is not None:
            throttle.remaining -= 1
            if throttle.remaining <= 0:
                del self.throttles[user_id]
        return throttle

    def requests(self, endpoint: str | None = None, *, grant_type: str | None = None,
                 method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Return the logged requests that match every given filter."""
        with self.lock:
            entries = list(self.log)
        return [e for e in entries
                if (endpoint is None or e.endpoint == endpoint)
                and (grant_type is None or e.grant_type == grant_type)
                and (method is None or e.method == method.upper())
                and (path is None or e.path == path)]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

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
        from .directory import GRAPH_APP_ID
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

    # -- the transport and programmatic browser --------------------------------------------------
    def session(self, timeout: float | tuple | None = None):
        """Return a ``requests.Session`` routed here; unrouted hosts raise ``NetworkBlocked``."""
        from .transport import emulator_session
        return emulator_session(self, timeout=timeout)

    def sign_in(self, auth_uri: str, user, password: str | None = None, *, consent: bool = True) -> dict:
        """Play the browser: sign ``user`` in at ``auth_uri`` and return the redirect's parameters
        (what msal's ``acquire_token_by_auth_code_flow`` takes as ``auth_response``)."""
        from .identity.authorize import sign_in_programmatically
        with self.lock:
            return sign_in_programmatically(self, auth_uri, self._person(user), password, consent)

    def approve_device_code(self, user_code: str, user, *, consent: bool = True) -> None:
        """Play the user who enters ``user_code`` on the device login page and signs in."""
        from .identity.device import approve
        with self.lock:
            approve(self, user_code, self._person(user), consent)

    def decline_device_code(self, user_code: str) -> None:
        from .identity.device import decline
        with self.lock:
            decline(self, user_code)


def _uuid() -> str:
    import uuid
    return str(uuid.uuid4())


GRAPH_FAULT_CODES = {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "accessDenied",
                404: "itemNotFound", 429: "TooManyRequests", 500: "generalException",
                503: "serviceNotAvailable", 504: "gatewayTimeout"}
GRAPH_FAULT_MESSAGES = {"TooManyRequests": "Please retry again later.",
                   "serviceNotAvailable": "The service is temporarily unavailable. Please retry later.",
                   "gatewayTimeout": "The gateway timed out."}
_IDENTITY_FAULTS = {
    400: ("invalid_request", 900144, "The request is not valid."),
    429: ("temporarily_unavailable", 50196,
          "The server terminated an operation because it encountered a client request loop. "
          "Please contact your app vendor."),
    500: ("server_error", 50000, "There was an error issuing a token or an issue with our sign-in service."),
    503: ("temporarily_unavailable", 50089, "The service is temporarily unavailable."),
}
