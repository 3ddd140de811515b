"""bench/run.py's rows over real HTTP: gunicorn serving the bench's site on PostgreSQL, graph_auth's
emulator served over HTTP in its own process. The throughput of a page without Graph with and
without GraphAuthMiddleware, and the herd: many concurrent requests of one user whose access token
is due, with graph_auth's token store and with a naive last-write-wins one."""
from __future__ import annotations

import hashlib
import json
import statistics

from bench.inprocess import USER
from bench.servers import EmulatorProcess, Gunicorn, burst, load
from bench.soak_browser import User
from bench.soak_stack import HarnessError, free_port
from bench.stats import Row, Spread, differences, ratios, round_order

LEFT = 240          # seconds of life left to the access tokens: due by the 300 s margin, still valid


class OverHttp:
    """The emulator process, the herd's site (the one origin it accepts sign-ins for) and the
    signed-in user's session cookie."""

    def __init__(self, workdir: str, database_url: str, engine: str) -> None:
        self.workdir, self.db = workdir, engine
        self.site_port = free_port()
        self.emulator = EmulatorProcess(workdir, f"http://127.0.0.1:{self.site_port}")
        self.env = {"BENCH_DATABASE_URL": database_url, "BENCH_EMULATOR_URL": self.emulator.url}
        self.servers: list[Gunicorn] = []

    def start(self, name: str, *, workers: int, threads: int, port: int | None = None, **env) -> Gunicorn:
        server = Gunicorn(name, self.workdir, {**self.env, **env}, workers=workers, threads=threads, port=port)
        self.servers.append(server)
        return server

    def stop(self, server: Gunicorn) -> None:
        server.stop()
        self.servers.remove(server)

    def close(self) -> None:
        for server in list(self.servers):
            self.stop(server)
        self.emulator.stop()

    def sign_in(self, site: Gunicorn) -> str:
        """Sign the user in through the site's and the emulator's pages; return the Cookie header."""
        from django.conf import settings
        browser = User(0, USER, site.url, timeout=30)
        error = browser.sign_in()
        if error:
            raise HarnessError(f"could not sign {USER} in through the pages: {error}")
        return f"{settings.SESSION_COOKIE_NAME}={browser.session.cookies.get(settings.SESSION_COOKIE_NAME)}"

    # -- a page without Graph, with and without the middleware --------------------------------
    def throughput(self, cookie: str, rounds: int, requests: int, concurrency: int) -> list[Row]:
        ours = self.start("page-ours", workers=1, threads=concurrency)
        base = self.start("page-baseline", workers=1, threads=concurrency, BENCH_BASELINE="1")
        try:
            rps = {"ours": Spread(), "base": Spread()}
            cpu = {"ours": Spread(), "base": Spread()}
            for server in (ours, base):
                self._block(server, cookie, requests // 2, concurrency)       # warm up
            for index in range(rounds):
                for arm, server in round_order([("ours", ours), ("base", base)], index):
                    wall, cpu_s = self._block(server, cookie, requests, concurrency)
                    rps[arm].add(requests / wall)
                    cpu[arm].add(cpu_s / requests * 1e6)
        finally:
            self.stop(ours)
            self.stop(base)
        ratio, extra_cpu = ratios(rps["ours"], rps["base"]), differences(cpu["ours"], cpu["base"])
        name = "page without Graph, HTTP (gunicorn 1 worker)"
        return [
            Row(name, f"requests/s, {concurrency} kept-alive clients (noisy: 2 shared cores)",
                rps["ours"].fmt(0), rps["base"].fmt(0) + " without GraphAuthMiddleware",
                f"{ratio.fmt(3)} x", "- (report)", self.db, None,
                {"ours_rps": rps["ours"].as_json(), "base_rps": rps["base"].as_json(), "ratio": ratio.as_json()}),
            Row(name, "worker CPU µs per request", cpu["ours"].fmt(0), cpu["base"].fmt(0),
                f"{extra_cpu.fmt(0)} µs more", "- (report)", self.db, None,
                {"ours_cpu_us": cpu["ours"].as_json(), "base_cpu_us": cpu["base"].as_json(),
                 "difference_us": extra_cpu.as_json()}),
        ]

    @staticmethod
    def _block(server: Gunicorn, cookie: str, requests: int, concurrency: int) -> tuple[float, float]:
        before = server.cpu()
        wall, bad = load(server.url, "/page/", cookie, requests, concurrency)
        if bad:
            raise HarnessError(f"{server.url}/page/ answered {sorted(set(map(str, bad)))[:5]}")
        return wall, server.cpu() - before

    # -- the herd -------------------------------------------------------------------------------
    def herd(self, cookie: str, rounds: int, count: int, workers: int, naive: bool) -> dict:
        """``rounds`` bursts of ``count`` requests to /me/ with the access token due; per round the
        refresh grants the emulator answered, the errors, and whether the newest refresh token
        issued is the one stored."""
        from django.test import Client

        from tests.token_aging import leave_only
        client = Client()
        client.cookies[cookie.split("=")[0]] = cookie.split("=", 1)[1]
        name = "herd-naive" if naive else "herd"
        server = self.start(name, workers=workers, threads=count // workers, port=self.site_port,
                            **({"BENCH_NAIVE": "1"} if naive else {}))
        out = {k: Spread() for k in ("grants", "errors", "newest", "behind", "wall_ms", "p50_ms", "cpu_us")}
        try:
            for _ in range(rounds):
                leave_only(LEFT, client)
                grants_before = len(self.emulator.control("stats")["refresh_grants"])
                cpu_before = server.cpu()
                wall, latencies, outcomes = burst(server.url, "/me/", cookie, count)
                cpu = server.cpu() - cpu_before
                grants = self.emulator.control("stats")["refresh_grants"][grants_before:]
                issued = self.emulator.control("refresh_tokens", user=USER)["digests"]
                stored = self._stored_refresh_tokens(client)
                behind = min((len(issued) - 1 - issued.index(d) for d in stored if d in issued), default=len(issued))
                out["grants"].add(len(grants))
                out["errors"].add(sum(1 for o in outcomes if o != 200) + sum(1 for _, s in grants if s != 200))
                out["newest"].add(1 if behind == 0 else 0)
                out["behind"].add(behind)
                out["wall_ms"].add(wall * 1e3)
                out["p50_ms"].add(statistics.median(latencies) * 1e3)
                out["cpu_us"].add(cpu / count * 1e6)
        finally:
            self.stop(server)
        return out

    def _stored_refresh_tokens(self, client) -> set:
        """Digests of the refresh tokens in the user's stored cache."""
        from graph_auth import crypto
        from graph_auth.models import TokenCache
        row = TokenCache.objects.get(user_id=client.session["_auth_user_id"])
        cache = json.loads(crypto.decrypt(row.data, row.context) or "{}")
        return {hashlib.sha256(rt["secret"].encode()).hexdigest() for rt in cache.get("RefreshToken", {}).values()}


def herd_rows(ours: dict, naive: dict, count: int, workers: int, engine: str) -> list[Row]:
    rounds = len(ours["grants"].values)
    name = f"herd: {count} concurrent /me/, token due, gunicorn {workers}x{count // workers} threads"
    all_rounds = f"{rounds} of {rounds} rounds"

    def of(spread: Spread, ok) -> int:
        return sum(1 for v in spread.values if ok(v))
    newest_naive = of(naive["newest"], bool)
    return [
        Row(name, "refresh grants per round", ours["grants"].fmt(0), f"naive store: {naive['grants'].fmt(0)}",
            f"exactly 1 in {of(ours['grants'], lambda v: v == 1)} of {rounds}", f"exactly 1, {all_rounds}",
            engine, of(ours["grants"], lambda v: v == 1) == rounds,
            {"ours": ours["grants"].as_json(), "naive": naive["grants"].as_json()}),
        Row(name, "errors per round (non-200 pages, refused grants)", ours["errors"].fmt(0),
            f"naive store: {naive['errors'].fmt(0)}", f"0 in {of(ours['errors'], lambda v: v == 0)} of {rounds}",
            f"0, {all_rounds}", engine, of(ours["errors"], lambda v: v == 0) == rounds,
            {"ours": ours["errors"].as_json(), "naive": naive["errors"].as_json()}),
        Row(name, "newest refresh token stored (else: how many rotations behind)",
            f"{of(ours['newest'], bool)} of {rounds}",
            f"naive store: {newest_naive} of {rounds}; older stored in {rounds - newest_naive} "
            f"(behind {naive['behind'].fmt(0)})", "-", all_rounds, engine, of(ours["newest"], bool) == rounds,
            {"ours_behind": ours["behind"].as_json(), "naive_behind": naive["behind"].as_json()}),
        Row(name, "burst wall ms; median latency ms; worker CPU µs per request",
            f"{ours['wall_ms'].fmt(0)}; {ours['p50_ms'].fmt(0)}; {ours['cpu_us'].fmt(0)}",
            f"naive store: {naive['wall_ms'].fmt(0)}; {naive['p50_ms'].fmt(0)}; {naive['cpu_us'].fmt(0)}",
            "-", "-", engine, None,
            {k: {"ours": ours[k].as_json(), "naive": naive[k].as_json()} for k in ("wall_ms", "p50_ms", "cpu_us")}),
    ]
