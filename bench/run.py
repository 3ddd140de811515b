"""graph_auth benchmarks. Run from the repository root:

    python bench/run.py                      # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/graph_auth_bench python bench/run.py

(a) an authenticated page that does not use Graph, with graph_auth's middleware vs. plain Django
    session auth: extra DB queries (goal 0) and throughput ratio (goal >= 0.95);
(b) request.graph.get("/me") with a fresh token: DB queries beyond the page without Graph (goal <= 1)
    and identity-platform calls (goal 0);
(c) 64 concurrent requests of one user whose access token expired, across several processes:
    refresh grants made (goal exactly 1) and errors (goal 0) -- with graph_auth's locked token
    store, and with a naive last-write-wins store as the baseline.
Everything runs offline against graph_auth's emulator; (c) serves it over HTTP so that every
process talks to the same one.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
USER = "adele@contoso.onmicrosoft.com"


def setup_django(migrate: bool = False) -> None:
    import django
    django.setup()
    if migrate:
        from django.core.management import call_command
        _ensure_postgres_database()
        call_command("migrate", verbosity=0)


def _ensure_postgres_database() -> None:
    from django.conf import settings
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return
    import psycopg
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or None, user=db["USER"],
                         password=db.get("PASSWORD") or None, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def sign_in(client, emulator, user: str = USER):
    """Sign in through graph_auth's views; return the client (its session cookie is the user's)."""
    login = client.get("/auth/login/", {"next": "/page/"})
    result = emulator.sign_in(login["Location"], user)
    response = client.get("/auth/callback", result)
    assert response.status_code == 302, response.content[:500]
    return client


def timed(client, url: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    return n / (time.perf_counter() - start)


def queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def bench_requests(n: int, blocks: int) -> list[tuple]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from graph_auth.emulator import Emulator
    from graph_auth.emulator.mount import use_emulator

    rows = []
    emulator = Emulator()
    with use_emulator(emulator):
        ours = sign_in(Client(), emulator)
        base = Client()
        with override_settings(MIDDLEWARE=settings.BASELINE_MIDDLEWARE):
            base.force_login(get_user_model().objects.get(microsoft_accounts__isnull=False))
            timed(base, "/page/", 20)                       # warm up, load the middleware chain
        timed(ours, "/page/", 20)
        ours_rps, base_rps = [], []
        for _ in range(blocks):                             # interleaved blocks: same conditions
            ours_rps.append(timed(ours, "/page/", n))
            with override_settings(MIDDLEWARE=settings.BASELINE_MIDDLEWARE):
                base_rps.append(timed(base, "/page/", n))
        with override_settings(MIDDLEWARE=settings.BASELINE_MIDDLEWARE):
            base_q = queries(base, "/page/")
        ours_q = queries(ours, "/page/")
        ratio = statistics.median(ours_rps) / statistics.median(base_rps)
        rows.append(("(a) page without Graph", "DB queries / request", ours_q, base_q,
                     "0 extra", ours_q - base_q == 0))
        rows.append(("(a) page without Graph", "requests / s (median)", f"{statistics.median(ours_rps):.0f}",
                     f"{statistics.median(base_rps):.0f}", ">= 0.95 x", ratio >= 0.95))
        rows.append(("(a) page without Graph", "throughput ratio", f"{ratio:.3f}", "1", ">= 0.95", ratio >= 0.95))

        timed(ours, "/me/", 5)
        emulator.clear_log()
        me_rps = timed(ours, "/me/", n)
        identity_calls = len([r for r in emulator.requests() if r.host == "login.microsoftonline.com"])
        graph_calls = len(emulator.requests("graph"))
        me_q = queries(ours, "/me/")
        rows.append(('(b) request.graph.get("/me")', "DB queries beyond (a)", me_q - ours_q, "-",
                     "<= 1", me_q - ours_q <= 1))
        rows.append(('(b) request.graph.get("/me")', "identity-platform calls", identity_calls,
                     f"(Graph calls: {graph_calls})", "0", identity_calls == 0))
        rows.append(('(b) request.graph.get("/me")', "requests / s", f"{me_rps:.0f}", "-", "-", None))
    return rows


# -- (c) concurrency across processes -------------------------------------------------------------
def _worker(env: dict, cookie: str, threads: int, start_at: float, naive: bool, out) -> None:
    os.environ.update(env)
    setup_django()
    from django.conf import settings
    from django.test import Client
    if naive:
        _use_naive_store()
    results = []

    def one():
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
        time.sleep(max(0.0, start_at - time.time()))
        try:
            response = client.get("/me/")
            results.append(response.status_code)
        except Exception as exc:             # noqa: BLE001 — an error is a result here
            results.append(f"{type(exc).__name__}: {str(exc)[:80]}")

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    out.put(results)


def _use_naive_store() -> None:
    """The baseline: read the cache without a lock, write it back at the end (last write wins)."""
    import contextlib

    from django.db import transaction

    from graph_auth.models import TokenCache
    from graph_auth.token_store import TokenStore

    @contextlib.contextmanager
    def naive(self):
        cache = self.load()
        yield cache
        if cache.has_state_changed:
            with transaction.atomic():
                row, _ = TokenCache.objects.get_or_create(user_id=self.user.pk)
                self._write(row, cache)

    TokenStore.locked = naive


def bench_concurrency(processes: int, per_process: int, naive: bool) -> tuple[int, int, int]:
    """Return (refresh grants, errors, requests) for one burst of concurrent requests."""
    from django.conf import settings
    from django.test import Client, override_settings

    from graph_auth import id_tokens, msal_client
    from graph_auth.emulator import Emulator
    from graph_auth.emulator.__main__ import serve
    msal_client.clear_caches()
    id_tokens.clear_caches()
    emulator = Emulator()
    server = serve(emulator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "EMULATOR_URL": url}):
            emulator.settings.access_token_lifetime = 200     # msal treats < 5 min as expired
            client = sign_in(Client(), emulator)
            emulator.settings.access_token_lifetime = 3599
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        emulator.clear_log()
        env = {"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_EMULATOR_URL": url,
               "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
               "BENCH_SQLITE": settings.DATABASES["default"]["NAME"]}
        env = {k: v for k, v in env.items() if v}
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        start_at = time.time() + 4.0                        # all processes ready, then one burst
        procs = [ctx.Process(target=_worker, args=(env, cookie, per_process, start_at, naive, queue))
                 for _ in range(processes)]
        for p in procs:
            p.start()
        results = [r for _ in procs for r in queue.get(timeout=120)]
        for p in procs:
            p.join(timeout=30)
        grants = len(emulator.requests("token", grant_type="refresh_token"))
        errors = sum(1 for r in results if r != 200)
        return grants, errors, len(results)
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="graph_auth benchmarks")
    parser.add_argument("--requests", type=int, default=300, help="requests per timing block")
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    setup_django(migrate=True)
    from django.conf import settings
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]

    rows = bench_requests(args.requests, args.blocks)
    per = args.concurrency // args.processes
    for naive in (False, True):
        grants, errors, total = bench_concurrency(args.processes, per, naive)
        label = f"(c) {total} concurrent, {args.processes} processes" + (" [naive store]" if naive else "")
        rows.append((label, "refresh grants", grants, "-", "(baseline)" if naive else "1",
                     None if naive else grants == 1))
        rows.append((label, "errors", errors, "-", "(baseline)" if naive else "0",
                     None if naive else errors == 0))

    print(f"\ngraph_auth benchmarks — database: {engine}, Python {sys.version.split()[0]}\n")
    header = ("benchmark", "metric", "graph_auth", "baseline", "goal", "met")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(6)]
    def line(row) -> str:
        return "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line((*r[:5], "-" if r[5] is None else "yes" if r[5] else "NO")))


if __name__ == "__main__":
    main()
