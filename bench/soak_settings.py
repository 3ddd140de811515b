"""Settings of the site under soak (bench/soak.py starts it under gunicorn): the test settings on
PostgreSQL and Redis, graph_auth on the soak's emulator served over HTTP."""
import os

from tests.settings import *  # noqa: F403
from tests.settings import GRAPH_AUTH, MIDDLEWARE

DEBUG = False
ROOT_URLCONF = "bench.soak_site"
LOGIN_REDIRECT_URL = "/page/"           # the demo's is a URL name this site does not have
MIDDLEWARE = ["bench.soak_site.stamp", *MIDDLEWARE]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": os.environ.get("SOAK_DB", "graph_auth_soak"),
    "HOST": os.environ.get("SOAK_DB_HOST", "127.0.0.1"), "PORT": os.environ.get("SOAK_DB_PORT", "5432"),
    "USER": os.environ.get("SOAK_DB_USER", "postgres"),
    # Persistent connections checked before reuse, as a production site runs; the name lets the
    # db-connections-killed fault find the site's connections.
    "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True,
    "OPTIONS": {"application_name": "graph_auth_soak_site"},
}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": os.environ.get("SOAK_REDIS", "redis://127.0.0.1:6379/9")}}
# Settings are read in each gunicorn worker after the fork: the pid in the emulator's URL tells the
# emulator which worker sends each request (the worker-killed-mid-refresh fault kills that one).
GRAPH_AUTH = {
    **GRAPH_AUTH,
    "EMULATOR_URL": f"{os.environ.get('SOAK_EMULATOR_URL', 'http://127.0.0.1:8400')}/_pid/{os.getpid()}",
    "REFRESH_MARGIN": int(os.environ.get("SOAK_REFRESH_MARGIN", "300")),
}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"stderr": {"class": "logging.StreamHandler"}},
           "root": {"level": "ERROR", "handlers": ["stderr"]}}
