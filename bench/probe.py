"""What the comparison's probes (bench/probe_ours.py, bench/probe_sdk.py) share. Standard library
only: it runs in graph_auth's venv and in the SDK's separate venv alike.

Each probe runs in a fresh process against one emulator served over HTTP, prints one JSON object
and measures the same things: import, client build and first call (token acquisition included);
per-call latency alternating with the same GET made with the HTTP library beneath the client (the
"floor": the client's overhead is its latency above it); peak RSS; round trips for 100 GETs via
$batch; installed size of the stack's distributions.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import marshal
import os
import resource
import statistics
import sysconfig
import time
import urllib.request
from importlib import metadata

USER = "adele@contoso.onmicrosoft.com"
TENANT = "contoso.onmicrosoft.com"
BATCH_GETS = 100


class Marks:
    """Elapsed seconds from the probe's start (before the stack is imported) to named points."""

    def __init__(self, start: float) -> None:
        self.start, self.last, self.spans = start, start, {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.spans[name] = now - self.last
        self.last = now


def alternate(call, floor, n: int) -> dict:
    """Median wall time and mean CPU time per call of ``call()`` and ``floor()``, alternated."""
    return _summary([_timed(f) for _ in range(n) for f in (call, floor)])


async def aalternate(call, floor, n: int) -> dict:
    """``alternate`` for coroutine functions."""
    samples = []
    for _ in range(n):
        for f in (call, floor):
            wall, cpu = time.perf_counter(), time.process_time()
            await f()
            samples.append((time.perf_counter() - wall, time.process_time() - cpu))
    return _summary(samples)


def _timed(f) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - wall, time.process_time() - cpu


def _summary(samples: list) -> dict:
    client, floor = samples[0::2], samples[1::2]
    result = {"client_ms": statistics.median(w for w, _ in client) * 1e3,
              "floor_ms": statistics.median(w for w, _ in floor) * 1e3,
              "client_cpu_ms": statistics.fmean(c for _, c in client) * 1e3,
              "floor_cpu_ms": statistics.fmean(c for _, c in floor) * 1e3}
    result["overhead_ms"] = result["client_ms"] - result["floor_ms"]
    result["overhead_cpu_ms"] = result["client_cpu_ms"] - result["floor_cpu_ms"]
    return result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KiB on Linux


def graph_requests(emulator_url: str) -> int:
    """How many Graph requests the emulator process has answered so far (a $batch counts once)."""
    request = urllib.request.Request(f"{emulator_url}/_control/stats", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["graph_requests"]


# -- installed size ------------------------------------------------------------------------------
def _requirement(text: str):
    try:
        from packaging.requirements import Requirement
    except ImportError:                              # every venv with pip has it vendored
        from pip._vendor.packaging.requirements import Requirement
    return Requirement(text)


def closure(roots: list[str]) -> dict:
    """The installed distributions ``roots`` need (their requirements, with extras and markers
    evaluated for this interpreter), by normalised name -> the extras asked of it."""
    wanted: dict = {}
    todo = [(r, frozenset()) for r in roots]
    while todo:
        name, extras = todo.pop()
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in wanted and extras <= wanted[key]:
            continue
        wanted[key] = wanted.get(key, frozenset()) | extras
        for text in metadata.requires(name) or []:
            req = _requirement(text)
            envs = [{"extra": e} for e in (wanted[key] or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return wanted


def _files_size(files) -> tuple[int, int]:
    """Bytes of ``files`` (RECORD entries): all of them, and their bytecode alone."""
    total = bytecode = 0
    for path in files:
        try:
            size = os.path.getsize(path.locate())
        except OSError:
            continue
        total += size
        if path.suffix == ".pyc":
            bytecode += size
    return total, bytecode


def _package_size(directory: str) -> tuple[int, int]:
    """An editable install's package: its files, plus the bytecode pip would compile for them
    (what its wheel would install), never what happens to be in its __pycache__ now."""
    total = bytecode = 0
    for base, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = os.path.join(base, name)
            total += os.path.getsize(path)
            if name.endswith(".py"):
                with open(path, "rb") as f:
                    size = len(marshal.dumps(compile(f.read(), path, "exec", dont_inherit=True))) + 16
                total, bytecode = total + size, bytecode + size
    return total, bytecode


def installed_size(roots: list[str], editable_dirs: tuple = ()) -> dict:
    """Bytes the distributions in ``closure(roots)`` installed, as pip installs them (their
    RECORD, with the bytecode pip compiles), and without bytecode; ``editable_dirs``: the package
    directory of an editable install (its RECORD lists none of its files)."""
    names = sorted(closure(roots))
    sizes = [_files_size(metadata.distribution(n).files or []) for n in names]
    sizes += [_package_size(d) for d in editable_dirs]
    total, bytecode = sum(t for t, _ in sizes), sum(b for _, b in sizes)
    return {"bytes": total, "source_bytes": total - bytecode, "distributions": names,
            "site_packages_bytes": _tree(sysconfig.get_paths()["purelib"])}


def _tree(directory: str) -> int:
    total = 0
    for base, _dirs, files in os.walk(directory):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(base, f))
    return total


def batch_summary(emulator_url: str, before: int, statuses: list) -> dict:
    """The round trips the emulator saw since ``before``, and the sub-requests' statuses."""
    return {"round_trips": graph_requests(emulator_url) - before, "answers": len(statuses),
            "ok": sum(1 for s in statuses if s == 200)}


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--emulator", required=True, help="the emulator served over HTTP")
    parser.add_argument("--calls", type=int, default=100, help="per-call latency samples")
    parser.add_argument("--size", action="store_true", help="measure the installed size too")
    return parser.parse_args()


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)
