"""The token endpoint: request checks, client authentication, and dispatch to the grants."""
from __future__ import annotations

import base64
import math

import jwt

from ..errors import OAuthError
from ..keys import b64url, certificate_thumbprints, load_certificate
from ..wsgi_io import Response
from . import grants, on_behalf_of, principals, tenants
from .claims_request import parse_claims

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

GRANTS = {
    "authorization_code": grants.authorization_code,
    "refresh_token": grants.refresh_token,
    "client_credentials": grants.client_credentials,
    "password": grants.password,
    DEVICE_CODE: grants.device_code,
    JWT_BEARER: on_behalf_of.on_behalf_of,
}
CONFIDENTIAL_ONLY = {"client_credentials", JWT_BEARER}
PUBLIC_CLIENT_FLOWS = {DEVICE_CODE, "password"}     # allowed without credentials when the app says so


def missing(name: str) -> OAuthError:
    return OAuthError("invalid_request", 900144,
                      f"The request body must contain the following parameter: '{name}'.")


def handle(em, request) -> Response:
    segment, tenant = tenants.resolve(em, request.segments[0])
    form = request.form
    grant_type = form.get("grant_type")
    if not grant_type:
        raise missing("grant_type")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{grant_type}'.")
    parse_claims(form.get("claims"))         # a malformed claims request fails every grant, first
    app, client_auth = authenticate_client(em, request, segment, tenant,
                                           confidential_only=grant_type in CONFIDENTIAL_ONLY,
                                           public_flow=grant_type in PUBLIC_CLIENT_FLOWS)
    if grant_type != "client_credentials":         # a user grant: whose accounts may the app take?
        principals.check_endpoint(app, segment, tenant)
    body = grant(em, request, form, app=app, segment=segment, tenant=tenant, client_auth=client_auth)
    return Response.json(body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def authenticate_client(em, request, segment: str, tenant, *, confidential_only: bool,
                        public_flow: bool = False):
    """Return (app registration, appidacr) or raise: "0" public, "1" secret, "2" certificate.

    A confidential app with "Allow public client flows" (``allow_public_client_flows``) may use
    the device-code and password grants without credentials, as a public client would."""
    form = request.form
    basic = request.basic_auth()
    client_id = form.get("client_id") or (basic[0] if basic else "")
    if not client_id:
        raise missing("client_id")
    app = em.directory.app(client_id)
    if app is None or (tenant is not None and not em.directory.app_available_in(app, tenant.id)):
        where = tenant.id if tenant else segment
        raise OAuthError(
            "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory '{where}'. "
            "This can happen if the application has not been installed by the administrator of the "
            "tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.")
    secret = form.get("client_secret") or (basic[1] if basic else None)
    assertion = form.get("client_assertion")
    public = app.public_client or (public_flow and app.allow_public_client_flows
                                   and not (secret or assertion))
    if public and not confidential_only:
        if secret or assertion:
            raise OAuthError("invalid_client", 700025,
                             "Client is public so neither 'client_assertion' nor 'client_secret' "
                             "should be presented.")
        return app, "0"
    if assertion or form.get("client_assertion_type"):
        check_assertion(em, request, app, segment)
        return app, "2"
    if secret:
        if secret not in app.secrets:
            raise OAuthError(
                "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.")
        return app, "1"
    raise OAuthError("invalid_client", 7000218,
                     "The request body must contain the following parameter: 'client_assertion' "
                     "or 'client_secret'.")


def _malformed() -> OAuthError:
    return OAuthError("invalid_request", 50027, "JWT token is invalid or malformed.")


def _assertion_thumbprint(header: dict) -> tuple[str, bytes] | None:
    """Return (kind, digest) from x5t#S256, x5t or x5c."""
    try:
        if header.get("x5t#S256"):
            return "sha256", _unb64url(header["x5t#S256"])
        if header.get("x5t"):
            return "sha1", _unb64url(header["x5t"])
        if header.get("x5c"):
            der = base64.b64decode(header["x5c"][0])
            from cryptography import x509
            return "sha256", certificate_thumbprints(x509.load_der_x509_certificate(der))[1]
    except (ValueError, TypeError, LookupError):     # LookupError: x5c an object, not an array
        raise _malformed() from None
    return None


def _numeric_date(claims: dict, name: str) -> float:
    """Return a JWT time claim in epoch seconds (0 when absent), or raise: it must be a finite
    number (a numeric string is tolerated); NaN, infinities and booleans make the JWT malformed."""
    value = claims.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _malformed()
    try:
        number = float(value)
    except (ValueError, OverflowError):         # OverflowError: an int beyond a float's range
        raise _malformed() from None
    if not math.isfinite(number):
        raise _malformed()
    return number


def _unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def check_assertion(em, request, app, segment: str) -> None:
    """Verify a certificate-signed client assertion (private_key_jwt) against the app's certificates."""
    form = request.form
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_request", 50027,
                         f"client_assertion_type must be '{ASSERTION_TYPE}'.")
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _malformed() from None
    thumb = _assertion_thumbprint(header)
    cert = None
    for pem in app.certificates:
        candidate = load_certificate(pem)
        sha1, sha256 = certificate_thumbprints(candidate)
        if thumb and thumb[1] == (sha1 if thumb[0] == "sha1" else sha256):
            cert = candidate
    if cert is None:
        shown = b64url(thumb[1]) if thumb else "none"
        raise OAuthError(
            "invalid_client", 700027,
            "The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
            f"'{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
            f"see configured keys for app Id '{app.client_id}'.]")
    if header.get("alg") not in ("RS256", "PS256"):
        raise OAuthError("invalid_client", 700027, "Client assertion contains an invalid signature algorithm.")
    try:
        claims = jwt.decode(assertion, cert.public_key(), algorithms=[header["alg"]],
                            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False})
    except jwt.InvalidSignatureError:
        raise OAuthError("invalid_client", 700027, "Client assertion failed signature validation.") from None
    except jwt.PyJWTError:
        raise _malformed() from None
    accepted = {em.login_url(f"/{t}/oauth2/v2.0/token") for t in (segment, request.segments[0])}
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not any(isinstance(a, str) and a in accepted for a in audiences):
        raise OAuthError("invalid_client", 700212,
                         f"The audience '{claims.get('aud')}' of the client assertion is not the "
                         f"token endpoint; expected one of: {', '.join(sorted(accepted))}.")
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise OAuthError("invalid_client", 700021,
                         "Client assertion application identifier doesn't match 'client_id' parameter.")
    exp, nbf, _ = (_numeric_date(claims, name) for name in ("exp", "nbf", "iat"))
    now = em.clock.now()
    if exp <= now or nbf > now + 300:          # Entra allows five minutes of clock skew
        raise OAuthError("invalid_client", 700024, "Client assertion is not within its valid time range.")
