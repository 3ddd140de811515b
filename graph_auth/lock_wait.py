"""Transactions whose lock waits end with the time budget: a request waiting for another one's
refresh lock gives up when its budget is spent (``BudgetExceeded``: the caller then uses the
access token it holds, if still valid, or answers 503), instead of holding its worker.

- **PostgreSQL**: ``lock_timeout`` is set for the transaction (``set_config(..., true)``, i.e. ``SET
  LOCAL``) to what is left of the budget, before ``SELECT ... FOR UPDATE``. Inside a caller's
  transaction (``ATOMIC_REQUESTS``) the previous value is put back when the block succeeds; when it
  fails, rolling back to the block's savepoint undoes the setting.
- **SQLite** waits for its write lock when the transaction begins (``transaction_mode``
  ``IMMEDIATE``) or at its first write, up to the connection's busy timeout (``OPTIONS["timeout"]``).
  That timeout is a per-connection setting that ``PRAGMA busy_timeout`` changes at any time: it is
  set to what is left of the budget before ``BEGIN`` and put back when the transaction ends, so
  every wait of that transaction, and only of it, is bounded. Inside a caller's transaction the
  lock is already held: nothing waits, nothing changes.

Other databases keep their own lock waits.
"""
from __future__ import annotations

import contextlib
import math

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction

from . import budget
from .exceptions import BudgetExceeded

LOCK_NOT_AVAILABLE = "55P03"            # PostgreSQL's SQLSTATE for a lock_timeout


@contextlib.contextmanager
def atomic(using: str | None = None):
    """``transaction.atomic()`` whose lock waits end with the time budget (see the module docstring)."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    left = budget.remaining()
    if left is None or connection.vendor not in ("postgresql", "sqlite"):
        with transaction.atomic(using=using):
            yield
        return
    if left <= 0:
        raise BudgetExceeded("waiting for the token cache's lock: the time budget ran out")
    milliseconds = max(1, math.ceil(left * 1000))
    try:
        if connection.vendor == "postgresql":
            with _postgresql(connection, using, milliseconds):
                yield
        else:
            with _sqlite(connection, using, milliseconds):
                yield
    except OperationalError as exc:
        if _lock_timeout(connection, exc):
            raise BudgetExceeded(f"waited {milliseconds} ms for the token cache's lock (another request "
                                 "is refreshing): the time budget ran out") from exc
        raise


@contextlib.contextmanager
def _postgresql(connection, using, milliseconds: int):
    nested = connection.in_atomic_block
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if nested:             # else the setting ends with the transaction
                cursor.execute("SELECT current_setting('lock_timeout')")
                previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])
        yield
        if nested:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


@contextlib.contextmanager
def _sqlite(connection, using, milliseconds: int):
    if connection.in_atomic_block:      # the caller's transaction holds the lock (or will wait itself)
        with transaction.atomic(using=using):
            yield
        return
    connection.ensure_connection()
    previous = connection.connection.execute("PRAGMA busy_timeout").fetchone()[0]
    connection.connection.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    try:
        with transaction.atomic(using=using):
            yield
    finally:
        if connection.connection is not None:       # not closed by a failed rollback
            connection.connection.execute(f"PRAGMA busy_timeout = {int(previous)}")


def _lock_timeout(connection, exc: OperationalError) -> bool:
    if connection.vendor == "postgresql":
        return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE
    return "database is locked" in str(exc)
