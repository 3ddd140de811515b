"""The bench's database: bench/settings.py's, created when missing, migrated and emptied."""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached or the database not made."""


def setup(database_url: str) -> str:
    """Point this process at ``database_url`` (PostgreSQL: the HTTP rows and the herd need row
    locks and a server several processes share), set Django up, make the database fresh; return
    the engine's short name."""
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise DatabaseUnavailable(f"bench/run.py needs a PostgreSQL URL, not {database_url.split(':')[0]}:...")
    os.environ["BENCH_DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    db = settings.DATABASES["default"]
    _create_postgres(db)
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    return db["ENGINE"].rsplit(".", 1)[-1]


def _create_postgres(db: dict) -> None:
    import psycopg
    try:
        with psycopg.connect(host=db["HOST"], port=db["PORT"] or None, user=db["USER"],
                             password=db.get("PASSWORD") or None, dbname="postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
                conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"PostgreSQL at {db['HOST']}:{db['PORT']}: {exc}") from exc
