"""Settings of the comparison's graph_auth probe (bench/probe_ours.py): the smallest Django project
using graph_auth's app-only client, on the bench's database and the emulator served over HTTP (both
named by bench/run.py in the environment)."""
import os

import environ

SECRET_KEY = "graph-auth-bench-probe"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "graph_auth"]
DATABASES = {"default": {**environ.Env.db_url_config(os.environ["BENCH_DATABASE_URL"]),
                         "CONN_MAX_AGE": 60}}
GRAPH_AUTH = {"EMULATOR": True, "EMULATOR_URL": os.environ.get("BENCH_EMULATOR_URL"),
              "TENANT_ID": "contoso.onmicrosoft.com"}
