"""The only module that talks to msal: one place that builds applications, runs flows and turns
msal's error dicts and exceptions into graph_auth's exceptions."""
from __future__ import annotations

import base64
import json
import logging
import time
import warnings
from typing import NamedTuple

import jwt
import msal
from django.views.decorators.debug import sensitive_variables
from requests import RequestException

from .app_settings import app_settings
from .exceptions import (
    AuthFlowError,
    GraphAuthConfigError,
    IdentityPlatformUnavailable,
    InteractionRequired,
    TokenError,
)
from .http import get_session, without_request

logger = logging.getLogger(__name__)

# Query mode is the documented default (it works with SameSite=Lax session cookies); msal warns
# about it on every flow otherwise.
warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended",
                        category=UserWarning)

# Shared by every application this process builds: discovery happens once per process.
_http_cache: dict = {}
INTERACTIVE_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required",
                      "no_account"}
UNAVAILABLE_ERRORS = {"temporarily_unavailable", "server_error", "service_unavailable"}
AT_MIN_VALIDITY = 300          # msal treats an access token expiring within 5 minutes as expired

# Every function here that holds a credential, a code, a verifier or a token (or calls msal, whose
# frames hold them) is @sensitive_variables(): Django's error reports show none of their locals,
# nor those of msal and requests beneath them.


def clear_caches() -> None:
    """Forget cached discovery documents and cached failures (tests swap emulators)."""
    _http_cache.clear()


@sensitive_variables()
def new_cache(serialized: str | None = None) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if serialized:
        cache.deserialize(serialized)
    return cache


@sensitive_variables()
def build_app(cache: msal.SerializableTokenCache | None = None, *,
              tenant: str | None = None) -> msal.ConfidentialClientApplication:
    """Build the confidential client (cheap after the first: discovery comes from the http cache).
    ``tenant`` overrides GRAPH_AUTH['TENANT_ID'] in the authority (app-only tokens need one)."""
    client_id, credential = app_settings.client_id, app_settings.client_credential
    if not client_id or not credential:
        raise GraphAuthConfigError(
            "graph_auth needs GRAPH_AUTH['CLIENT_ID'] and CLIENT_SECRET (or CLIENT_CERTIFICATE), "
            "or, for demos and tests only, the emulator (EMULATOR=True and no CLIENT_ID).")
    try:
        return msal.ConfidentialClientApplication(
            client_id, client_credential=credential, authority=app_settings.authority_for(tenant),
            token_cache=cache, http_client=get_session(), http_cache=_http_cache,
            client_capabilities=app_settings.CLIENT_CAPABILITIES or None)
    except RequestException as exc:
        raise IdentityPlatformUnavailable(f"tenant discovery failed: {type(exc).__name__}") from without_request(exc)
    except msal.exceptions.MsalServiceError as exc:
        raise IdentityPlatformUnavailable(f"tenant discovery failed: {exc}") from exc
    except ValueError as exc:
        check = "GRAPH_AUTH['TENANT_ID'] (a tenant GUID or domain, 'organizations' or 'common')"
        if isinstance(credential, dict):       # msal also refuses a certificate it can't use
            check += (" and CLIENT_CERTIFICATE (private_key with thumbprint, or with "
                      "public_certificate)")
        raise GraphAuthConfigError(f"msal rejected the configuration: {str(exc)[:300]} Check {check}.") from exc


@sensitive_variables()
def build_public_app(cache=None) -> msal.PublicClientApplication:
    """The same registration as a public client, for the device-code flow (the app registration
    needs "Allow public client flows")."""
    build_app()                               # the same configuration checks and discovery
    return msal.PublicClientApplication(
        app_settings.client_id, authority=app_settings.authority, token_cache=cache,
        http_client=get_session(), http_cache=_http_cache,
        client_capabilities=app_settings.CLIENT_CAPABILITIES or None)


@sensitive_variables()
def _run(label: str, call):
    """Run an msal call; transport failures and 5xx answers mean the platform is unavailable."""
    try:
        return call()
    except RequestException as exc:          # its request holds the token request's body: dropped
        raise IdentityPlatformUnavailable(f"{label} failed: {type(exc).__name__}") from without_request(exc)
    except msal.exceptions.MsalServiceError as exc:
        raise IdentityPlatformUnavailable(f"{label} failed: {exc}") from exc
    except jwt.PyJWTError as exc:             # msal signs the client assertion with PyJWT
        raise GraphAuthConfigError(
            f"{label} failed: the client certificate's private key can't sign ({type(exc).__name__}). "
            "Check GRAPH_AUTH['CLIENT_CERTIFICATE'] (a PEM private key with its thumbprint or "
            "public_certificate).") from None


