"""The directory's objects: tenants, groups, users and app registrations, as plain dataclasses.

Account kinds: a *member* belongs to its tenant; a *B2B guest* is a user object of its own in the
inviting tenant that links to the invited person's home user (``home_user_id``) and has no
credentials of its own; a *personal account* lives in the consumers tenant (``CONSUMERS_TENANT_ID``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .constants import CONSUMERS_TENANT_ID

# signInAudience values that let personal Microsoft accounts sign in.
PERSONAL_AUDIENCES = ("AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount")
# Optional claims an app registration may ask for, per token type (account_claims.py adds them).
OPTIONAL_CLAIMS = ("acct", "auth_time", "email", "family_name", "given_name", "login_hint", "upn")
TOKEN_TYPES = ("id_token", "access_token")
_NS = uuid.UUID("6f1d3c1e-2b7a-4c55-9a43-9d2b0c1f7e10")


def stable_id(kind: str, name: str) -> str:
    """Return a GUID derived from a name, so a directory defined by names has stable object ids."""
    return str(uuid.uuid5(_NS, f"{kind}:{name.lower()}"))


def personal_object_id(name: str) -> str:
    """Return a stable object id in the form Entra gives personal accounts: 00000000-0000-0000-xxxx-xxxxxxxxxxxx."""
    tail = stable_id("msa", name).replace("-", "")[-16:]
    return f"00000000-0000-0000-{tail[:4]}-{tail[4:]}"


class DirectoryError(ValueError):
    """The directory data is inconsistent (unknown tenant, group or duplicate id)."""


@dataclass
class Tenant:
    id: str
    domain: str
    display_name: str = ""
    domains: list[str] = field(default_factory=list)

    @property
    def personal(self) -> bool:
        """Whether this is the consumers tenant of personal Microsoft accounts."""
        return self.id == CONSUMERS_TENANT_ID

    def matches(self, key: str) -> bool:
        key = key.lower()
        if self.personal:             # no verified domains: outlook.com is not a tenant name
            return key == self.id
        return key == self.id or key in (d.lower() for d in [self.domain, *self.domains])


@dataclass
class Group:
    id: str
    tenant_id: str
    display_name: str
    security_enabled: bool = True
    member_of: list[str] = field(default_factory=list)        # parent group ids (nested groups)


@dataclass
class User:
    id: str
    tenant_id: str
    user_principal_name: str
    display_name: str
    password: str = "Passw0rd!"
    given_name: str | None = None
    surname: str | None = None
    mail: str | None = None
    job_title: str | None = None
    office_location: str | None = None
    mobile_phone: str | None = None
    business_phones: list[str] = field(default_factory=list)
    preferred_language: str | None = "en-US"
    groups: list[str] = field(default_factory=list)          # group object ids
    app_roles: dict[str, list[str]] = field(default_factory=dict)   # client id -> role values
    photo: str | None = None                                  # asset file name, or None: no photo
    messages: int = 0                                         # size of the generated mailbox
    enabled: bool = True
    mfa_required: bool = False                                # ROPC then fails with AADSTS50076
    sessions_valid_from: float = 0.0                          # set by revokeSignInSessions
    user_type: str = "Member"                                 # Graph's userType: "Member" or "Guest"
    home_user_id: str | None = None                           # a B2B guest: the invited home user's id

    @property
    def username(self) -> str:
        return self.user_principal_name

    @property
    def guest(self) -> bool:
        """Whether this is a B2B guest object (its person signs in with home credentials)."""
        return self.home_user_id is not None

    @property
    def personal(self) -> bool:
        """Whether this is a personal Microsoft account (the consumers tenant)."""
        return self.tenant_id == CONSUMERS_TENANT_ID


@dataclass
class AppRegistration:
    client_id: str
    tenant_id: str
    display_name: str
    # AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount
    sign_in_audience: str = "AzureADMyOrg"
    secrets: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)     # PEM public certificates
    redirect_uris: list[str] = field(default_factory=list)    # web / public client redirect URIs
    spa_redirect_uris: list[str] = field(default_factory=list)
    public_client: bool = False
    allow_public_client_flows: bool = False                   # device code / password without a secret
    identifier_uris: list[str] = field(default_factory=list)
    exposed_scopes: list[str] = field(default_factory=list)   # e.g. ["access_as_user"]
    app_roles: list[dict] = field(default_factory=list)       # {"value", "allowed_member_types"}
    api_permissions: dict[str, list[str]] = field(default_factory=dict)   # resource -> scopes
    application_permissions: dict[str, list[str]] = field(default_factory=dict)  # resource -> roles
    admin_consent: bool = False                               # static delegated permissions granted
    group_membership_claims: str | None = None                # None, "SecurityGroup" or "All"
    access_token_version: int = 1                             # tokens issued *for* this API
    implicit_id_token: bool = False
    implicit_access_token: bool = False
    front_channel_logout_url: str | None = None
    known_client_applications: list[str] = field(default_factory=list)
    # {"id_token": [...], "access_token": [...]}: optional claims (names: OPTIONAL_CLAIMS)
    optional_claims: dict[str, list[str]] = field(default_factory=dict)

    @property
    def multi_tenant(self) -> bool:
        return self.sign_in_audience != "AzureADMyOrg"

    @property
    def allows_personal_accounts(self) -> bool:
        return self.sign_in_audience in PERSONAL_AUDIENCES

    @property
    def allows_work_accounts(self) -> bool:
        return self.sign_in_audience != "PersonalMicrosoftAccount"

    @property
    def confidential(self) -> bool:
        return not self.public_client

    @property
    def identifiers(self) -> list[str]:
        return [self.client_id, *self.identifier_uris]

    def all_redirect_uris(self) -> list[str]:
        return [*self.redirect_uris, *self.spa_redirect_uris]

    def redirect_uri_allowed(self, uri: str, *, spa: bool | None = None) -> bool:
        """Exact match, except that the port of http://localhost and http://127.0.0.1 URIs is
        ignored, as Entra does for loopback redirect URIs (RFC 8252)."""
        registered = {None: self.all_redirect_uris(), True: self.spa_redirect_uris,
                      False: self.redirect_uris}[spa]
        key = _loopback_key(uri)
        return any(uri == r or (key is not None and key == _loopback_key(r)) for r in registered)


def _loopback_key(uri: str):
    try:
        parts = urlsplit(uri)
    except ValueError:                   # e.g. "http://[::1": no URI, so no loopback URI either
        return None
    if parts.scheme != "http" or parts.hostname not in ("localhost", "127.0.0.1"):
        return None
    return parts.hostname, parts.path or "/", parts.query
