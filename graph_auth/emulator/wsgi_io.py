"""Minimal request and response objects for the emulator's plain WSGI application."""
from __future__ import annotations

import base64
import json
from functools import cached_property
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote_plus, urlencode

_REASONS = {200: "OK", 204: "No Content", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 424: "Failed Dependency",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def _first(multi: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in multi.items()}


def load_json(data: str | bytes):
    """Parse JSON from a client; anything unparseable raises ValueError, including nesting too
    deep for the parser (which raises RecursionError) and bytes that are not UTF-8."""
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _content_length(raw: str | None) -> int | None:
    """Content-Length as HTTP defines it (digits only); None when it is not one."""
    raw = (raw or "0").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)


class Request:
    """What the emulator reads of one HTTP request."""

    def __init__(self, environ: dict) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        # A remote transport names the production host it stands for (the Host header stays the
        # emulator server's, so a Django site serving the emulator accepts it).
        host = (environ.get("HTTP_X_EMULATED_HOST") or environ.get("HTTP_HOST")
                or environ.get("SERVER_NAME", ""))
        self.host = host.split(":")[0].lower()
        self.script_name = environ.get("SCRIPT_NAME", "").rstrip("/")
        raw_path = environ.get("PATH_INFO", "/")
        # msal builds "/common//v2.0/..." from an authority with a trailing slash: collapse it.
        self.segments = [s for s in raw_path.split("/") if s]
        self.path = "/" + "/".join(self.segments)
        self.query_string = environ.get("QUERY_STRING", "")
        length = _content_length(environ.get("CONTENT_LENGTH"))
        # A Content-Length that is not a number (or is negative) is answered 400 without reading
        # the body: read(-1) would wait for the client to close the connection.
        self.bad_content_length = length is None
        self.body = environ["wsgi.input"].read(length) if length else b""
        self.timeout = environ.get("graph_auth.emulator.timeout")

    @cached_property
    def headers(self) -> dict[str, str]:
        headers = {k[5:].replace("_", "-").lower(): v
                   for k, v in self.environ.items() if k.startswith("HTTP_")}
        if self.environ.get("CONTENT_TYPE"):
            headers["content-type"] = self.environ["CONTENT_TYPE"]
        return headers

    @cached_property
    def query(self) -> dict[str, str]:
        return _first(parse_qs(self.query_string, keep_blank_values=True))

    @cached_property
    def form(self) -> dict[str, str]:
        """The urlencoded body as a dict (first value wins); empty when it is not a form."""
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        try:
            return _first(parse_qs(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return {}

    @cached_property
    def params(self) -> dict[str, str]:
        """Query parameters, overlaid with form fields (authorize accepts both)."""
        return {**self.query, **self.form}

    def json(self):
        """Return the parsed JSON body, or raise ValueError."""
        return load_json(self.body or b"null")

    @cached_property
    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.environ.get("HTTP_COOKIE", ""))
        except Exception:   # noqa: BLE001 — a malformed cookie header is ignored, as browsers' servers do
            return {}
        return {k: m.value for k, m in jar.items()}

    def basic_auth(self) -> tuple[str, str] | None:
        auth = self.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return unquote_plus(user), unquote_plus(password)

    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:].strip() if auth[:7].lower() == "bearer " else None

    def url_for(self, path: str) -> str:
        """Return a browser-facing path below where the emulator is mounted."""
        return f"{self.script_name}{path}"


class Response:
    def __init__(self, body: bytes | str = b"", status: int = 200,
                 headers: list[tuple[str, str]] | None = None,
                 content_type: str = "text/plain; charset=utf-8") -> None:
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.headers = list(headers or [])
        if not any(k.lower() == "content-type" for k, _ in self.headers) and self.body:
            self.headers.append(("Content-Type", content_type))

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None,
             content_type: str = "application/json; charset=utf-8") -> Response:
        return cls(json.dumps(data), status, list((headers or {}).items()), content_type)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        resp = cls(text, status, content_type="text/html; charset=utf-8")
        resp.headers += [("Cache-Control", "no-store"), ("X-Frame-Options", "DENY")]
        return resp

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(b"", status, [("Location", location), ("Cache-Control", "no-store")])

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_cookie(self, name: str, value: str, path: str = "/", max_age: int | None = None) -> None:
        parts = [f"{name}={value}", f"Path={path or '/'}", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        self.headers.append(("Set-Cookie", "; ".join(parts)))

    def status_line(self) -> str:
        return f"{self.status} {_REASONS.get(self.status, 'Unknown')}"


def add_query(url: str, params: dict) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"
