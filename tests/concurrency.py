"""Helpers for tests that run several threads against the database at once.

Threads get their own database connections. The default test database, SQLite ``:memory:``, is a
shared-cache in-memory database, and shared-cache locks never wait: a second writer fails at once
with "database table is locked" (the busy timeout does not apply), so the row lock graph_auth
relies on cannot be tested there. ``threaded_db`` therefore copies the in-memory test database to
a file for the test, where SQLite's real locking applies (``transaction_mode`` IMMEDIATE and
``timeout`` from the settings, as in production). On PostgreSQL it is the normal test database.
"""
from __future__ import annotations

import sqlite3
import threading

import pytest
from django.db import connection, connections


@pytest.fixture
def threaded_db(transactional_db, tmp_path):
    """A database that threads can share with real locks (see the module docstring)."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    memory = connections["default"]
    memory.ensure_connection()
    path = tmp_path / "threads.sqlite3"
    target = sqlite3.connect(path)
    memory.connection.backup(target)            # schema and fixture rows (content types ...)
    target.close()
    original = connections.settings["default"]
    # New wrappers (this thread's next one and every other thread's) read the file; the in-memory
    # wrapper is kept aside, open: closing the last connection would destroy that database.
    connections.settings["default"] = {**original, "NAME": str(path)}
    del connections["default"]
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = original
        connections["default"] = memory


def run_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads started together; return their results (an
    exception a thread raised is returned in its place). Each thread closes its connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:     # noqa: BLE001 — reported to the test, which asserts on it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results
