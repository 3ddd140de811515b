"""What the doctor's checks return (one ``Result`` a line) and what they share (``Context``)."""
from __future__ import annotations

from dataclasses import dataclass

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"

# The fix for an AADSTS code the identity platform answers (the same code in a token response, a
# discovery answer or the authorize page). Codes: https://login.microsoftonline.com/error?code=N
HINTS = {
    90002: "TENANT_ID (or --tenant) must be your Directory (tenant) ID, from the app registration's "
           "Overview, or a verified domain of that tenant.",
    700016: "CLIENT_ID must be the app registration's Application (client) ID, and the app must be "
            "registered in that tenant (or, multi-tenant, consented to there).",
    7000215: "CLIENT_SECRET must be the secret's Value (shown once when it was made), not its Secret "
             "ID: Certificates & secrets.",
    7000222: "The client secret has expired: make a new one (Certificates & secrets) and set "
             "CLIENT_SECRET to its Value.",
    7000218: "The request carried no credential: set CLIENT_SECRET or CLIENT_CERTIFICATE.",
    700027: "Upload CLIENT_CERTIFICATE's public certificate to the app registration (Certificates & "
            "secrets), and check its thumbprint.",
    700024: "The client assertion's time range was refused: set this machine's clock right (NTP).",
    50011: "Register the redirect URI above as a Web redirect URI of the app registration "
           "(Authentication, platform Web), or set GRAPH_AUTH['REDIRECT_URI'] to a registered one.",
    50194: "The app registration is single-tenant (\"Accounts in this organizational directory "
           "only\"): set TENANT_ID to its tenant id or domain, or make it multi-tenant "
           "(Authentication, Supported account types).",
    50059: "This endpoint can't tell which tenant is meant: set TENANT_ID to a tenant id or domain, "
           "or pass --tenant.",
    70011: "Check GRAPH_AUTH['SCOPES']: delegated permissions such as \"User.Read\" (not openid, "
           "profile or offline_access).",
    65005: "Check GRAPH_AUTH['SCOPES'] against the app registration's API permissions.",
    9002331: "The app registration takes personal Microsoft accounts only: use TENANT_ID \"consumers\", "
             "or change its Supported account types.",
    9002332: "The app registration takes work and school accounts only: don't use TENANT_ID \"consumers\".",
}


def hint_for(code: int | None) -> str:
    """Return the fix for an AADSTS code (a pointer to Microsoft's lookup page for others)."""
    if code is None:
        return ""
    return HINTS.get(code, f"See https://login.microsoftonline.com/error?code={code}.")


@dataclass
class Result:
    """One line of the doctor's report."""
    key: str                      # a stable name: settings, discovery, tenant, ...
    status: str                   # PASS, WARN, FAIL or SKIP
    summary: str
    hint: str = ""
    code: int | None = None       # the AADSTS code behind a failure, when there is one


@dataclass
class Context:
    """What the checks learn and pass on, in the order they run."""
    session: object                        # the requests.Session graph_auth uses (or the emulator's)
    tenant: str | None = None              # --tenant: for probes that need a concrete tenant
    url: str | None = None                 # --url: the site's public URL
    unreachable: bool = False              # the identity platform could not be reached at all
    discovery: dict | None = None          # the authority's OpenID configuration
    date: tuple | None = None              # (the server's Date header, local time when received)
    app_token: str | None = None           # an app-only Graph token from the credentials probe
    redirect_uri: str | None = None        # as Django builds it for --url (or REDIRECT_URI)
