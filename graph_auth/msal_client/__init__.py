"""The only package that talks to msal: one place that builds applications, runs flows and turns
msal's error dicts and exceptions into graph_auth's exceptions (here), and reads msal's token
caches (``msal_client.cache``, whose names are available here too)."""
from __future__ import annotations

import functools
import logging
import warnings

import jwt
import msal
from cryptography.hazmat.primitives import serialization
from django.views.decorators.debug import sensitive_variables
from requests import RequestException

from ..app_settings import app_settings
from ..exceptions import (
    AuthFlowError,
    GraphAuthConfigError,
    IdentityPlatformUnavailable,
    InteractionRequired,
    TokenError,
)
from ..http import get_session, without_request
from .cache import (  # noqa: F401  (the cache readers, under their long-standing names)
    AT_MIN_VALIDITY,
    Hit,
    account_ids,
    new_cache,
    peek,
    prune_expired,
    refresh_due,
    refresh_token_times,
    result_account,
    result_hit,
    sole_account,
    token_status,
)

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

# Every function here that holds a credential, a code, a verifier or a token (or calls msal, whose
# frames hold them) is @sensitive_variables(): Django's error reports show none of their locals,
# nor those of msal and requests beneath them.


def clear_caches() -> None:
    """Forget cached discovery documents and cached failures (tests swap emulators)."""
    _http_cache.clear()


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
    if isinstance(credential, dict) and _signs_with_private_key(credential):
        _check_private_key(credential["private_key"], credential.get("passphrase"))
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


def _signs_with_private_key(credential: dict) -> bool:
    """Whether msal signs with the dict's PEM ``private_key``: not when the dict has none (msal also
    takes ``private_key_pfx_path`` or a ready ``client_assertion``, which it uses first)."""
    return ("private_key" in credential and not credential.get("client_assertion")
            and not credential.get("private_key_pfx_path"))


@functools.lru_cache(maxsize=8)
@sensitive_variables()
def _check_private_key(pem, passphrase=None) -> None:
    """Refuse a certificate credential whose private key can't be loaded (msal would fail only
    when it signs, with an error naming anything but the key)."""
    try:
        serialization.load_pem_private_key(
            pem.encode() if isinstance(pem, str) else pem,
            password=passphrase.encode() if isinstance(passphrase, str) else passphrase)
    except (TypeError, ValueError, AttributeError) as exc:
        raise GraphAuthConfigError(
            f"GRAPH_AUTH['CLIENT_CERTIFICATE']: its private_key can't be loaded ({type(exc).__name__}). "
            "Give the PEM private key (and passphrase if it has one) with its thumbprint or "
            "public_certificate.") from None


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
