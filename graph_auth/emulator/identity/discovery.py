"""Metadata endpoints: OpenID discovery, instance discovery, JWKS and user realm."""
from __future__ import annotations

from urllib.parse import urlsplit

from ..constants import CONSUMERS_TENANT_ID, LOGIN_HOST
from ..errors import OAuthError
from ..wsgi_io import Response
from . import tenants

ALIASES = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]


def openid_configuration(em, request) -> Response:
    segment, tenant = tenants.resolve(em, request.segments[0])
    base = f"https://{LOGIN_HOST}/{segment}"
    browser = em.browser_url(f"/{segment}")
    issuer = em.issuer(tenant.id if tenant else "{tenantid}")
    if segment == "consumers":
        issuer = em.issuer(CONSUMERS_TENANT_ID)
    return Response.json({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{browser}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{browser}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                             "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                             "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
                             "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })


def instance_discovery(em, request) -> Response:
    endpoint = request.query.get("authorization_endpoint", "")
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
    except ValueError:          # e.g. "https://[bad": not a URL at all
        parts, host = None, ""
    if host not in ALIASES or parts.scheme != "https":
        raise OAuthError("invalid_instance", 50049,
                         "Unknown or invalid instance.", status=400)
    segment = next((s for s in parts.path.split("/") if s), "common")
    return Response.json({
        "tenant_discovery_endpoint":
            f"https://{LOGIN_HOST}/{segment}/v2.0/.well-known/openid-configuration",
        "api-version": request.query.get("api-version", "1.1"),
        "metadata": [{"preferred_network": "login.microsoftonline.com",
                      "preferred_cache": "login.windows.net", "aliases": ALIASES}],
    })


def jwks(em, request) -> Response:
    _, tenant = tenants.resolve(em, request.segments[0])
    issuer = em.issuer(tenant.id if tenant else "{tenantid}")
    return Response.json(em.keys.jwks(issuer))


def userrealm(em, request) -> Response:
    username = request.segments[2] if len(request.segments) > 2 else ""
    domain = username.rpartition("@")[2]
    tenant = em.directory.tenant(domain) if domain else None
    if tenant is None:
        return Response.json({"ver": "1.0", "account_type": "Unknown",
                              "cloud_instance_name": "microsoftonline.com"})
    return Response.json({"ver": "1.0", "account_type": "Managed", "domain_name": domain.lower(),
                          "cloud_instance_name": "microsoftonline.com",
                          "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
