"""The emulated directory: tenants, groups, users and app registrations, defined as plain data.

Tests and the demo describe a directory as a dict (see ``default_directory.py``); everything the
emulator knows about who may sign in where comes from here.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_URI = "https://graph.microsoft.com"
_NS = uuid.UUID("6f1d3c1e-2b7a-4c55-9a43-9d2b0c1f7e10")


def stable_id(kind: str, name: str) -> str:
    """Return a GUID derived from a name, so a directory defined by names has stable object ids."""
    return str(uuid.uuid5(_NS, f"{kind}:{name.lower()}"))


class DirectoryError(ValueError):
    """The directory data is inconsistent (unknown tenant, group or duplicate id)."""


@dataclass
class Tenant:
    id: str
    domain: str
    display_name: str = ""
    domains: list[str] = field(default_factory=list)

    def matches(self, key: str) -> bool:
        key = key.lower()
        return key == self.id or key in (d.lower() for d in [self.domain, *self.domains])


@dataclass
class Group:
    id: str
    tenant_id: str
    display_name: str
    security_enabled: bool = True


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

    @property
    def username(self) -> str:
        return self.user_principal_name


@dataclass
class AppRegistration:
    client_id: str
    tenant_id: str
    display_name: str
    sign_in_audience: str = "AzureADMyOrg"                    # or AzureADMultipleOrgs
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
    optional_claims: dict[str, list[str]] = field(default_factory=dict)   # "id_token"/"access_token" -> names

    @property
    def multi_tenant(self) -> bool:
        return self.sign_in_audience != "AzureADMyOrg"

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


def _fields(cls) -> set[str]:
    return set(cls.__dataclass_fields__)


class Directory:
    """Tenants, groups, users and apps, with the look-ups the endpoints need."""

    def __init__(self, tenants=(), groups=(), users=(), apps=()) -> None:
        self.tenants: list[Tenant] = list(tenants)
        self.groups: dict[str, Group] = {g.id: g for g in groups}
        self.users: dict[str, User] = {u.id: u for u in users}
        self.apps: dict[str, AppRegistration] = {a.client_id: a for a in apps}

    # -- construction from data -------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> Directory:
        """Build a directory from plain data; names may stand in for ids (see the README)."""
        data = copy.deepcopy(data)
        directory = cls()
        for t in data.get("tenants", []):
            t.setdefault("id", stable_id("tenant", t["domain"]))
            directory.tenants.append(cls._build(Tenant, t, "tenant"))
        for g in data.get("groups", []):
            g["tenant_id"] = directory._tenant_id(g.pop("tenant", None), g)
            g.setdefault("id", stable_id("group", f"{g['tenant_id']}:{g['display_name']}"))
            directory._add(directory.groups, cls._build(Group, g, "group"))
        for u in data.get("users", []):
            u["tenant_id"] = directory._tenant_id(u.pop("tenant", None), u)
            u.setdefault("id", stable_id("user", u["user_principal_name"]))
            u["groups"] = [directory._group_id(name, u["tenant_id"]) for name in u.get("groups", [])]
            directory._add(directory.users, cls._build(User, u, "user"))
        for a in data.get("apps", []):
            a["tenant_id"] = directory._tenant_id(a.pop("tenant", None), a)
            directory._add(directory.apps, cls._build(AppRegistration, a, "app"), key="client_id")
        return directory

    @staticmethod
    def _build(kind, values: dict, label: str):
        unknown = set(values) - _fields(kind)
        if unknown:
            raise DirectoryError(f"unknown {label} field(s): {', '.join(sorted(unknown))}")
        return kind(**values)

    @staticmethod
    def _add(table: dict, obj, key: str = "id") -> None:
        if getattr(obj, key) in table:
            raise DirectoryError(f"duplicate id {getattr(obj, key)!r}")
        table[getattr(obj, key)] = obj

    def _tenant_id(self, key: str | None, obj: dict) -> str:
        if key is None and "tenant_id" in obj:
            key = obj.pop("tenant_id")
        if key is None:
            if len(self.tenants) != 1:
                raise DirectoryError(f"say which tenant {obj} belongs to")
            return self.tenants[0].id
        tenant = self.tenant(key)
        if tenant is None:
            raise DirectoryError(f"unknown tenant {key!r}")
        return tenant.id

    def _group_id(self, name: str, tenant_id: str) -> str:
        if name in self.groups:
            return name
        for g in self.groups.values():
            if g.tenant_id == tenant_id and g.display_name == name:
                return g.id
        raise DirectoryError(f"unknown group {name!r}")

    # -- look-ups -----------------------------------------------------------------------------
    def tenant(self, key: str) -> Tenant | None:
        """Return the tenant for a GUID or a verified domain (case-insensitive)."""
        return next((t for t in self.tenants if t.matches(key)), None)

    def user(self, oid: str) -> User | None:
        return self.users.get(oid)

    def user_by_name(self, username: str) -> User | None:
        """Return the user by UPN or mail (case-insensitive)."""
        name = (username or "").strip().lower()
        for u in self.users.values():
            if name in (u.user_principal_name.lower(), (u.mail or "").lower()):
                return u
        return None

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
        return app.tenant_id == tenant_id or app.multi_tenant

    def groups_of(self, user: User, security_only: bool = False) -> list[Group]:
        groups = [self.groups[g] for g in user.groups if g in self.groups]
        return [g for g in groups if g.security_enabled or not security_only]

    def add_user(self, **values) -> User:
        """Add a user at run time (tests); ``tenant`` may be a GUID or a domain."""
        values["tenant_id"] = self._tenant_id(values.pop("tenant", None), values)
        values.setdefault("id", stable_id("user", values["user_principal_name"]))
        values["groups"] = [self._group_id(g, values["tenant_id"]) for g in values.get("groups", [])]
        user = self._build(User, values, "user")
        self._add(self.users, user)
        return user

    def add_app(self, **values) -> AppRegistration:
        """Register an app at run time (tests)."""
        values["tenant_id"] = self._tenant_id(values.pop("tenant", None), values)
        app = self._build(AppRegistration, values, "app")
        self._add(self.apps, app, key="client_id")
        return app
