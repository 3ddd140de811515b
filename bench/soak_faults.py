"""The faults the soak injects in the middle of a run, and removes: each ``start``s, runs what it
needs in a thread until ``stop``, and counts what it did in ``notes``."""
from __future__ import annotations

import threading
import time

from bench.soak_browser import User
from bench.soak_stack import SITE_APP, Stack, pg_connect

SLOW_IDENTITY = 25          # seconds each token request is held (longer than graph_auth's TIMEOUT)
RETRY_AFTER = 5             # the 429 storm's Retry-After
REFRESH_HELD = 3            # worker-killed-mid-refresh: refresh grants held this long ...
KILL_AFTER = 0.5            # ... and the worker holding one is killed after this long
KILL_EVERY = 4              # at most one kill per this many seconds
IN_TRANSACTION_EVERY = 0.02  # db-connections-killed: how often to look for connections mid-transaction
REVOKED_SHARE = 2           # sessions-revoked: every other user


class Fault:
    """No fault (the control run)."""
    name = "none"
    what = "no fault: the control run"

    def __init__(self, stack: Stack, users: list[User]) -> None:
        self.stack, self.users = stack, users
        self.notes: dict = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.inject()
        if type(self).loop is not Fault.loop:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.remove()

    def _run(self) -> None:
        try:
            self.loop()
        except Exception as exc:     # noqa: BLE001 — reported, the run goes on
            self.notes["injector_error"] = f"{type(exc).__name__}: {exc}"

    def inject(self) -> None:
        pass

    def loop(self) -> None:
        pass

    def remove(self) -> None:
        self.stack.control("clear")


class IdentityDown(Fault):
    name = "identity-down"
    what = "every identity-platform connection (token endpoint, sign-in pages) is reset unanswered"

    def inject(self) -> None:
        self.stack.control("down", down=True)


class IdentitySlow(Fault):
    name = "identity-slow"
    what = f"every token request is held {SLOW_IDENTITY} s before its answer"

    def inject(self) -> None:
        self.stack.control("fail", endpoint="token", delay=SLOW_IDENTITY)


class Graph429Storm(Fault):
    name = "graph-429-storm"
    what = f"every Graph request gets 429 with Retry-After: {RETRY_AFTER}"

    def inject(self) -> None:
        self.stack.control("fail", endpoint="graph", status=429, headers={"Retry-After": str(RETRY_AFTER)})


class Graph503(Fault):
    name = "graph-503"
    what = "every Graph request gets 503 serviceNotAvailable"

    def inject(self) -> None:
        self.stack.control("fail", endpoint="graph", status=503)


class DbConnectionsKilled(Fault):
    name = "db-connections-killed"
    what = (f"pg_terminate_backend of the site's connections: those inside a transaction (e.g. holding "
            f"a token row during a refresh) every {IN_TRANSACTION_EVERY} s, all of them every 1 s")

    def loop(self) -> None:
        killed = 0
        with pg_connect(self.stack.config) as conn:
            last_all = 0.0
            while not self._stop.wait(IN_TRANSACTION_EVERY):
                every = time.time() - last_all >= 1
                last_all = time.time() if every else last_all
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                    "AND datname = %s AND pid <> pg_backend_pid() AND (%s OR state LIKE 'idle in transaction%%')",
                    [SITE_APP, self.stack.config.db, every]).fetchall()
                killed += sum(1 for (ok,) in rows if ok)
                self.notes["connections_killed"] = killed


class WorkerKilledMidRefresh(Fault):
    name = "worker-killed-mid-refresh"
    what = (f"refresh grants are held {REFRESH_HELD} s; the gunicorn worker waiting on one is SIGKILLed "
            f"(at most every {KILL_EVERY} s)")

    def inject(self) -> None:
        self.stack.control("fail", endpoint="token", delay=REFRESH_HELD, grant_type="refresh_token")

    def loop(self) -> None:
        kills = self.notes.setdefault("kills", [])
        last = 0.0
        while not self._stop.wait(0.1):
            if time.time() - last < KILL_EVERY:
                continue
            held = [r for r in self.stack.control("inflight")
                    if r["grant_type"] == "refresh_token" and r["pid"] and r["age"] >= KILL_AFTER]
            for request in held:
                if self.stack.kill_worker(request["pid"]):
                    last = time.time()
                    kills.append({"at": last, "pid": request["pid"], "user": request["user"]})
                    break


class SessionsRevoked(Fault):
    name = "sessions-revoked"
    what = "revokeSignInSessions for every other user at the fault's start (they must sign in again)"

    def inject(self) -> None:
        victims = self.users[::REVOKED_SHARE]
        now = time.time()
        for user in victims:
            user.revoked_at = now
        self.stack.control("revoke", users=[u.upn for u in victims])
        self.notes["revoked_users"] = len(victims)

    def remove(self) -> None:
        pass                        # a revocation is for good: the users sign in again


FAULTS = {f.name: f for f in (Fault, IdentityDown, IdentitySlow, Graph429Storm, Graph503,
                              DbConnectionsKilled, WorkerKilledMidRefresh, SessionsRevoked)}
# Faults that leave every refresh token alone: with them as without, no user may lose one today.
TOKEN_SAFE = {"none", "graph-429-storm", "graph-503"}
