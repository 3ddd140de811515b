"""Turn one soak run's raw observations into its numbers, its targets (issue 9) and its invariants,
and print runs side by side."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.soak_browser import Result, User
from bench.soak_faults import TOKEN_SAFE


@dataclass
class Run:
    """What one run observed (times are epoch seconds)."""
    fault: str
    what: str
    users: list[User]
    rate: float
    duration: float
    t0: float                         # the measured phase starts
    fault_start: float
    fault_end: float
    results: list[Result]
    skipped: int
    left_in_flight: int
    refresh_grants: list              # [time, HTTP status] of every refresh grant the emulator answered
    refresh_checks: dict              # user index -> outcome of the forced refresh at the end
    duplicate_users: int
    emulator_errors: list
    sign_in_errors: list              # of the sign-in phase
    notes: dict = field(default_factory=dict)
    slow: float = 2.0                 # a page slower than this is not "recovered"
    budget: float = 5.0               # the longest a request may hold a worker


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "n": len(ordered)}


def is_bad(r: Result, slow: float) -> bool:
    """Not what a working site answers: an error, a 4xx/5xx, a sign-out nobody asked for, or slow."""
    failed = r.status is None or r.status >= 400 or (300 <= r.status < 400 and not r.signed_out)
    return failed or (r.signed_out and not r.expected_sign_out) or r.latency > slow


def lost_users(run: Run) -> dict[int, str]:
    """Users who lost their refresh token: signed out when nothing asked for it, or refused at the
    final forced refresh (unless their sessions were revoked and they have not signed in since)."""
    lost = {}
    for user in run.users:
        unexpected = [t for t, expected in user.sign_outs if not expected]
        if unexpected:
            lost[user.index] = f"signed out during the run ({len(unexpected)}x)"
    for index, outcome in run.refresh_checks.items():
        user = run.users[index]
        revoked_since = user.revoked_at is not None and (user.signed_in_at or 0) < user.revoked_at
        if outcome != "ok" and not outcome.startswith("unavailable") and not revoked_since:
            lost.setdefault(index, f"final refresh: {outcome}")
    return lost


def summarize(run: Run) -> dict:
    res, f0, f1 = run.results, run.fault_start, run.fault_end
    warm = min(5.0, run.duration / 10)
    windows = {"before": (run.t0 + warm, f0), "during": (f0, f1), "after": (f1, run.t0 + run.duration)}
    statuses = [r.status for r in res if r.status is not None]
    lost = lost_users(run)
    pages = {}
    for page in ("graph", "plain"):
        mine = [r for r in res if r.page == page]
        pages[page] = {"latency": percentiles([r.latency for r in mine]),
                       **{f"latency_{w}": percentiles([r.latency for r in mine if a <= r.sent < b])
                          for w, (a, b) in windows.items()},
                       **{f"starts_per_s_{w}": _rate([r for r in mine if r.server_start and a <= r.server_start < b],
                                                     b - a) for w, (a, b) in windows.items()}}
    starts = {w: _rate([r for r in res if r.server_start and a <= r.server_start < b], b - a)
              for w, (a, b) in windows.items()}
    after = [r for r in res if r.sent >= f1]
    bad_after = [r for r in after if is_bad(r, run.slow)]
    last_send = max((r.sent for r in res), default=f1)
    recovered = not bad_after or max(r.sent for r in bad_after) < last_send - min(5.0, run.duration / 10)
    grants = [(t, s) for t, s in run.refresh_grants if run.t0 <= t]
    out = {
        "fault": run.fault, "what": run.what, "users": len(run.users), "duration_s": run.duration,
        "target_rate": run.rate, "achieved_rate": (len(res) + run.left_in_flight) / run.duration,
        "requests": len(res) + run.left_in_flight,
        "skipped_by_generator": run.skipped, "left_in_flight": run.left_in_flight,
        "fault_window_s": [round(f0 - run.t0, 1), round(f1 - run.t0, 1)],
        "status_5xx": sum(1 for s in statuses if s >= 500), "status_500": statuses.count(500),
        "status_503": statuses.count(503),
        "status_503_without_retry_after": sum(1 for r in res if r.status == 503 and not r.retry_after),
        "other_errors": sum(1 for r in res if r.status is None or 400 <= r.status < 500
                            or (300 <= r.status < 400 and not r.signed_out)),
        "transport_errors": _count_by(r.error for r in res if r.error),
        "sign_outs": sum(1 for r in res if r.signed_out),
        "expected_sign_outs": sum(1 for r in res if r.signed_out and r.expected_sign_out),
        "sign_ins_during_run": sum(1 for u in run.users for t, _ in u.sign_ins if t >= run.t0),
        "failed_sign_ins_during_run": sum(1 for u in run.users for t, e in u.sign_ins if t >= run.t0 and e),
        "refresh_grants": len(grants), "failed_refresh_grants": sum(1 for _, s in grants if s is not None and s >= 400),
        "unanswered_refresh_grants": sum(1 for _, s in grants if s is None),   # still held by a fault
        "lost_refresh_tokens": len(lost), "lost_detail": {run.users[i].upn: why for i, why in lost.items()},
        "unchecked_refresh_tokens": sum(1 for o in run.refresh_checks.values() if o.startswith("unavailable")),
        "duplicate_users": run.duplicate_users, "pages": pages, "starts_per_s": starts,
        "max_worker_hold_s": max((r.server_time for r in res if r.server_time), default=0.0),
        "max_worker_hold_during_s": max((r.server_time for r in res if r.server_time and f0 <= r.sent < f1),
                                        default=0.0),
        "recovery_s": (max(r.done for r in bad_after) - f1 if bad_after else 0.0) if recovered else None,
        "emulator_errors": run.emulator_errors, "sign_in_errors": run.sign_in_errors[:10], "notes": run.notes,
    }
    out["targets"] = targets(run, out)
    out["invariants"] = invariants(run, out)
    return out


def _rate(items: list, seconds: float) -> float:
    return len(items) / seconds if seconds > 0 else 0.0


def _count_by(values) -> dict:
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def targets(run: Run, s: dict) -> dict:
    """Issue 9's targets: {name: met?}. Missing them is expected before its fixes land."""
    plain = s["pages"]["plain"]
    before, during = plain["starts_per_s_before"], plain["starts_per_s_during"]
    p99 = plain["latency_during"]["p99"]
    result = {"0 x 500": s["status_500"] == 0,
              "every 503 has Retry-After": s["status_503_without_retry_after"] == 0,
              "0 lost refresh tokens": s["lost_refresh_tokens"] == 0,
              "0 duplicate users": s["duplicate_users"] == 0,
              "non-Graph page >= 80 % of its rate before the fault": before > 0 and during >= 0.8 * before,
              "non-Graph page p99 <= 2 s during the fault": p99 is not None and p99 <= 2.0,
              f"no request holds a worker > {run.budget:g} s": s["max_worker_hold_s"] <= run.budget,
              "full recovery <= 5 s after the fault": s["recovery_s"] is not None and s["recovery_s"] <= 5.0}
    if run.fault == "none":
        result["0 x 5xx"] = s["status_5xx"] == 0
    return result


