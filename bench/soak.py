"""Soak and fault harness for graph_auth (issue 9). Run from the repository root, after
``pip install -r bench/requirements.txt`` (gunicorn, redis), with PostgreSQL and Redis running:

    python bench/soak.py --users 200 --seconds 120                 # no fault
    python bench/soak.py --users 200 --seconds 120 --fault graph-503
    python bench/soak.py --users 100 --seconds 60 --fault all --json soak.json
    python bench/soak.py --smoke                                   # CI: ~20 s of load, one fault

Each run starts its own stack: gunicorn (gthread workers) serving bench/soak_site.py on PostgreSQL
with Redis as Django's cache, and graph_auth's emulator served over HTTP in its own process
(bench/soak_emulator.py, with a loopback control surface). The users sign in through the real pages,
then browse a page that reads Graph and one that does not, at a fixed request rate; access tokens
are due for refresh once per user per ``--refresh-every`` seconds. The fault is on during the middle
third of the run. See bench/README.md for the columns. Exit status: 0, or 1 when the harness failed or
an invariant that holds today broke (duplicate users; lost refresh tokens with a fault that leaves
tokens alone); issue 9's targets only print "target missed" (``--strict`` makes them count too).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.soak_browser import User
from bench.soak_emulator import soak_upn
from bench.soak_faults import FAULTS, Fault
from bench.soak_load import Load, check_refresh_tokens, sign_in_all
from bench.soak_report import Run, summarize, table
from bench.soak_stack import Config, HarnessError, Stack, pg_connect

SPREAD_BATCHES = 12             # sign-in batches whose first refreshes fall across the refresh period


def run_one(fault_name: str, args) -> dict:
    config = Config(users=args.users, workers=args.workers, threads=args.threads, db=args.db,
                    db_host=args.db_host, db_port=args.db_port, redis=args.redis,
                    refresh_margin=args.refresh_margin, logdir=args.logdir)
    stack = Stack(config)
    log(f"[{fault_name}] starting the stack")
    try:
        stack.start(fault_name)
        users = [User(n, soak_upn(n), stack.site_url, args.timeout) for n in range(args.users)]
        fault: Fault = FAULTS[fault_name](stack, users)
        margin = max(args.refresh_margin, 300)
        lifetimes = [lifetime_due_after(max(1, round(args.refresh_every * (b + 1) / SPREAD_BATCHES)), margin)
                     for b in range(SPREAD_BATCHES)]
        log(f"[{fault_name}] signing {args.users} users in through the pages")
        started = time.time()
        sign_in_errors = sign_in_all(users, lifetimes, lambda s: stack.control("settings", access_token_lifetime=s))
        log(f"[{fault_name}] {args.users - len(sign_in_errors)} signed in ({time.time() - started:.0f} s)")
        stack.control("settings", access_token_lifetime=lifetime_due_after(round(args.refresh_every), margin))
        load = Load(users, args.rate, args.seconds, args.timeout)
        t0 = time.time() + 0.5
        f0, f1 = t0 + args.seconds / 3, t0 + 2 * args.seconds / 3
        timer = threading.Thread(target=_fault_window, args=(fault, f0, f1), daemon=True)
        log(f"[{fault_name}] {args.seconds:g} s at {args.rate:g} requests/s; fault from "
            f"{args.seconds / 3:.0f} s to {2 * args.seconds / 3:.0f} s")
        timer.start()
        load.run(t0)
        timer.join()
        left = load.drain()
        stats = stack.control("stats")
        log(f"[{fault_name}] forcing one refresh per user")
        checks = check_refresh_tokens(users)
        run = Run(fault=fault_name, what=fault.what, users=users, rate=args.rate, duration=args.seconds, t0=t0,
                  fault_start=f0, fault_end=f1, results=list(load.results), skipped=load.skipped,
                  left_in_flight=left, refresh_grants=stats["refresh_grants"], refresh_checks=checks,
                  duplicate_users=duplicate_users(config, users), emulator_errors=stats["errors"],
                  sign_in_errors=sign_in_errors, notes={**fault.notes, "dropped_connections": stats["dropped"]},
                  slow=args.slow, budget=args.budget)
        return summarize(run)
    finally:
        stack.stop()


def lifetime_due_after(seconds: int, margin: int) -> int:
    """The access-token lifetime that makes a token due for refresh ``seconds`` after it was
    issued: due ``margin`` (at least msal's 5 minutes) before expiry, but never before half its
    lifetime (graph_auth.msal_client.refresh_due), so a period under the margin needs twice it."""
    return margin + seconds if seconds >= margin else 2 * seconds


def _fault_window(fault: Fault, f0: float, f1: float) -> None:
    time.sleep(max(0.0, f0 - time.time()))
    try:
        fault.start()
    except Exception as exc:      # noqa: BLE001 — reported in the run's notes
        fault.notes["injector_error"] = f"{type(exc).__name__}: {exc}"
    time.sleep(max(0.0, f1 - time.time()))
    try:
        fault.stop()
    except Exception as exc:      # noqa: BLE001
        fault.notes["injector_error"] = f"{type(exc).__name__}: {exc}"


def duplicate_users(config: Config, users: list[User]) -> int:
    """Django users beyond one per person who signed in (the username is the immutable oid)."""
    with pg_connect(config) as conn:
        (count,) = conn.execute("SELECT count(*) FROM auth_user").fetchone()
    people = sum(1 for u in users if any(error is None for _, error in u.sign_ins))
    return max(0, count - people)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120, help="length of the measured phase")
    parser.add_argument("--rate", type=float, help="page requests per second (default: users / 10)")
    parser.add_argument("--fault", default="none",
                        help=f"one of: {', '.join(FAULTS)}; or several, comma-separated; or all")
    parser.add_argument("--smoke", action="store_true", help="CI smoke: 12 users, 20 s, 10 requests/s, graph-503")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON (- for stdout)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed too")
    parser.add_argument("--refresh-every", type=float, default=60, help="seconds between a user's refreshes")
    parser.add_argument("--refresh-margin", type=int, default=300, help="GRAPH_AUTH['REFRESH_MARGIN']")
    parser.add_argument("--timeout", type=float, default=30, help="the load generator's request timeout")
    parser.add_argument("--slow", type=float, default=2.0, help="slower than this is not recovered (s)")
    parser.add_argument("--budget", type=float, default=5.0, help="target: the longest a request holds a worker (s)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--db", default="graph_auth_soak", help="PostgreSQL database (created, then emptied)")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="Redis DB (flushed!)")
    parser.add_argument("--logdir", default="/tmp/graph_auth_soak", help="gunicorn's and the emulator's logs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.seconds, args.refresh_every = 12, 20, 10
        args.rate = args.rate or 10
        args.fault = "graph-503" if args.fault == "none" else args.fault
    args.rate = args.rate or args.users / 10
    faults = list(FAULTS) if args.fault == "all" else args.fault.split(",")
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault {', '.join(unknown)}; one of: {', '.join(FAULTS)}, all")
    args.faults = faults
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    summaries, failed = [], False
    for name in args.faults:
        try:
            summaries.append(summarize_safely(name, args))
        except HarnessError as exc:
            log(f"[{name}] HARNESS FAILURE: {exc}")
            failed = True
    if summaries:
        if args.json != "-":
            print(f"\ngraph_auth soak: {args.workers} gunicorn workers x {args.threads} threads, PostgreSQL, "
                  f"Redis, emulator over HTTP; Python {sys.version.split()[0]}\n")
            print(table(summaries))
        if args.json:
            text = json.dumps(summaries, indent=2, default=str)
            if args.json == "-":
                print(text)
            else:
                with open(args.json, "w") as f:
                    f.write(text + "\n")
    broken = any(not ok for s in summaries for ok in s["invariants"].values())
    missed = any(not ok for s in summaries for ok in s["targets"].values())
    return 1 if failed or broken or (args.strict and missed) else 0


def summarize_safely(name: str, args) -> dict:
    try:
        return run_one(name, args)
    except HarnessError:
        raise
    except Exception as exc:
        traceback.print_exc()
        raise HarnessError(f"{type(exc).__name__}: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
