"""No tokens thrown away, and no 500 from a database error (issue 9, item 4). The database fails
through Django's own hook (``connection.execute_wrapper``) for the queries named: a token write after
a successful refresh, the token read, the row lock, the session read, the sign-in's records."""
from __future__ import annotations

import contextlib
import logging

import pytest
from django.db import OperationalError, connection

from .budget_support import ADELE, graph_auth, graph_calls, refreshes, signed_in, stored_access_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.budget_support")]


@contextlib.contextmanager
def failing(table: str, *, writes: bool = False, locked: bool = False, times: int | None = None,
            error: str = "server closed the connection unexpectedly"):
    """Make queries on ``table`` fail with ``error`` (``writes``: INSERT/UPDATE only; ``locked``: only
    in a transaction opened meanwhile, i.e. under the row lock), ``times`` times (None: all); yield
    the failed queries."""
    failed, depth = [], len(connection.savepoint_ids)     # the test's own transaction is outside

    def fail(execute, sql, params, many, context):
        hit = (table in sql and (not writes or sql.lstrip().upper().startswith(("INSERT", "UPDATE")))
               and (not locked or len(connection.savepoint_ids) > depth))
        if hit and (times is None or len(failed) < times):
            failed.append(sql)
            raise OperationalError(error)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield failed


# -- a refresh whose write fails ---------------------------------------------------------------------
def test_fresh_tokens_that_could_not_be_saved_still_serve_the_request(entra_sign_in, entra_emulator, caplog):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    held = stored_access_token()
    with failing("graph_auth_tokencache", writes=True, times=1) as failed, caplog.at_level(logging.ERROR):
        assert adele.get("/t/me").json() == {"name": "Adele Vance"}
    assert len(failed) == 1 and len(refreshes(entra_emulator)) == 1
    [call] = graph_calls(entra_emulator)
    assert call.headers["authorization"] != f"Bearer {held}"         # the fresh token, not the old one
    assert stored_access_token() == held                              # nothing was saved ...
    assert "saving the tokens failed (OperationalError)" in caplog.text
    assert adele.get("/t/me").status_code == 200                      # ... so the next request refreshes
    assert [r.status for r in refreshes(entra_emulator)] == [200, 200]    # with the same, used, refresh token
    assert refreshes(entra_emulator)[0].form["refresh_token"] == refreshes(entra_emulator)[1].form["refresh_token"]
    assert stored_access_token() != held


@pytest.mark.parametrize("left_s", [240, 10], ids=["still-valid", "no-valid-token"])
def test_fresh_tokens_whose_write_found_the_database_locked_still_serve_the_request(
        entra_sign_in, entra_emulator, caplog, left_s):
    """SQLite's "database is locked" at the write (or COMMIT) ends the lock wait's budget
    (BudgetExceeded): after a successful refresh that is a failed write too, not a failed refresh."""
    adele = signed_in(entra_sign_in, entra_emulator, left_s=left_s)
    held = stored_access_token()
    with failing("graph_auth_tokencache", writes=True, times=1, error="database is locked") as failed, \
            caplog.at_level(logging.ERROR):
        assert adele.get("/t/me").json() == {"name": "Adele Vance"}
    assert len(failed) == 1 and [r.status for r in refreshes(entra_emulator)] == [200]
    [call] = graph_calls(entra_emulator)
    assert call.headers["authorization"] != f"Bearer {held}"         # the fresh token, not the old one
    assert stored_access_token() == held
    assert "token refresh succeeded but saving the tokens failed" in caplog.text
    assert adele.get("/t/me").status_code == 200                      # the next request refreshes again
    assert len(refreshes(entra_emulator)) == 2 and stored_access_token() != held


def test_a_refresh_in_the_view_whose_write_fails_serves_the_view(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    entra_emulator.fail_next("graph:/v1.0/me", 401)                  # Graph rejects the token: refresh
    with failing("graph_auth_tokencache", writes=True):
        assert adele.get("/t/me").status_code == 200
    assert len(refreshes(entra_emulator)) == 1
    assert [r.status for r in graph_calls(entra_emulator)] == [401, 200]


def test_a_database_error_checking_the_refreshed_identity_uses_no_unchecked_token(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    held = stored_access_token()
    with failing("graph_auth_microsoftaccount"):
        assert adele.get("/t/me").status_code == 200                   # the valid token held serves
    assert {r.headers["authorization"] for r in graph_calls(entra_emulator)} == {f"Bearer {held}"}


# -- database errors are 503s ------------------------------------------------------------------------
def test_a_database_error_reading_the_tokens_is_a_503(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    with failing("graph_auth_tokencache"):
        response = adele.get("/t/me")
        assert adele.get("/t/plain").status_code == 200               # pages without Graph: unaffected
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"] == "storage_unavailable"


def test_a_database_error_locking_the_row_serves_the_valid_token_held(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=240)
    with failing("graph_auth_tokencache", locked=True):
        assert adele.get("/t/me").status_code == 200
    assert refreshes(entra_emulator) == []


def test_a_database_error_locking_the_row_without_a_valid_token_is_a_503(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator, left_s=10)
    with failing("graph_auth_tokencache", locked=True):
        response = adele.get("/t/me")
    assert response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert refreshes(entra_emulator) == []


def test_a_database_error_in_the_middlewares_own_work_is_a_503(entra_sign_in, entra_emulator):
    adele = signed_in(entra_sign_in, entra_emulator)
    with failing("django_session"):
        response = adele.get("/t/plain")
        html = adele.get("/t/plain", headers={"accept": "text/html"})
    assert response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert html.status_code == 503 and "database" in html.content.decode()
    with failing("django_session"), graph_auth(HANDLE_ERRORS=False), pytest.raises(OperationalError):
        adele.get("/t/plain")                                           # the site's to handle


def test_a_database_error_loading_the_signed_in_user_in_the_view_is_a_503(entra_sign_in, entra_emulator):
    """``request.user`` is first read by the view (``login_required``, the template): graph_auth's
    backend loads it, and its database error is answered like the middleware's own."""
    adele = signed_in(entra_sign_in, entra_emulator)
    with failing("auth_user") as failed:
        response = adele.get("/t/plain")
    assert failed and response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert adele.get("/t/plain").status_code == 200                  # still signed in


def test_a_database_error_during_sign_in_is_a_503(client, entra_sign_in, entra_emulator):
    with failing("graph_auth_microsoftaccount"):
        response = entra_sign_in(client, ADELE)
    assert response.status_code == 503 and "database" in response.content.decode()
