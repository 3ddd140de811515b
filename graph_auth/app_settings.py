"""``app_settings``: a typed, lazy view of ``settings.GRAPH_AUTH`` (re-read on every access)."""
from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Credentials of the app registration (with EMULATOR on instead: the emulator's demo app).
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    "CLIENT_CERTIFICATE": None,           # {"private_key": pem, "thumbprint": sha1 hex} or with public_certificate
    "TENANT_ID": "organizations",         # a tenant GUID or domain, "organizations" or "common"
    "AUTHORITY_HOST": "https://login.microsoftonline.com",
    "SCOPES": ["User.Read"],
    "GRAPH_URL": "https://graph.microsoft.com/v1.0",
    "TIMEOUT": 10,                        # seconds, the longest one call to the identity platform or Graph takes
    # One deadline per web request for all its calls to the identity platform and Graph (seconds
    # from the request's start; None: none). README "When Graph or Microsoft fails".
    "REQUEST_BUDGET": 4,
    # Outside requests (commands, background jobs) each Graph call and token acquisition gets this
    # many seconds; None: (GRAPH_MAX_RETRIES + 2) x TIMEOUT + GRAPH_MAX_RETRIES x GRAPH_MAX_RETRY_AFTER.
    "BACKGROUND_BUDGET": None,
    # Seconds one call of a refresh ahead of expiry may take while the access token is still valid
    # (TIMEOUT applies when none is left).
    "REFRESH_AHEAD_TIMEOUT": 1,
    # The circuit breaker, shared by every process through Django's cache framework: the cache
    # alias, and how long refreshes ahead of expiry pause after the identity platform failed.
    "BREAKER_CACHE": "default",
    "BREAKER_COOLDOWN": 30,
    # The emulator signs tokens for anyone: on only when EMULATOR is True and no CLIENT_ID is set
    # (demos, tests: e.g. "EMULATOR": not CLIENT_ID). Its pages answer this machine only, unless
    # EMULATOR_ALLOW_REMOTE (a shared demo host on a private network).
    "EMULATOR": False,
    "EMULATOR_ALLOW_REMOTE": False,
    "EMULATOR_DIRECTORY": None,           # dotted path to a callable returning directory data
    "EMULATOR_BROWSER_URL": None,         # where browsers reach its pages; default: its URL mount
    "EMULATOR_URL": None,                 # an emulator served over HTTP (shared by several processes)

    # Sign-in
    "REDIRECT_URI": None,                 # absolute callback URL; default: built from the request
    "RESPONSE_MODE": "query",             # or "form_post" (needs SESSION_COOKIE_SAMESITE="None")
    "LOGIN_REDIRECT_URL": None,           # default: settings.LOGIN_REDIRECT_URL
    "LOGOUT_REDIRECT_URL": None,          # default: settings.LOGOUT_REDIRECT_URL or "/"
    "LOGIN_FAILED_TEMPLATE": "graph_auth/login_failed.html",
    # The template every graph_auth page extends (blocks: title, extra_head, content): your site's
    # own base, or one mapping its blocks to those (README "Your site's look").
    "BASE_TEMPLATE": "graph_auth/standalone.html",
    # Dotted path to the adapter class: sign-up, linking, populating users, success/failure responses.
    "ADAPTER": "graph_auth.adapter.DefaultAdapter",
    "ALLOWED_TENANTS": None,              # tenant ids allowed to sign in (None: any the authority lets in)
    "ID_TOKEN_LEEWAY": 120,               # seconds of clock skew allowed for exp / nbf / iat
    "CLIENT_CAPABILITIES": ["cp1"],       # cp1: Continuous Access Evaluation (claims challenges)

    # Users
    "CREATE_USERS": True,
    "CLAIM_MAPPING": {"first_name": "given_name", "last_name": "family_name", "email": "email"},
    "GROUP_MAP": {},                      # Entra group object id -> Django group name
    "ROLE_MAP": {},                       # app role value -> Django group name
    "STAFF_GROUPS": [], "STAFF_ROLES": [],
    "SUPERUSER_GROUPS": [], "SUPERUSER_ROLES": [],
    # Group overage (over 200 groups): read security groups only (as the app registration's
    # groupMembershipClaims "SecurityGroup" does), or every group (its "All").
    "GROUPS_SECURITY_ENABLED_ONLY": True,

    # Tokens
    "REFRESH_MARGIN": 300,                # refresh access tokens this many seconds before expiry
    "CACHE_ENCRYPTION_KEYS": None,        # Fernet keys, newest first; default: derived from SECRET_KEY
    # graph_auth_purge deletes the tokens of users inactive this long (Entra's refresh tokens last
    # 90 days), on-behalf-of tokens whose refresh token is as old, and records of ended sessions.
    "PURGE_INACTIVE_DAYS": 90,

    # Protected APIs (bearer tokens for this app's own API) and on-behalf-of
    "API_AUDIENCES": None,                # accepted "aud" values; default: client id and api://<client id>
    # A multi-tenant API (TENANT_ID organizations/common) accepts the tenants in ALLOWED_TENANTS;
    # without that list it refuses every bearer token unless this is True (any tenant at all).
    "API_ALLOW_ANY_TENANT": False,
    "OBO_SCOPES": ["User.Read"],          # what request.graph asks for on behalf of an API caller

    # Graph client
    "GRAPH_MAX_RETRIES": 3,               # retries on 429 / 503 / 504
    "GRAPH_MAX_RETRY_AFTER": 30,          # longest Retry-After (seconds) worth waiting for

    # Failures of Graph and the identity platform in views: answered (503 + Retry-After, 403, 502;
    # a page or JSON) by the middleware, api_view and graph_auth.drf. False: the site handles them.
    "HANDLE_ERRORS": True,
    "UNAVAILABLE_TEMPLATE": "graph_auth/unavailable.html",     # 503: throttled, down, timed out
    "FORBIDDEN_TEMPLATE": "graph_auth/forbidden.html",         # 403: Graph refused
    "GRAPH_ERROR_TEMPLATE": "graph_auth/graph_error.html",     # 502: any other Graph or token error
}


