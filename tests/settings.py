"""Settings for graph_auth's own test suite: the demo site's, on the emulator, with a test database."""
import environ

from demo_site.settings import *  # noqa: F403  (the suite also tests the demo site)

env = environ.Env()

SECRET_KEY = "graph-auth-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]   # local: the emulator is on
# SQLite in memory by default; CI runs the suite again with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]   # fast test users

GRAPH_AUTH = {"EMULATOR": True, "SCOPES": ["User.Read", "Mail.Read", "User.ReadBasic.All"],
              "API_ALLOW_ANY_TENANT": True}           # as the demo: its API serves every tenant
SILENCED_SYSTEM_CHECKS = ["graph_auth.W011"]
