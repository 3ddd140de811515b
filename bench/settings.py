"""Settings for the benchmarks: the test settings, a real database file, the bench URLs."""
import os
import tempfile

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, GRAPH_AUTH, MIDDLEWARE

ROOT_URLCONF = "bench.urls"
DEBUG = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = os.environ.get(
        "BENCH_SQLITE", os.path.join(tempfile.gettempdir(), "graph_auth_bench.sqlite3"))
GRAPH_AUTH = {**GRAPH_AUTH, "EMULATOR_URL": os.environ.get("BENCH_EMULATOR_URL") or None}
BASELINE_MIDDLEWARE = [m for m in MIDDLEWARE if "graph_auth" not in m]
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"level": "ERROR", "handlers": []}}