class AppSettings:
    """Read ``settings.GRAPH_AUTH`` at call time, so ``override_settings`` just works."""

    def _get(self, name: str):
        return getattr(settings, "GRAPH_AUTH", {}).get(name, DEFAULTS[name])

    def __getattr__(self, name: str):
        if name in DEFAULTS:
            return self._get(name)
        raise AttributeError(name)

    @property
    def user_settings(self) -> dict:
        return dict(getattr(settings, "GRAPH_AUTH", {}) or {})

    @property
    def emulator_enabled(self) -> bool:
        """Whether the emulator stands in for Entra and Graph: only when EMULATOR is True and no
        CLIENT_ID is configured (the system check graph_auth.E010 reports that conflict). DEBUG
        plays no part: a first deploy with DEBUG on and no CLIENT_ID must not sign anyone in."""
        return self._get("EMULATOR") is True and not self._get("CLIENT_ID")

    @property
    def client_id(self) -> str | None:
        if self.emulator_enabled:
            from .emulator.default_directory import WEB_APP_ID
            return WEB_APP_ID
        return self._get("CLIENT_ID")

    @property
    def client_credential(self):
        """The certificate dict or secret msal authenticates with (in emulator mode: the one
        configured, else the emulator's demo app secret)."""
        credential = self._get("CLIENT_CERTIFICATE") or self._get("CLIENT_SECRET")
        if self.emulator_enabled and not credential:
            from .emulator.default_directory import WEB_APP_SECRET
            return WEB_APP_SECRET
        return credential

    @property
    def authority(self) -> str:
        return self.authority_for(None)

    def authority_for(self, tenant: str | None) -> str:
        return f"{self._get('AUTHORITY_HOST').rstrip('/')}/{tenant or self._get('TENANT_ID')}"

    @property
    def multi_tenant(self) -> bool:
        return str(self._get("TENANT_ID")).lower() in ("common", "organizations")

    @property
    def login_redirect_url(self) -> str:
        """Where to land after sign-in without a ``next`` (a URL or a URL name)."""
        from django.shortcuts import resolve_url
        return resolve_url(self._get("LOGIN_REDIRECT_URL") or settings.LOGIN_REDIRECT_URL)

    @property
    def logout_redirect_url(self) -> str:
        from django.shortcuts import resolve_url
        return resolve_url(self._get("LOGOUT_REDIRECT_URL") or settings.LOGOUT_REDIRECT_URL or "/")


app_settings = AppSettings()
