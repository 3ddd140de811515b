"""graph_auth benchmarks: one markdown table of rows, each with its target (issue 10) and a verdict.
Run from the repository root, with PostgreSQL running (see bench/README.md):

    pip install -r requirements.txt -r bench/requirements.txt
    python bench/run.py                          # about a minute on 2 cores
    python bench/run.py --json bench.json        # every number too (- : on stdout)

Every ratio comes from interleaved rounds (``--rounds``, at least 7) against a baseline measured in
the same run, shown as median [min..max]. The rows:

- a page without Graph: extra queries, and the microseconds GraphAuthMiddleware and its session keys
  add (in-process micro-benchmark); throughput and worker CPU per request over HTTP (gunicorn);
- a view making 3 Graph calls with a fresh token: DB queries and decryptions;
- 5 Graph calls gathered with ``aget`` vs made one by one with ``get``, Graph answering in 100 ms;
- the herd: 64 concurrent requests of one user whose access token is due, 4 gunicorn workers,
  graph_auth's locked token store vs a naive last-write-wins one (Entra keeps used refresh tokens
  valid, so the naive store makes no errors: it makes grants and may store an older token);
- with the SDK's venv (bench/requirements-compare.txt), graph_auth vs the official Graph SDK.

Everything runs offline against graph_auth's emulator: in this process for the in-process rows,
served over HTTP in its own process for the others.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import database  # noqa: E402
from bench.stats import Row, markdown  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/graph_auth_bench"


def parse(argv=None):
    parser = argparse.ArgumentParser(description="graph_auth benchmarks (see bench/README.md)")
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help="PostgreSQL URL; the database is created when missing and EMPTIED (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per ratio (at least 7)")
    parser.add_argument("--herd-rounds", type=int, default=5)
    parser.add_argument("--herd", type=int, default=64, help="concurrent requests of the herd")
    parser.add_argument("--herd-workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="HTTP requests per arm and round")
    parser.add_argument("--concurrency", type=int, default=4, help="kept-alive clients for the throughput rows")
    parser.add_argument("--micro-calls", type=int, default=2000, help="middleware calls per timed block")
    parser.add_argument("--calls", type=int, default=100, help="per-call latency samples per probe (comparison)")
    parser.add_argument("--compare-python", help="the SDK venv's python (default: bench/.venv-compare/bin/python)")
    parser.add_argument("--no-compare", action="store_true", help="skip the comparison with the Graph SDK")
    parser.add_argument("--json", metavar="FILE", help="write every number as JSON to FILE (- : stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = parser.parse_args(argv)
    if args.rounds < 7:
        parser.error("--rounds must be at least 7")
    return args


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse(argv)
    started = time.time()
    try:
        engine = database.setup(args.db)
    except database.DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="graph_auth_bench-")
    notes: list[str] = []
    try:
        rows = measure(args, engine, workdir, notes)
    except Exception:
        print(f"bench/run.py failed; the servers' logs are in {workdir}", file=sys.stderr)
        raise
    if args.keep:
        notes.append(f"server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    report(rows, notes, engine, time.time() - started, args)
    return 0


def measure(args, engine: str, workdir: str, notes: list[str]) -> list[Row]:
    from bench import compare, inprocess
    from bench.overhttp import OverHttp, herd_rows
    log("in-process rows (middleware, three Graph calls, gathered calls)")
    rows = inprocess.run(args.rounds, engine, args.micro_calls)
    stack = OverHttp(workdir, args.db, engine)
    try:
        herd_site = stack.start("herd", workers=args.herd_workers, threads=args.herd // args.herd_workers,
                                port=stack.site_port)
        cookie = stack.sign_in(herd_site)
        stack.stop(herd_site)
        log("HTTP throughput, with and without GraphAuthMiddleware")
        rows += stack.throughput(cookie, args.rounds, args.requests, args.concurrency)
        log(f"herd: {args.herd_rounds} rounds with graph_auth's store, then with a naive one")
        ours = stack.herd(cookie, args.herd_rounds, args.herd, args.herd_workers, naive=False)
        naive = stack.herd(cookie, args.herd_rounds, args.herd, args.herd_workers, naive=True)
        rows += herd_rows(ours, naive, args.herd, args.herd_workers, engine)
        python, why = (None, "--no-compare") if args.no_compare else compare.find_python(args.compare_python)
        if python:
            log(f"comparison with the Graph SDK ({python})")
            rows += compare.run(stack.emulator.url, args.db, python, args.rounds, args.calls)
        else:
            notes.append(f"comparison with the Graph SDK skipped: {why}")
    finally:
        stack.close()
    return rows


def report(rows: list[Row], notes: list[str], engine: str, seconds: float, args) -> None:
    import django
    header = (f"graph_auth benchmarks: Python {sys.version.split()[0]}, Django {django.get_version()}, "
              f"{os.cpu_count()} CPUs, {args.rounds} interleaved rounds (herd: {args.herd_rounds}), "
              f"{seconds:.0f} s. Cells: median [min..max] over the rounds.")
    missed = [f"{r.row}: {r.metric}" for r in rows if r.met is False]
    text = "\n".join([header, "", markdown(rows), "",
                      *(f"- {n}" for n in notes),
                      f"- targets met: {sum(1 for r in rows if r.met)} of {sum(1 for r in rows if r.met is not None)}",
                      *(f"- target MISSED: {m}" for m in missed)])
    if args.json == "-":
        print(json.dumps(_json(rows, notes, engine, seconds), indent=2))
        return
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(_json(rows, notes, engine, seconds), f, indent=2)


def _json(rows: list[Row], notes: list[str], engine: str, seconds: float) -> dict:
    return {"database": engine, "seconds": seconds, "notes": notes,
            "rows": [{"row": r.row, "metric": r.metric, "graph_auth": r.ours, "baseline": r.baseline,
                      "value": r.value, "target": r.target, "db": r.db, "met": r.met, "data": r.data} for r in rows]}


if __name__ == "__main__":
    sys.exit(main())
