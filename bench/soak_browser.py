"""A soak user: a browser (cookie jar) that signs in through the real pages (the site's login view,
the emulator's sign-in and consent pages, the site's callback) and asks for pages."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin, urlsplit

import requests

PASSWORD = "Passw0rd!"
LANDING = "/page/"
_FLOW = re.compile(r'name="flow" value="([^"]*)"')
_SIGNIN_ACTION = re.compile(r'<form method="post" action="([^"]*)" id="signin">')
_ACTION = re.compile(r'<form method="post" action="([^"]*)">')


@dataclass
class Result:
    """One page request of the measured phase."""
    user: int
    page: str
    scheduled: float
    sent: float
    done: float
    status: int | None = None          # None: no HTTP answer (see error)
    error: str | None = None           # timeout, connection, ...
    server_start: float | None = None  # when a worker started it (X-Soak-Start)
    server_time: float | None = None   # how long the worker held it (X-Soak-Time)
    retry_after: str | None = None     # the answer's Retry-After header
    signed_out: bool = False           # redirected to sign-in
    expected_sign_out: bool = False    # ... because the user's sessions were revoked

    @property
    def latency(self) -> float:
        return self.done - self.sent


class User:
    def __init__(self, index: int, upn: str, site: str, timeout: float) -> None:
        self.index, self.upn, self.site, self.timeout = index, upn, site.rstrip("/"), timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Connection"] = "close"     # no stale keep-alive errors of our own
        self.lock = threading.Lock()
        self.signed_in_at: float | None = None
        self.signed_in = False
        self.revoked_at: float | None = None
        self.sign_ins: list[tuple[float, str | None]] = []   # (when, error or None)
        self.sign_outs: list[tuple[float, bool]] = []        # (when, expected)

    # -- sign-in through the pages -----------------------------------------------------------
    def sign_in(self) -> str | None:
        """Sign in as a person would; return None, or what went wrong."""
        started = time.time()
        try:
            error = self._browse_sign_in()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}"
        self.sign_ins.append((started, error))
        self.signed_in = error is None
        if error is None:
            self.signed_in_at = started
        return error

    def _browse_sign_in(self) -> str | None:
        response = self._get(f"{self.site}/auth/login/?next={LANDING}")
        for _ in range(12):
            if response.status_code in (301, 302, 303):
                target = urljoin(response.url, response.headers.get("Location", ""))
                if target.startswith(self.site) and not urlsplit(target).path.startswith("/auth/"):
                    return None if urlsplit(target).path == LANDING else f"landed on {target}"
                response = self._get(target)
            elif response.status_code == 200 and not response.url.startswith(self.site):
                response = self._answer_page(response)
                if response is None:
                    return "an emulator page without a form to submit"
            else:
                return f"HTTP {response.status_code} at {urlsplit(response.url).path}"
        return "too many steps"

    def _answer_page(self, response):
        """Fill in the emulator's sign-in page, or accept its consent page."""
        html = response.text
        flow = _FLOW.search(html)
        if flow is None:
            return None
        if 'id="accept"' in html:
            action, data = _ACTION.search(html), {"action": "consent"}
        else:
            action, data = _SIGNIN_ACTION.search(html), {"action": "signin", "username": self.upn,
                                                         "password": PASSWORD}
        if action is None:
            return None
        data["flow"] = unescape(flow.group(1))
        return self.session.post(urljoin(response.url, unescape(action.group(1))), data=data,
                                 allow_redirects=False, timeout=self.timeout)

    def _get(self, url: str):
        return self.session.get(url, allow_redirects=False, timeout=self.timeout)

    def sign_in_again(self, seen_at: float, sent: float) -> None:
        """After a redirect to sign-in: note the sign-out (once per sign-in) and sign in again."""
        with self.lock:
            if self.signed_in_at is not None and self.signed_in_at > sent:
                return                       # another request of this user already did
            expected = (self.revoked_at is not None and self.revoked_at <= seen_at
                        and (self.signed_in_at or 0) < self.revoked_at)
            self.sign_outs.append((seen_at, expected))
            self.signed_in = False
            self.sign_in()

    # -- pages --------------------------------------------------------------------------------
    def request(self, page: str, path: str, scheduled: float) -> Result:
        sent = time.time()
        result = Result(self.index, page, scheduled, sent, sent)
        try:
            response = self._get(f"{self.site}{path}")
        except requests.Timeout:
            result.error = "timeout"
        except requests.ConnectionError:
            result.error = "connection"
        except requests.RequestException as exc:
            result.error = type(exc).__name__
        else:
            result.status = response.status_code
            if "X-Soak-Start" in response.headers:
                result.server_start = float(response.headers["X-Soak-Start"])
                result.server_time = float(response.headers["X-Soak-Time"])
            result.retry_after = response.headers.get("Retry-After")
            location = response.headers.get("Location", "")
            result.signed_out = response.status_code == 302 and "/auth/login/" in location
        result.done = time.time()
        if result.signed_out:
            result.expected_sign_out = self.revoked_at is not None and (self.signed_in_at or 0) < self.revoked_at
            self.sign_in_again(result.done, sent)
        return result

    def check_refresh(self) -> tuple[int | None, str]:
        """Force a refresh grant for this user now: (HTTP status, body or error)."""
        try:
            response = self._get(f"{self.site}/_soak/refresh/")
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, response.text[:200]
