"""Error bodies in the shapes the identity platform and Graph use."""
from __future__ import annotations

import time
import uuid


def _stamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(now))


class OAuthError(Exception):
    """An identity-platform error: becomes a JSON error body or an error redirect.

    ``code`` is the AADSTS number; ``status`` is 400 except for ``invalid_client`` (401).
    """

    def __init__(self, error: str, code: int, description: str, *, status: int | None = None,
                 suberror: str | None = None, claims: str | None = None, **extra) -> None:
        super().__init__(f"{error}: AADSTS{code}: {description}")
        self.error, self.code, self.description = error, code, description
        self.status = status or (401 if error == "invalid_client" else 400)
        self.suberror, self.claims, self.extra = suberror, claims, extra

    def body(self, now: float, correlation_id: str | None = None) -> dict:
        """Return the token-endpoint error JSON, with trace and correlation ids."""
        trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
        stamp = _stamp(now)
        body = {
            "error": self.error,
            "error_description": (f"AADSTS{self.code}: {self.description}\r\nTrace ID: {trace_id}"
                                  f"\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}"),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        if self.claims:
            body["claims"] = self.claims
        body.update(self.extra)
        return body

    def redirect_params(self) -> dict:
        """Return the parameters sent to a redirect URI (authorize errors)."""
        params = {"error": self.error, "error_description": f"AADSTS{self.code}: {self.description}",
                  "error_uri": f"https://login.microsoftonline.com/error?code={self.code}"}
        if self.suberror:
            params["error_subcode"] = self.suberror
        return params


class GraphError(Exception):
    """A Graph error: becomes ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self, now: float, request_id: str, client_request_id: str | None = None) -> dict:
        return graph_error_body(self.code, self.message, now, request_id, client_request_id)


def graph_error_body(code: str, message: str, now: float, request_id: str,
                     client_request_id: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }}}


class EmulatorTimeout(Exception):
    """A forced delay outlasted the caller's timeout (the transport raises requests' ReadTimeout)."""
