"""The soak's emulator process: graph_auth's emulator served over HTTP, with soak users, and a
loopback-only control surface (``/_control/...``) through which the harness injects faults.

    python bench/soak_emulator.py --port 8400 --users 200 --site http://127.0.0.1:8000

The site's workers reach it at ``<url>/_pid/<worker pid>`` (see bench/soak_settings.py): the prefix
is stripped here and tells which worker holds each token request, so a fault can kill that worker.
Faults are set through the emulator's own test controls (``fail_next``, ``revoke_sessions``) or
here (``down``: connections dropped without an answer, a transport error for the client).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from graph_auth.emulator import Emulator
from graph_auth.emulator.default_directory import CONTOSO, WEB_APP_ID, default_directory

PASSWORD = "Passw0rd!"
GRAPH_HOST = "graph.microsoft.com"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def soak_upn(n: int) -> str:
    return f"soak{n:04d}@{CONTOSO}"


def soak_directory(users: int, site: str) -> dict:
    """The default directory, plus ``users`` Contoso members and the site's callback URL."""
    data = default_directory()
    data["users"] += [{"tenant": CONTOSO, "user_principal_name": soak_upn(n), "display_name": f"Soak {n:04d}",
                       "given_name": "Soak", "surname": f"{n:04d}", "mail": soak_upn(n), "password": PASSWORD}
                      for n in range(users)]
    app = next(a for a in data["apps"] if a["client_id"] == WEB_APP_ID)
    app["redirect_uris"].append(f"{site.rstrip('/')}/auth/callback")
    return data


class Host:
    """The emulator plus what the harness controls and observes from outside."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.down = False                  # identity platform unreachable (connections dropped)
        self.dropped = 0
        self.inflight: dict[int, dict] = {}   # token requests being answered now
        self.lock = threading.Lock()
        self.serial = 0

    # -- WSGI: strip the worker prefix, note token requests in flight, serve -------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/_control/"):
            return self.control(environ, start_response)
        pid = None
        if path.startswith("/_pid/"):              # "/_pid/<pid>/<the emulator's path>"
            parts = path.split("/", 3)
            pid, path = parts[2], "/" + (parts[3] if len(parts) > 3 else "")
            environ["PATH_INFO"] = path
        if not path.endswith("/oauth2/v2.0/token"):
            return self.emulator(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self.lock:
            self.serial += 1
            key = self.serial
            self.inflight[key] = {"pid": int(pid) if pid and pid.isdigit() else None, "started": time.time(),
                                  "grant_type": form.get("grant_type"), "user": self._user_of(form)}
        try:
            return self.emulator(environ, start_response)
        finally:
            with self.lock:
                self.inflight.pop(key, None)

    def _user_of(self, form: dict) -> str | None:
        # Only to name the user in the harness's notes: the emulator's own record of the grant.
        grant = getattr(self.emulator, "refresh_tokens", {}).get(form.get("refresh_token", ""))
        user = grant and self.emulator.directory.user(getattr(grant, "user_id", None))
        return user.user_principal_name if user else None

    def is_down_for(self, path: str, headers) -> bool:
        """Whether to drop this request: identity (and its browser pages) while ``down``."""
        host = (headers.get("X-Emulated-Host") or "").split(":")[0].lower()
        return self.down and host != GRAPH_HOST and not path.startswith("/_control/")

    # -- /_control/ ----------------------------------------------------------------------------
    def control(self, environ, start_response):
        if environ.get("REMOTE_ADDR") not in LOOPBACK:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        args = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        action = environ["PATH_INFO"][len("/_control/"):].strip("/")
        try:
            result = getattr(self, f"do_{action.replace('-', '_')}")(**args)
            status = "200 OK"
        except Exception as exc:        # noqa: BLE001 — the harness reads and reports it
            result, status = {"error": f"{type(exc).__name__}: {exc}"}, "400 Bad Request"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    def do_health(self):
        return {"ok": True, "pid": os.getpid()}

    def do_settings(self, **values):
        for name, value in values.items():
            if not hasattr(self.emulator.settings, name):
                raise AttributeError(name)
            setattr(self.emulator.settings, name, value)
        return {"ok": True}

    def do_fail(self, endpoint, status=None, headers=None, delay=0.0, grant_type=None):
        """A fault on ``endpoint`` until cleared (the emulator's ``fail_next`` with times=None)."""
        self.emulator.fail_next(endpoint, status, headers=headers, delay=delay, times=None,
                                grant_type=grant_type)
        return {"ok": True}

    def do_down(self, down=True):
        self.down = bool(down)
        return {"ok": True}

    def do_clear(self):
        self.down = False
        self.emulator.clear_faults()
        return {"ok": True}

    def do_revoke(self, users):
        for user in users:
            self.emulator.revoke_sessions(user)
        return {"revoked": len(users)}

    def do_inflight(self):
        now = time.time()
        with self.lock:
            return [{**v, "age": now - v["started"]} for v in self.inflight.values()]

    def do_refresh_tokens(self, user):
        """SHA-256 digests of the refresh tokens issued to ``user`` (a UPN), oldest first: tells
        bench/run.py whether the one a site stored is the newest (no token value leaves)."""
        user_id = self.emulator.user(user).id
        with self.emulator.lock:
            tokens = [t for t, grant in self.emulator.refresh_tokens.items() if grant.user_id == user_id]
        return {"digests": [hashlib.sha256(t.encode()).hexdigest() for t in tokens]}

    def do_stats(self):
        """Every refresh grant answered (time, status), and the emulator's health."""
        grants = self.emulator.requests("token", grant_type="refresh_token")
        return {"refresh_grants": [[g.time, g.status] for g in grants],
                "graph_requests": len(self.emulator.requests("graph")),
                "dropped": self.dropped, "errors": [repr(e) for e in self.emulator.errors]}


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 1024


class Handler(WSGIRequestHandler):
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        host: Host = self.server.get_app()
        if host.is_down_for(self.path, self.headers):
            with host.lock:
                host.dropped += 1
            # Reset the connection without an answer: the client sees a transport error.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return False
        return True

    def log_message(self, format, *args):       # the emulator keeps its own log
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--site", required=True, help="the site's origin (its callback URL is registered)")
    args = parser.parse_args(argv)
    server = make_server("127.0.0.1", args.port, None, server_class=Server, handler_class=Handler)
    url = f"http://127.0.0.1:{server.server_port}"
    emulator = Emulator(soak_directory(args.users, args.site), browser_url=url)
    server.set_app(Host(emulator))
    print(f"ready {url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
