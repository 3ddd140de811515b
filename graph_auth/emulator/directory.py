"""The emulated directory: tenants, groups, users and app registrations, defined as plain data.

Tests and the demo describe a directory as a dict (see ``default_directory.py``, built by
``directory_data.py``); everything the emulator knows about who may sign in where comes from here.

Account kinds: a *member* belongs to its tenant; a *B2B guest* is a user object of its own in the
inviting tenant that links to the invited person's home user (``home_user_id``) and has no
credentials of its own; a *personal account* lives in the consumers tenant (``CONSUMERS_TENANT_ID``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_URI = "https://graph.microsoft.com"
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"   # personal Microsoft accounts
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


class Directory:
    """Tenants, groups, users and apps, with the look-ups the endpoints need."""

    def __init__(self, tenants=(), groups=(), users=(), apps=()) -> None:
        self.tenants: list[Tenant] = list(tenants)
        self.groups: dict[str, Group] = {g.id: g for g in groups}
        self.users: dict[str, User] = {u.id: u for u in users}
        self.apps: dict[str, AppRegistration] = {a.client_id: a for a in apps}

    @classmethod
    def from_dict(cls, data: dict) -> Directory:
        """Build a directory from plain data; names may stand in for ids (see the README)."""
        from .directory_data import build
        return build(cls(), data)

    # -- look-ups -----------------------------------------------------------------------------
    def tenant(self, key: str) -> Tenant | None:
        """Return the tenant for a GUID or a verified domain (case-insensitive)."""
        return next((t for t in self.tenants if t.matches(key)), None)

    def user(self, oid: str) -> User | None:
        return self.users.get(oid)

    def user_by_name(self, username: str) -> User | None:
        """Return the user by UPN, else by mail (case-insensitive)."""
        name = (username or "").strip().lower()
        users = list(self.users.values())
        return (next((u for u in users if u.user_principal_name.lower() == name), None)
                or next((u for u in users if name and (u.mail or "").lower() == name), None))

    def person_by_name(self, username: str) -> User | None:
        """Return the account someone signs in with by that name: a member or personal account
        (guest objects have no credentials; their person signs in with the home account)."""
        name = (username or "").strip().lower()
        people = [u for u in self.users.values() if not u.guest]
        return (next((u for u in people if u.user_principal_name.lower() == name), None)
                or next((u for u in people if name and (u.mail or "").lower() == name), None))

    def home_of(self, user: User) -> User:
        """Return the account the person authenticates with: a guest's home user, else the user."""
        return self.users.get(user.home_user_id, user) if user.guest else user

    def guest_of(self, person: User, tenant_id: str) -> User | None:
        """Return ``person``'s guest object in another tenant, if they were invited there."""
        return next((u for u in self.users.values()
                     if u.tenant_id == tenant_id and u.home_user_id == person.id), None)

    def users_in(self, tenant_id: str) -> list[User]:
        return [u for u in self.users.values() if u.tenant_id == tenant_id]

    def app(self, client_id: str) -> AppRegistration | None:
        return self.apps.get((client_id or "").lower()) or self.apps.get(client_id)

    def app_by_identifier(self, identifier: str) -> AppRegistration | None:
        """Return the app that exposes an API under a client id or an App ID URI."""
        ident = identifier.rstrip("/").lower()
        for a in self.apps.values():
            if ident in (i.rstrip("/").lower() for i in a.identifiers):
                return a
        return None

    def app_available_in(self, app: AppRegistration, tenant_id: str) -> bool:
        """Whether users of ``tenant_id`` can use the app (its signInAudience)."""
        if tenant_id == CONSUMERS_TENANT_ID:
            return app.allows_personal_accounts
        return app.tenant_id == tenant_id or (app.multi_tenant and app.allows_work_accounts)

    def groups_of(self, user: User, security_only: bool = False, *, transitive: bool = False) -> list[Group]:
        """The user's groups: direct memberships, or with ``transitive`` the groups those are in too."""
        found, seen, todo = [], set(), list(user.groups)
        while todo:
            group_id = todo.pop(0)
            if group_id in seen or group_id not in self.groups:
                continue
            seen.add(group_id)
            found.append(self.groups[group_id])
            if transitive:               # breadth first; a cycle in the data ends at a seen group
                todo.extend(self.groups[group_id].member_of)
        return [g for g in found if g.security_enabled or not security_only]

    # -- changes at run time (tests) --------------------------------------------------------------
    def add_user(self, **values) -> User:
        """Add a user at run time (tests); ``tenant`` may be a GUID or a domain, ``invited`` a home
        user's UPN (a B2B guest, see ``directory_data``)."""
        from .directory_data import add_user
        return add_user(self, values)

    def add_app(self, **values) -> AppRegistration:
        """Register an app at run time (tests)."""
        from .directory_data import add_app
        return add_app(self, values)

    def change_upn(self, user: User, upn: str) -> User:
        """Rename a user (their UPN changed since the last sign-in); a mail equal to the old UPN follows."""
        if self.user_by_name(upn) not in (None, user):
            raise DirectoryError(f"{upn!r} is taken")
        if (user.mail or "").lower() == user.user_principal_name.lower():
            user.mail = upn
        user.user_principal_name = upn
        return user
