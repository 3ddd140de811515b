"""Waiting for another request's refresh lock ends with the time budget (issue 9, item 2): on
PostgreSQL through ``lock_timeout``, on SQLite through the transaction's busy timeout. A request
whose budget runs out waiting uses the access token it holds if it is still valid, else answers 503.
Another thread holds the row lock; the waits are the budget's (a few hundred ms)."""
from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from graph_auth import budget
from graph_auth.exceptions import BudgetExceeded
from graph_auth.token_store import TokenStore
from graph_auth.user_tokens import UserTokens

from .budget_support import graph_auth, refreshes, signed_in, stored_access_token
from .concurrency import threaded_db

pytestmark = pytest.mark.urls("tests.budget_support")


class LockHolder:
    """Another request holding ``user``'s token row (as while it refreshes), until ``release``."""

    def __init__(self, user) -> None:
        self.user, self.held, self.done = user, threading.Event(), threading.Event()
        self.released = threading.Event()         # set once the lock is let go
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        try:
            with TokenStore(self.user).locked():
                self.held.set()
                self.done.wait(30)
        finally:
            self.released.set()
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(30)


def busy_timeout() -> int | None:
    """SQLite's busy timeout of this thread's connection (ms); None on other databases."""
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    return connection.connection.execute("PRAGMA busy_timeout").fetchone()[0]


def test_a_lock_wait_past_the_budget_serves_the_valid_token_held(threaded_db, entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator, left_s=240)          # due for refresh, still valid
    user = get_user_model().objects.get()
    configured = busy_timeout()
    with LockHolder(user) as holder, budget.deadline(0.2):
        token = UserTokens.for_user(user).get_token()
        assert not holder.released.is_set()          # served while the other request holds the lock
    assert token == stored_access_token()
    assert refreshes(entra_emulator) == [] and busy_timeout() == configured


def test_a_lock_wait_past_the_budget_without_a_valid_token_is_a_503(threaded_db, entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    user = get_user_model().objects.get()
    with LockHolder(user) as holder, graph_auth(REQUEST_BUDGET=0.2):
        response = adele.get("/t/me")
        assert not holder.released.is_set()          # answered while the other request holds the lock
    assert response.status_code == 503 and response.json()["error"] == "budget_exceeded"
    assert refreshes(entra_emulator) == [] and entra_emulator.requests("graph") == []


def test_without_a_budget_the_lock_wait_is_the_databases_own(threaded_db, entra_sign_in, entra_emulator):
    """Outside any deadline the lock is waited for as before (here: until the holder is done)."""
    signed_in(entra_sign_in, entra_emulator, left_s=10)
    user = get_user_model().objects.get()
    holder = LockHolder(user).__enter__()
    threading.Timer(0.3, holder.done.set).start()        # the other request finishes
    try:
        with budget.deadline(None):
            assert UserTokens.for_user(user).refresh()
    finally:
        holder.__exit__()
    assert len(refreshes(entra_emulator)) == 1


def test_the_lock_timeout_does_not_outlive_the_block(threaded_db, entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator)
    user = get_user_model().objects.get()
    configured = busy_timeout()
    with transaction.atomic():                   # a caller's transaction (ATOMIC_REQUESTS)
        before = _lock_timeout()
        with budget.deadline(0.5), TokenStore(user).locked():
            pass
        assert _lock_timeout() == before
    with budget.deadline(0.5), TokenStore(user).locked():
        pass
    assert busy_timeout() == configured and _lock_timeout() == before


def _lock_timeout() -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def test_no_lock_is_waited_for_once_the_budget_is_spent(threaded_db, entra_sign_in, entra_emulator):
    signed_in(entra_sign_in, entra_emulator)
    user = get_user_model().objects.get()
    with budget.deadline(-1), pytest.raises(BudgetExceeded):
        with TokenStore(user).locked():
            pytest.fail("the block ran past the deadline")
