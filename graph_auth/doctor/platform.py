"""Probes of the identity platform and Graph (the emulator's, in emulator mode): discovery, the
tenant, signing keys, clock skew, the app's credentials, Graph, and an authorize request."""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from django.views.decorators.debug import sensitive_variables
from requests import RequestException

from .. import msal_client
from ..app_settings import app_settings
from ..app_tokens import GRAPH_DEFAULT
from ..exceptions import GraphAuthConfigError, IdentityPlatformUnavailable, TokenError
from .base import FAIL, PASS, SKIP, WARN, Context, Result, hint_for

# "AADSTS50011: The redirect URI ..." in an error page, a form_post form or an error description.
AADSTS = re.compile(r"AADSTS(\d{5,8}): ?([^<\"\\\r\n]*)")
CLOCK_WARN = 30                # seconds: more than a clock kept by NTP drifts
MULTI_TENANT = ("common", "organizations", "consumers")


def _network_hint(url: str) -> str:
    if app_settings.emulator_enabled and app_settings.EMULATOR_URL:
        return (f"Start the emulator GRAPH_AUTH['EMULATOR_URL'] names ({app_settings.EMULATOR_URL}: "
                "python -m graph_auth.emulator --port N, or a running site's /_emulator), or unset it.")
    return (f"Allow outbound HTTPS from this host to {urlsplit(url).hostname} (through a proxy: set "
            "HTTPS_PROXY), and check GRAPH_AUTH['AUTHORITY_HOST'] and GRAPH_URL.")


def _aadsts(text: str) -> tuple[int, str] | None:
    """Return the first (AADSTS code, message) in ``text``, or None."""
    match = AADSTS.search(text or "")
    return (int(match.group(1)), html.unescape(match.group(2)).strip()[:200]) if match else None