def _checked(result: dict, scopes=None, *, interactive: bool = True) -> dict:
    """Turn msal's error dict into our exceptions; return the result when it has none."""
    if "error" in result:
        if interactive and result["error"] in INTERACTIVE_ERRORS:
            raise InteractionRequired(result, scopes=scopes, claims=result.get("claims"))
        if result["error"] in UNAVAILABLE_ERRORS:
            raise IdentityPlatformUnavailable(f"{result['error']}: {result.get('error_codes')}")
        raise TokenError(result)
    return result


@sensitive_variables()
def start_flow(scopes, redirect_uri: str, **options) -> dict:
    """Begin an auth-code flow (PKCE, state, nonce); the dict goes into the session."""
    options = {k: v for k, v in options.items() if v}
    app = build_app()
    try:
        return app.initiate_auth_code_flow(list(scopes), redirect_uri=redirect_uri, **options)
    except ValueError as exc:          # msal refuses the reserved scopes (check graph_auth.E005)
        raise GraphAuthConfigError(f"msal refused the scopes {list(scopes)}: {exc} Check "
                                   "GRAPH_AUTH['SCOPES'].") from exc


@sensitive_variables()
def finish_flow(flow: dict, params: dict, cache) -> dict:
    """Redeem the code from the callback; return msal's result (tokens land in ``cache``)."""
    app = build_app(cache)
    try:
        result = _run("code redemption", lambda: app.acquire_token_by_auth_code_flow(flow, params))
    except ValueError as exc:          # state mismatch, a response that is neither code nor error
        raise AuthFlowError(str(exc)) from exc
    except RuntimeError as exc:        # msal's nonce check
        raise AuthFlowError(f"ID token rejected: {exc}") from exc
    return _checked(result, interactive=False)


@sensitive_variables()
def acquire_silent(cache, account_id: str, scopes, *, force_refresh: bool = False,
                   claims_challenge: str | None = None) -> dict:
    """Return a token result from ``cache`` (refreshing through msal when needed) or raise."""
    app = build_app(cache)

    def silent():
        account = next((a for a in app.get_accounts() if a.get("home_account_id") == account_id), None)
        if account is None:
            raise InteractionRequired({"error": "no_account",
                                       "error_description": "No account in the token cache."})
        return app.acquire_token_silent_with_error(
            list(scopes), account, force_refresh=force_refresh, claims_challenge=claims_challenge)

    result = _run("token refresh", silent)
    if result is None:
        raise InteractionRequired({"error": "no_refresh_token",
                                   "error_description": "No usable refresh token in the cache."},
                                  scopes=scopes)
    return _checked(result, scopes)


@sensitive_variables()
def start_device_flow(scopes) -> dict:
    """Begin a device-code sign-in; the dict's ``message`` tells the user where to enter ``user_code``."""
    flow = _run("devicecode request", lambda: build_public_app().initiate_device_flow(list(scopes)))
    if "user_code" not in flow:
        raise TokenError(flow)
    return flow


@sensitive_variables()
def poll_device_flow(flow: dict, cache) -> dict | None:
    """Poll once: the token result when the user has signed in, None while still pending (msal
    lengthens ``flow["interval"]`` on slow_down), TokenError when declined, expired or failed."""
    app = build_public_app(cache)
    result = _run("device-code poll",
                  lambda: app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True))
    if result.get("error") in ("authorization_pending", "slow_down"):
        return None
    return _checked(result, interactive=False)


@sensitive_variables()
def acquire_for_client(cache, scopes, *, tenant: str) -> dict:
    """Return an app-only token result for ``scopes`` (``<resource>/.default``) from ``cache`` or
    the token endpoint (client credentials, with the configured secret or certificate)."""
    app = build_app(cache, tenant=tenant)
    return _checked(_run("client credentials", lambda: app.acquire_token_for_client(list(scopes))),
                    interactive=False)


@sensitive_variables()
def acquire_on_behalf_of(cache, assertion: str, scopes, *, claims_challenge: str | None = None) -> dict:
    """Exchange an API caller's access token for a token to a downstream API (jwt-bearer OBO);
    the tokens land in ``cache`` under the caller's account."""
    app = build_app(cache)
    return _checked(_run("on-behalf-of", lambda: app.acquire_token_on_behalf_of(
        assertion, list(scopes), claims_challenge=claims_challenge)), scopes)


def account_ids(cache) -> list[str]:
    """The home account ids the cache holds (msal's keys: ``<uid>.<utid>`` of client_info, the
    user's *home* account, which for a B2B guest is not the ID token's ``<oid>.<tid>``)."""
    return [a["home_account_id"] for a in cache.search(msal.TokenCache.CredentialType.ACCOUNT)]


