"""Settings of the graph_auth demo site, read from the environment (and an optional .env file).

With no GRAPH_AUTH_CLIENT_ID the demo runs on graph_auth's emulator: no Azure account needed.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-graph-auth-demo-only" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

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
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "graph_auth.middleware.GraphAuthMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demo_site.urls"
AUTHENTICATION_BACKENDS = ["graph_auth.backends.GraphAuthBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "graph_auth:login"
LOGIN_REDIRECT_URL = "profile"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "demo_site.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take SQLite's write lock at BEGIN, so concurrent token refreshes queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Microsoft Entra ID: the three values of your app registration. Leave them unset to use the emulator.
CLIENT_ID = env("GRAPH_AUTH_CLIENT_ID", default=None)
GRAPH_AUTH = {
    "CLIENT_ID": CLIENT_ID,
    "CLIENT_SECRET": env("GRAPH_AUTH_CLIENT_SECRET", default=None),
    "TENANT_ID": env("GRAPH_AUTH_TENANT_ID", default="organizations"),
    "SCOPES": ["User.Read", "Mail.Read", "User.ReadBasic.All"],
    "STAFF_ROLES": ["Admin"],                 # the app role "Admin" makes a user staff here
    # The demo's API (/api/me) serves users of every tenant; a real multi-tenant API names its
    # tenants in ALLOWED_TENANTS instead.
    "API_ALLOW_ANY_TENANT": True,
    "BASE_TEMPLATE": "demo/base.html",       # graph_auth's pages (sign-out, failures) in the demo's look
    "EMULATOR_URL": env("GRAPH_AUTH_EMULATOR_URL", default=None),   # see manage.py graph_auth_device_login
    # The emulator (signs tokens for anyone): turned on explicitly, only when no app is registered.
    "EMULATOR": not CLIENT_ID,
}
SPA_CLIENT_ID = env("GRAPH_AUTH_SPA_CLIENT_ID", default=None)    # the single-page app's registration
SILENCED_SYSTEM_CHECKS = ["graph_auth.W010"]      # the demo says so on its home page instead