def _json(response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_of(response) -> tuple[int, str] | None:
    """The AADSTS code and message of an identity-platform error answer."""
    data = _json(response)
    codes = data.get("error_codes") or []
    found = _aadsts(str(data.get("error_description", "")))
    if found:
        return found
    if codes and isinstance(codes[0], int):
        return codes[0], str(data.get("error", ""))
    return None


def _discover(ctx: Context, tenant: str):
    """GET a tenant's OpenID configuration; return (response, local time it arrived)."""
    url = f"{app_settings.authority_for(tenant)}/v2.0/.well-known/openid-configuration"
    response = ctx.session.get(url)
    return response, time.time()


def _tenant_id(document: dict) -> str:
    """The tenant an OpenID configuration's issuer names ("{tenantid}" on common/organizations)."""
    parts = urlsplit(str(document.get("issuer", ""))).path.strip("/").split("/")
    return parts[0] if parts else ""


def discovery(ctx: Context) -> list[Result]:
    """Authority and discovery reachable; the configured tenant (and --tenant) resolve."""
    configured = str(app_settings.TENANT_ID)
    url = f"{app_settings.authority}/v2.0/.well-known/openid-configuration"
    try:
        response, received = _discover(ctx, configured)
    except RequestException as exc:
        ctx.unreachable = True
        return [Result("discovery", FAIL, f"{urlsplit(url).hostname} could not be reached "
                                          f"({type(exc).__name__})", _network_hint(url))]
    ctx.date = (response.headers.get("Date"), received)
    document = _json(response)
    if response.status_code == 200 and all(document.get(k) for k in ("issuer", "jwks_uri", "token_endpoint")):
        ctx.discovery = document
        results = [Result("discovery", PASS, f"{url} answered"), _tenant_line(configured, document)]
    elif 400 <= response.status_code < 500 and _error_of(response):
        code, message = _error_of(response)
        results = [Result("discovery", PASS, f"{urlsplit(url).hostname} answered"),
                   Result("tenant", FAIL, f"TENANT_ID {configured!r}: AADSTS{code}: {message}",
                          hint_for(code), code)]
    else:
        return [Result("discovery", FAIL, f"{url} answered {response.status_code} without an OpenID "
                                          "configuration", "Retry later; if it persists, check "
                                                           "GRAPH_AUTH['AUTHORITY_HOST'].")]
    if ctx.tenant:
        results.append(_probe_tenant(ctx))
    return results


def _tenant_line(configured: str, document: dict) -> Result:
    tenant_id = _tenant_id(document)
    if configured.lower() in MULTI_TENANT:
        return Result("tenant", PASS, f"TENANT_ID {configured!r}: a multi-tenant authority (users of "
                                      "many tenants sign in; probes that need one take --tenant)")
    return Result("tenant", PASS, f"TENANT_ID {configured!r} is tenant {tenant_id}")


def _probe_tenant(ctx: Context) -> Result:
    try:
        response, _ = _discover(ctx, ctx.tenant)
    except RequestException as exc:
        return Result("probe_tenant", FAIL, f"--tenant {ctx.tenant!r}: {type(exc).__name__}")
    error = _error_of(response)
    if response.status_code == 200:
        return Result("probe_tenant", PASS, f"--tenant {ctx.tenant!r} is tenant {_tenant_id(_json(response))}")
    code, message = error or (None, f"discovery answered {response.status_code}")
    return Result("probe_tenant", FAIL, f"--tenant {ctx.tenant!r}: AADSTS{code}: {message}"
                  if code else f"--tenant {ctx.tenant!r}: {message}", hint_for(code), code)


def signing_keys(ctx: Context) -> Result:
    """The JWKS that ID tokens and bearer tokens are checked against."""
    if ctx.discovery is None:
        return Result("keys", SKIP, "needs the OpenID configuration (see discovery)")
    uri = ctx.discovery["jwks_uri"]
    try:
        response = ctx.session.get(uri)
    except RequestException as exc:
        return Result("keys", FAIL, f"{uri} could not be reached ({type(exc).__name__})", _network_hint(uri))
    keys = [k for k in _json(response).get("keys") or [] if isinstance(k, dict) and k.get("kid")]
    if response.status_code != 200 or not keys:
        return Result("keys", FAIL, f"{uri} answered {response.status_code} with no signing keys",
                      "Sign-ins fail until it does: retry later.")
    return Result("keys", PASS, f"{len(keys)} signing keys published at {uri}")


def clock(ctx: Context) -> Result:
    """This machine's clock against the identity platform's Date header."""
    if ctx.date is None:
        return Result("clock", SKIP, "needs an answer from the identity platform (see discovery)")
    header, received = ctx.date
    try:
        server = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return Result("clock", WARN, "the identity platform sent no usable Date header; skew unknown")
    skew = round(server - received)
    leeway = int(app_settings.ID_TOKEN_LEEWAY)
    where = f"this machine's clock is {abs(skew)} s {'behind' if skew > 0 else 'ahead of'} the identity platform's"
    hint = ("Keep the clock synchronised (chrony, systemd-timesyncd or ntpd). ID tokens are checked "
            f"with ID_TOKEN_LEEWAY ({leeway} s) of leeway, certificate assertions with 5 minutes.")
    if abs(skew) > leeway:
        return Result("clock", FAIL, where + ": sign-ins will fail", hint)
    if abs(skew) > CLOCK_WARN:
        return Result("clock", WARN, where, hint)
    return Result("clock", PASS, f"this machine's clock is {abs(skew)} s from the identity platform's")


def _app_only_tenant(ctx: Context) -> str | None:
    """The tenant for app-only probes: --tenant, else a single-tenant TENANT_ID."""
    configured = str(app_settings.TENANT_ID)
    return ctx.tenant or (None if configured.lower() in MULTI_TENANT else configured)


@sensitive_variables()
def credentials(ctx: Context) -> Result:
    """A client-credentials token: the client id and secret (or certificate) are accepted."""
    kind = "certificate" if app_settings.CLIENT_CERTIFICATE else "client secret"
    tenant = _app_only_tenant(ctx)
    if tenant is None:
        return Result("credentials", SKIP, f"TENANT_ID is {app_settings.TENANT_ID!r}: an app-only token "
                                           "needs a tenant", "Pass --tenant <your tenant id or domain>.")
    if ctx.unreachable:
        return Result("credentials", SKIP, "the identity platform could not be reached (see discovery)")
    try:
        result = msal_client.acquire_for_client(msal_client.new_cache(), [GRAPH_DEFAULT], tenant=tenant)
    except TokenError as exc:
        what = f"AADSTS{exc.aadsts}: " if exc.aadsts else f"{exc.error}: "
        first = (exc.description.splitlines() or [""])[0].removeprefix(f"AADSTS{exc.aadsts}: ")
        return Result("credentials", FAIL, f"the {kind} was refused in {tenant}: {what}{first[:200]}",
                      hint_for(exc.aadsts), exc.aadsts)
    except IdentityPlatformUnavailable as exc:
        return Result("credentials", FAIL, f"no answer from the token endpoint: {exc}",
                      _network_hint(app_settings.authority))
    except GraphAuthConfigError as exc:
        return Result("credentials", FAIL, str(exc), "Run manage.py check.")
    ctx.app_token = result["access_token"]
    return Result("credentials", PASS, f"client id and {kind} accepted: an app-only token was issued "
                                       f"in {tenant}")


def graph(ctx: Context) -> Result:
    """Graph reachable: an app-only call with the probe's token, or else one without a token."""
    base = str(app_settings.GRAPH_URL).rstrip("/")
    if ctx.app_token:
        url, params, headers = f"{base}/users", {"$top": "1", "$select": "id"}, {
            "Authorization": f"Bearer {ctx.app_token}"}
    else:
        url, params, headers = f"{base}/me", {}, {}
    try:
        response = ctx.session.get(url, params=params, headers=headers)
    except RequestException as exc:
        return Result("graph", FAIL, f"{urlsplit(url).hostname} could not be reached ({type(exc).__name__})",
                      _network_hint(url))
    error = _json(response).get("error")
    error = error if isinstance(error, dict) else {}
    said = f"{response.status_code} {error.get('code', '')}".strip()
    path = urlsplit(url).path
    if ctx.app_token and response.status_code == 200:
        return Result("graph", PASS, f"an app-only call succeeded (GET {path})")
    if ctx.app_token and response.status_code == 403:
        return Result("graph", PASS, f"Graph accepted the app's token (GET {path}: {said}; reading users "
                                     "needs User.Read.All, which only app_graph() uses)")
    if not ctx.app_token and response.status_code == 401 and error:
        return Result("graph", PASS, f"Graph answered (GET {path} without a token: {said}, as expected)")
    if response.status_code == 401:
        return Result("graph", FAIL, f"Graph refused the app's token (GET {path}: {said}: "
                                     f"{str(error.get('message', ''))[:200]})",
                      "Check GRAPH_URL (https://graph.microsoft.com/v1.0) and the tenant.")
    return Result("graph", FAIL, f"Graph answered GET {path} with {said}",
                  "Retry later; check GRAPH_URL (https://graph.microsoft.com/v1.0).")


def _challenge() -> str:
    digest = hashlib.sha256(secrets.token_urlsafe(48).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in(ctx: Context) -> Result:
    """An authorize request as the login view sends it: the identity platform must show its
    sign-in page, not an error (unknown app, unregistered redirect URI, single-tenant app on
    common/organizations, unknown scopes)."""
    if ctx.unreachable:
        return Result("sign_in", SKIP, "the identity platform could not be reached (see discovery)")
    if not app_settings.client_id:
        return Result("sign_in", SKIP, "no CLIENT_ID (see settings)")
    params = {"client_id": app_settings.client_id, "response_type": "code",
              "scope": " ".join(["openid", "profile", "offline_access", *app_settings.SCOPES]),
              "response_mode": app_settings.RESPONSE_MODE, "state": secrets.token_urlsafe(16),
              "nonce": secrets.token_urlsafe(16), "code_challenge": _challenge(),
              "code_challenge_method": "S256"}
    if ctx.redirect_uri:
        params["redirect_uri"] = ctx.redirect_uri
    url = f"{app_settings.authority}/oauth2/v2.0/authorize"
    try:
        response = ctx.session.get(url, params=params, allow_redirects=False)
    except RequestException as exc:
        return Result("sign_in", FAIL, f"{url} could not be reached ({type(exc).__name__})", _network_hint(url))
    if response.is_redirect:
        location = urlsplit(response.headers.get("Location", ""))
        answer = {**parse_qs(location.query), **parse_qs(location.fragment)}
        if "error" in answer:
            found = _aadsts(" ".join(answer.get("error_description", [])))
            code, message = found or (None, answer["error"][0])
            return _refused(code, message)
    else:
        found = _aadsts(response.text)
        if found:
            return _refused(*found)
        if response.status_code >= 400:
            return Result("sign_in", FAIL, f"{url} answered {response.status_code}")
    uri = f" and redirect URI {ctx.redirect_uri}" if ctx.redirect_uri else ""
    return Result("sign_in", PASS, f"an authorize request for this client id{uri} reaches the sign-in page")


def _refused(code: int | None, message: str) -> Result:
    label = f"AADSTS{code}: " if code else ""
    if code == 50194:
        summary = f"TENANT_ID is {app_settings.TENANT_ID!r} but the app registration is single-tenant ({label[:-2]})"
    else:
        summary = f"the authorize request was refused: {label}{message}"
    return Result("sign_in", FAIL, summary, hint_for(code), code)
