"""JSON ``$batch`` without I/O: chunks of 20 that keep ``dependsOn`` groups together, and throttled
sub-requests sent again. ``batch()`` is a protocol generator (see ``protocol``) that the sync and
async clients drive alike."""
from __future__ import annotations

import logging

from .. import budget
from .protocol import RETRY_STATUSES, Sleep, call, retry_after

logger = logging.getLogger(__name__)

BATCH_LIMIT = 20


def batch(client, requests: list[dict]):
    """Run requests through ``$batch`` and return the responses in input order (see
    ``GraphClient.batch``)."""
    items = batch_items(requests)
    results: dict[str, dict] = {}
    for chunk in chunks(items):
        yield from _run_chunk(client, chunk, results)
    return [results[item["id"]] for item in items]


def _run_chunk(client, chunk: list[dict], results: dict):
    pending, attempt = chunk, 0
    while pending:
        answer = yield from call(client, "POST", "/$batch", json={"requests": pending})
        for response in (answer or {}).get("responses", []):
            results[str(response.get("id"))] = response
        throttled = {item["id"].lower() for item in pending
                     if results.get(item["id"], {}).get("status") in RETRY_STATUSES}
        if not throttled:
            return
        wait = max(retry_after(results[item["id"]].get("headers") or {}, attempt)
                   for item in pending if item["id"].lower() in throttled)
        if attempt >= client.max_retries or wait > client.max_retry_after or not budget.fits(wait):
            return
        resend = _with_failed_dependents(pending, throttled, results)
        logger.info("%d of %d batched requests throttled; retrying in %.1fs",
                    len(throttled), len(pending), wait)
        yield Sleep(wait)
        attempt += 1
        pending = [_without_done_deps(item, resend) for item in chunk
                   if item["id"].lower() in resend]


def _without_done_deps(item: dict, resend: set) -> dict:
    """A re-sent request depends only on requests re-sent with it (the others succeeded)."""
    deps = [d for d in item.get("dependsOn") or [] if d.lower() in resend]
    item = {k: v for k, v in item.items() if k != "dependsOn"}
    return {**item, "dependsOn": deps} if deps else item


def batch_items(requests: list[dict]) -> list[dict]:
    """Copy the requests with string ids (assigned where missing) and JSON bodies' Content-Type."""
    taken = {str(r["id"]).lower() for r in requests if r.get("id") is not None}
    items, seen, counter = [], set(), 0
    for request in requests:
        item = dict(request)
        if item.get("id") is None:
            counter += 1
            while str(counter) in taken:
                counter += 1
            item["id"] = str(counter)
        item["id"] = str(item["id"])
        if item["id"].lower() in seen:
            raise ValueError(f"duplicate $batch request id {item['id']!r}")
        seen.add(item["id"].lower())
        if "dependsOn" in item:
            item["dependsOn"] = [str(d) for d in item["dependsOn"] or []]
        if "body" in item:
            headers = dict(item.get("headers") or {})
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
            item["headers"] = headers
        items.append(item)
    return items


def chunks(items: list[dict]) -> list[list[dict]]:
    """Split into chunks of at most BATCH_LIMIT, keeping each dependsOn-linked group together."""
    parent = {item["id"].lower(): item["id"].lower() for item in items}

    def root(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep.lower() in parent:       # an unknown id: Graph answers 400, as it should
                parent[root(item["id"].lower())] = root(dep.lower())
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(root(item["id"].lower()), []).append(item)
    result: list[list[dict]] = []
    current: list[dict] = []
    for group in groups.values():
        if len(group) > BATCH_LIMIT:
            raise ValueError(f"{len(group)} $batch requests are linked by dependsOn; Graph takes "
                             f"at most {BATCH_LIMIT} in one batch")
        if len(current) + len(group) > BATCH_LIMIT:
            result.append(current)
            current = []
        current.extend(group)
    if current:
        result.append(current)
    return result


def _with_failed_dependents(pending: list[dict], throttled: set, results: dict) -> set:
    """The throttled ids plus those of requests that failed (424) because one of them did."""
    resend = set(throttled)
    grew = True
    while grew:
        grew = False
        for item in pending:
            key = item["id"].lower()
            if (key not in resend and results.get(item["id"], {}).get("status") == 424
                    and any(d.lower() in resend for d in item.get("dependsOn") or [])):
                resend.add(key)
                grew = True
    return resend