def invariants(run: Run, s: dict) -> dict:
    """What must hold today; a broken one (or a harness failure) makes the exit status non-zero."""
    result = {"harness: every user signed in": not run.sign_in_errors,
              "harness: achieved rate >= 80 % of target": s["achieved_rate"] >= 0.8 * run.rate,
              "harness: the emulator had no internal error": not run.emulator_errors,
              "harness: the fault injector ran": "injector_error" not in run.notes,
              "0 duplicate users": s["duplicate_users"] == 0}
    if run.fault in TOKEN_SAFE:
        result["0 lost refresh tokens (fault leaves tokens alone)"] = s["lost_refresh_tokens"] == 0
    return result


def _fmt(v, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _lat(p: dict) -> str:
    return "/".join(_fmt(p[k]) for k in ("p50", "p95", "p99"))


def rows(s: dict) -> list[tuple[str, str]]:
    g, p = s["pages"]["graph"], s["pages"]["plain"]
    pb, pd = p["starts_per_s_before"], p["starts_per_s_during"]
    ab, ad = s["starts_per_s"]["before"], s["starts_per_s"]["during"]
    pct = lambda a, b: f"{100 * b / a:.0f} %" if a else "-"       # noqa: E731
    missed = [k for k, ok in s["targets"].items() if not ok]
    return [
        ("users x seconds (fault window s)", f"{s['users']} x {s['duration_s']:g} ({s['fault_window_s'][0]:g}-"
                                             f"{s['fault_window_s'][1]:g})"),
        ("requests (achieved / target per s)", f"{s['requests']} ({s['achieved_rate']:.1f} / {s['target_rate']:g})"),
        ("5xx (of which 500)", f"{s['status_5xx']} ({s['status_500']})"),
        ("other errors", str(s["other_errors"])),
        ("sign-outs (expected)", f"{s['sign_outs']} ({s['expected_sign_outs']})"),
        ("refresh grants (failed)", f"{s['refresh_grants']} ({s['failed_refresh_grants']})"),
        ("lost refresh tokens", str(s["lost_refresh_tokens"])),
        ("duplicate users", str(s["duplicate_users"])),
        ("Graph page p50/p95/p99 s", _lat(g["latency"])),
        ("non-Graph page p50/p95/p99 s", _lat(p["latency"])),
        ("Graph page p99 s during fault", _fmt(g["latency_during"]["p99"])),
        ("non-Graph page p99 s during fault", _fmt(p["latency_during"]["p99"])),
        ("starts/s non-Graph: before > during", f"{pb:.1f} > {pd:.1f} ({pct(pb, pd)})"),
        ("starts/s all pages: before > during", f"{ab:.1f} > {ad:.1f} ({pct(ab, ad)})"),
        ("longest worker hold s", _fmt(s["max_worker_hold_s"])),
        ("recovery after fault s", "not recovered" if s["recovery_s"] is None else _fmt(s["recovery_s"], 1)),
        ("targets missed", str(len(missed))),
    ]


def table(summaries: list[dict]) -> str:
    header = ["metric", *(s["fault"] for s in summaries)]
    body = [[name, *vals] for name, *vals in
            zip(*([r[0] for r in rows(summaries[0])], *([r[1] for r in rows(s)] for s in summaries)), strict=True)]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    line = lambda row: "| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) + " |"  # noqa: E731
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body), ""]
    for s in summaries:
        out.append(f"{s['fault']}: {s['what']}")
        for name, ok in s["targets"].items():
            if not ok:
                out.append(f"  target missed: {name}")
        for name, ok in s["invariants"].items():
            if not ok:
                out.append(f"  INVARIANT BROKEN: {name}")
        if s["notes"]:
            out.append(f"  notes: {_short(s['notes'])}")
    return "\n".join(out)


def _short(notes: dict) -> str:
    shown = {k: (len(v) if isinstance(v, list) else v) for k, v in notes.items()}
    return ", ".join(f"{k}={v}" for k, v in shown.items())
