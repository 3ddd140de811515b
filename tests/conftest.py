"""Shared fixtures. The emulator fixtures (entra_emulator, ...) come from graph_auth's pytest plugin."""
from __future__ import annotations

import os

import pytest
from django.conf import settings


def _database_problem() -> str | None:
    """Return why the configured PostgreSQL server can't be reached, or None."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return None
    try:
        import psycopg
        psycopg.connect(host=db.get("HOST") or None, port=db.get("PORT") or None,
                        user=db.get("USER") or None, password=db.get("PASSWORD") or None,
                        dbname="postgres", connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 — any failure to connect: report it
        return f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is unreachable: {exc}"
    return None


def pytest_collection_modifyitems(config, items):
    problem = _database_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.exit(f"CI=true and {problem}", returncode=1)
    skip = pytest.mark.skip(reason=problem)
    for item in items:
        item.add_marker(skip)
