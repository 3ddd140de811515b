"""The test controls: forced faults and delays, throttling, and the request log.

``Controls`` is a mixin of the emulator's core: it keeps its state in the core's ``faults``,
``throttles`` and ``log`` and takes the core's ``lock``.
"""
from __future__ import annotations

import time
import uuid

from .constants import GRAPH_FAULT_CODES, GRAPH_FAULT_MESSAGES, IDENTITY_FAULTS
from .errors import EmulatorTimeout, OAuthError, graph_error_body
from .records import Fault, LoggedRequest, Throttle
from .wsgi_io import Request, Response


class Controls:
    """Faults, throttles and the request log of an emulator (mixed into its core)."""

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

    def _sleep(self, delay: float, request: Request) -> None:
        timeout = request.timeout
        if timeout is not None and delay >= timeout:
            time.sleep(timeout)
            raise EmulatorTimeout(f"forced delay of {delay}s exceeds the {timeout}s timeout")
        time.sleep(delay)

    def _fault_response(self, fault: Fault, endpoint: str, request: Request) -> Response:
        headers = dict(fault.headers)
        if fault.json is not None:
            return Response.json(fault.json, fault.status, headers)
        if fault.body is not None:
            return Response(fault.body, fault.status, list(headers.items()))
        if endpoint.startswith("graph"):
            code = GRAPH_FAULT_CODES.get(fault.status, "generalException")
            request_id = str(uuid.uuid4())
            client_request_id = request.headers.get("client-request-id") or request_id
            body = graph_error_body(code, GRAPH_FAULT_MESSAGES.get(code, "An error occurred."),
                                    self.clock.now(), request_id, client_request_id)
            headers = {"request-id": request_id, "client-request-id": client_request_id, **headers}
            return Response.json(body, fault.status, headers)
        error, code, text = IDENTITY_FAULTS.get(fault.status, IDENTITY_FAULTS[500])
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
