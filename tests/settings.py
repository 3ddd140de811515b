"""Settings for graph_auth's own test suite (pytest-django)."""
import environ

env = environ.Env()

SECRET_KEY = "graph-auth-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "graph_auth",
    "demo_site",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "graph_auth.middleware.GraphAuthMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "demo_site.urls"
AUTHENTICATION_BACKENDS = ["graph_auth.backends.GraphAuthBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "graph_auth:login"
LOGIN_REDIRECT_URL = "profile"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
# SQLite by default; CI runs the suite again with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]   # fast test users

GRAPH_AUTH = {"EMULATOR": True, "SCOPES": ["User.Read", "Mail.Read", "User.ReadBasic.All"]}
SILENCED_SYSTEM_CHECKS = ["graph_auth.W011"]