@sensitive_variables()
def refresh_token_times(cache) -> list[int]:
    """When each refresh token in ``cache`` was issued or last replaced (epoch seconds): msal
    records no expiry for refresh tokens, only this ``last_modification_time``."""
    return [int(entry.get("last_modification_time") or 0)
            for entry in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]


def sole_account(cache) -> str:
    """Return the home account id of the one account a fresh cache holds after a sign-in."""
    ids = set(account_ids(cache))
    if len(ids) != 1:
        raise TokenError({"error": "no_account", "error_description":
                          f"expected one account in the new tokens, found {len(ids)}"})
    return ids.pop()


@sensitive_variables()
def result_account(result: dict) -> str | None:
    """The home account id a token response names in its ``client_info`` (None without one)."""
    try:
        raw = result["client_info"]
        info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return f"{info['uid']}.{info['utid']}"
    except (KeyError, TypeError, ValueError):
        return None


def _access_tokens(cache, account_id: str | None) -> list[dict]:
    return list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                             query={"home_account_id": account_id}))


class Hit(NamedTuple):
    """A cached access token fit to use: the token, when it expires, when it is due for refresh."""
    token: str
    expires_on: int
    refresh_at: int


def refresh_due(entry: dict, margin: int) -> int:
    """When an access-token entry is due for refresh (epoch seconds): ``margin`` (at least msal's 5
    minutes) before it expires, but never before half its lifetime has passed, nor after the
    ``refresh_on`` the platform asked for.

    The half-lifetime cap is what stops a refresh from being followed by another: a token just
    obtained is never already due, however short-lived (a 200 s token with a 300 s margin would
    be). Half is also where msal starts refreshing long-lived tokens ahead of expiry. Entra's access
    tokens live 60 to 90 minutes (10 at least when configured), so with the default margin the cap
    only matters for margins set above half the lifetime.
    """
    expires_on = int(entry.get("expires_on", 0))
    lifetime = max(0, expires_on - int(entry.get("cached_at", 0) or 0))
    due = expires_on - min(max(margin, AT_MIN_VALIDITY), lifetime // 2)
    return min(due, int(entry.get("refresh_on", due)))


@sensitive_variables()
def peek(cache, account_id: str | None, scopes, margin: int = AT_MIN_VALIDITY, *,
         fallback: bool = False, now: float | None = None) -> Hit | None:
    """Return a ``Hit`` when the cache holds a token for ``scopes`` that is not yet due for refresh
    by ``margin`` (see ``refresh_due``), else None. With ``fallback``, any token still valid for
    ``margin`` seconds will do (used when a refresh failed because the identity platform is down).
    Reads only."""
    now = time.time() if now is None else now
    wanted = set(scopes)
    for entry in _access_tokens(cache, account_id):
        if not wanted <= set(entry.get("target", "").split()):
            continue
        expires_on, due = int(entry.get("expires_on", 0)), refresh_due(entry, margin)
        usable = expires_on - now >= margin if fallback else now < due
        if usable:
            return Hit(entry["secret"], expires_on, due)
    return None


@sensitive_variables()
def result_hit(result: dict, margin: int, now: float | None = None) -> Hit:
    """The ``Hit`` for a token msal just returned (its ``expires_in`` counts from now)."""
    now = int(time.time() if now is None else now)
    entry = {"cached_at": now, "expires_on": now + int(result.get("expires_in") or 0)}
    if result.get("refresh_on"):
        entry["refresh_on"] = int(result["refresh_on"])
    return Hit(result["access_token"], entry["expires_on"], refresh_due(entry, margin))


def prune_expired(cache, now: float | None = None) -> int:
    """Remove the access tokens that have expired (before the cache is written: they would only
    grow it); refresh tokens, accounts and ID tokens stay. Return how many went."""
    now = time.time() if now is None else now
    kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
    expired = [entry for entry in cache.search(kind, now=0)      # now=0: msal's own sweep keeps them
               if int(entry.get("expires_on", 0)) <= now]
    for entry in expired:
        cache.remove_at(entry)
    return len(expired)


@sensitive_variables()
def token_status(cache, account_id: str, scopes, margin: int) -> dict:
    """Return what the session and the admin need to know, without token values: when the access
    token for ``scopes`` must be refreshed, when it expires, the scopes held, whether an RT exists."""
    wanted, refresh_at, expires_at, held = set(scopes), None, None, set()
    for entry in _access_tokens(cache, account_id):
        target = set(entry.get("target", "").split())
        held |= target
        if wanted <= target:
            exp, due = int(entry.get("expires_on", 0)), refresh_due(entry, margin)
            if expires_at is None or exp > expires_at:
                expires_at, refresh_at = exp, due
    has_rt = any(True for _ in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN,
                                            query={"home_account_id": account_id}))
    return {"refresh_at": refresh_at, "expires_at": expires_at, "scopes": sorted(held), "has_rt": has_rt}
