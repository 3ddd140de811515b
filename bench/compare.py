"""bench/run.py's side-by-side with the official Microsoft Graph SDK (msgraph-sdk + azure-identity):
both stacks, each in a fresh process of its own venv, against the same emulator served over HTTP,
in interleaved rounds (bench/probe.py says what each probe measures)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.stats import Row, Spread, ratios, round_order

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PYTHON = os.path.join(HERE, ".venv-compare", "bin", "python")
DB = "postgresql (graph_auth's token row)"


def find_python(given: str | None) -> tuple[str | None, str]:
    """The SDK venv's interpreter, or None and why the comparison is skipped."""
    python = given or DEFAULT_PYTHON
    if not os.path.exists(python):
        return None, (f"no SDK venv ({python} is missing; see bench/requirements-compare.txt)" if not given
                      else f"--compare-python {python} does not exist")
    check = subprocess.run([python, "-c", "import msgraph, azure.identity, msgraph_core.requests.batch_request_item"],
                           capture_output=True, text=True)
    if check.returncode:
        return None, f"{python} cannot import the SDK ({(check.stderr.strip().splitlines() or ['?'])[-1]})"
    return python, ""


def _probe(command: list[str], env: dict) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    if done.returncode:
        raise RuntimeError(f"{os.path.basename(command[1])} failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(emulator_url: str, database_url: str, python: str, rounds: int, calls: int) -> list[Row]:
    from graph_auth.models import AppTokenCache
    results: dict = {"ours": [], "sdk": []}
    for index in range(rounds):
        for stack in round_order(["ours", "sdk"], index):
            size = ["--size"] if index == 0 else []
            if stack == "ours":
                AppTokenCache.objects.all().delete()      # a cold start, as the SDK's: no stored token
                command = [sys.executable, os.path.join(HERE, "probe_ours.py")]
            else:
                command = [python, os.path.join(HERE, "probe_sdk.py")]
            results[stack].append(_probe([*command, "--emulator", emulator_url, "--calls", str(calls), *size],
                                         {"BENCH_DATABASE_URL": database_url}))
    return rows(results["ours"], results["sdk"])


def _spread(results: list, *keys) -> Spread:
    values = []
    for r in results:
        for k in keys:
            r = r[k]
        values.append(r)
    return Spread(values)


def _ms(spread: Spread) -> Spread:
    return Spread([v * 1e3 for v in spread.values])


def rows(ours: list, sdk: list) -> list[Row]:
    name = "vs msgraph-sdk (fresh processes)"
    out = []
    spans = {}
    for span in ("import", "build", "first_call"):
        spans[span] = (_ms(_spread(ours, "spans", span)), _ms(_spread(sdk, "spans", span)))
    spans["total"] = (Spread([sum(r["spans"].values()) * 1e3 for r in ours]),
                      Spread([sum(r["spans"].values()) * 1e3 for r in sdk]))
    labels = {"import": ("import (graph_auth: with django.setup())", None),
              "build": ("client build (graph_auth: includes importing its emulator transport)", None),
              "first_call": ("first call: token grant + 1 GET, fresh process", 20),
              "total": ("fresh process to first answer (import + build + first call)", None)}
    for span, (label, target) in labels.items():
        mine, theirs = spans[span]
        faster = ratios(theirs, mine)
        out.append(Row(name, label + ", ms", mine.fmt(0 if span != "first_call" else 1), f"SDK {theirs.fmt(0)}",
                       f"{faster.fmt(1)} x faster", f"≥ {target} x faster" if target else "-", DB,
                       faster.median >= target if target else None,
                       {"ours_ms": mine.as_json(), "sdk_ms": theirs.as_json(), "ratio": faster.as_json()}))
    out += _per_call_rows(name, ours, sdk, "per_call", "sync get")
    out += _per_call_rows(name, ours, sdk, "async_per_call", "async aget")
    rss_ours, rss_sdk = _spread(ours, "peak_rss_mb"), _spread(sdk, "peak_rss_mb")
    out.append(Row(name, "peak RSS of the probe process, MB", rss_ours.fmt(1), f"SDK {rss_sdk.fmt(1)}",
                   f"{ratios(rss_sdk, rss_ours).fmt(2)} x less", "-", DB, None,
                   {"ours": rss_ours.as_json(), "sdk": rss_sdk.as_json()}))
    size_ours, size_sdk = ours[0]["installed"], sdk[0]["installed"]
    share, source_share = (size_ours["bytes"] / size_sdk["bytes"], size_ours["source_bytes"] / size_sdk["source_bytes"])
    out.append(Row(name, "installed size of the stack's distributions, MB: as pip installs them (with "
                   "bytecode); without bytecode",
                   f"{size_ours['bytes'] / 1e6:.1f}; {size_ours['source_bytes'] / 1e6:.1f} "
                   f"({len(size_ours['distributions'])} dists)",
                   f"SDK {size_sdk['bytes'] / 1e6:.1f}; {size_sdk['source_bytes'] / 1e6:.1f} "
                   f"({len(size_sdk['distributions'])} dists)",
                   f"1/{1 / share:.1f}; without bytecode 1/{1 / source_share:.1f}", "≤ 1/5 (as installed)", "-",
                   share <= 0.2, {"ours": size_ours, "sdk": size_sdk}))
    out.append(Row(name, "whole site-packages of each venv, MB (graph_auth's: its dev and test tools too)",
                   f"{size_ours['site_packages_bytes'] / 1e6:.0f}", f"SDK {size_sdk['site_packages_bytes'] / 1e6:.0f}",
                   "-", "-", "-", None))
    trips_ours, trips_sdk = _spread(ours, "batch", "round_trips"), _spread(sdk, "batch", "round_trips")
    ok_ours, ok_sdk = _spread(ours, "batch", "ok"), _spread(sdk, "batch", "ok")
    out.append(Row(name, "round trips for 100 GETs via $batch (answers 200)",
                   f"{trips_ours.fmt(0)} ({ok_ours.fmt(0)} ok)", f"SDK {trips_sdk.fmt(0)} ({ok_sdk.fmt(0)} ok)",
                   "-", "5 (chunks of 20)", "-", trips_ours.high == 5 and ok_ours.low == 100,
                   {"ours": trips_ours.as_json(), "sdk": trips_sdk.as_json()}))
    return out


def _per_call_rows(name: str, ours: list, sdk: list, key: str, label: str) -> list[Row]:
    latency_ours, latency_sdk = _spread(ours, key, "client_ms"), _spread(sdk, "per_call", "client_ms")
    floor_ours, floor_sdk = _spread(ours, key, "floor_ms"), _spread(sdk, "per_call", "floor_ms")
    wall_ours, wall_sdk = _spread(ours, key, "overhead_ms"), _spread(sdk, "per_call", "overhead_ms")
    cpu_ours, cpu_sdk = _spread(ours, key, "overhead_cpu_ms"), _spread(sdk, "per_call", "overhead_cpu_ms")
    cpu_ratio = ratios(cpu_sdk, cpu_ours)
    # Wall overhead is latency minus the floor's, two medians apart: at or below 0 it is within
    # the noise, which can't be divided by; such a round counts as met.
    wall_met = wall_sdk.median >= 10 * max(wall_ours.median, 0)
    wall_ratio = f"{wall_sdk.median / wall_ours.median:.0f} x" if wall_ours.median > 0 else "ours ≤ 0 (noise)"
    return [
        Row(name, f"per-call latency, ms ({label}; SDK async; floor: the bare GET)",
            f"{latency_ours.fmt(2)} (floor {floor_ours.fmt(2)})",
            f"SDK {latency_sdk.fmt(2)} (floor {floor_sdk.fmt(2)})",
            f"{ratios(latency_sdk, latency_ours).fmt(1)} x faster", "-", DB, None,
            {"ours": latency_ours.as_json(), "sdk": latency_sdk.as_json()}),
        Row(name, f"per-call client overhead above the floor, ms ({label}): CPU; wall",
            f"CPU {cpu_ours.fmt(3)}; wall {wall_ours.fmt(3)}", f"SDK CPU {cpu_sdk.fmt(2)}; wall {wall_sdk.fmt(2)}",
            f"CPU {cpu_ratio.fmt(0)} x; wall {wall_ratio}", "≥ 10 x lower", DB,
            cpu_ratio.median >= 10 and wall_met,
            {"cpu_ours": cpu_ours.as_json(), "cpu_sdk": cpu_sdk.as_json(), "wall_ours": wall_ours.as_json(),
             "wall_sdk": wall_sdk.as_json(), "cpu_ratio": cpu_ratio.as_json()}),
    ]
