"""Settings of bench/run.py and of the gunicorn servers it starts (read from the environment, so the
servers share them): the test settings on the bench's PostgreSQL database with persistent
connections, the bench URLs.

    BENCH_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/graph_auth_bench
    BENCH_EMULATOR_URL   an emulator served over HTTP (unset: the in-process emulator)
    BENCH_BASELINE=1     the same stack without GraphAuthMiddleware (plain Django session auth)
"""
import os

import environ

from tests.settings import *  # noqa: F403
from tests.settings import GRAPH_AUTH, MIDDLEWARE

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/graph_auth_bench"

ROOT_URLCONF = "bench.urls"
DEBUG = False
# Persistent connections checked before reuse, as a production site runs: a new connection per
# request would cost both sides alike and pull every ratio towards 1.
DATABASES = {"default": {**environ.Env.db_url_config(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)),
                         "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}}
GRAPH_AUTH = {**GRAPH_AUTH, "EMULATOR_URL": os.environ.get("BENCH_EMULATOR_URL") or None}
BASELINE_MIDDLEWARE = [m for m in MIDDLEWARE if "graph_auth" not in m]
if os.environ.get("BENCH_BASELINE") == "1":
    MIDDLEWARE = BASELINE_MIDDLEWARE
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"stderr": {"class": "logging.StreamHandler"}},
           "root": {"level": "ERROR", "handlers": ["stderr"]}}
