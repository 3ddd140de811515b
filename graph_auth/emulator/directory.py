"""The emulated directory: tenants, groups, users and app registrations, with the look-ups the endpoints need.

Tests and the demo describe a directory as a dict (see ``default_directory.py``, built by
``directory_data.py``); everything the emulator knows about who may sign in where comes from here.
The objects themselves (and the account kinds) are in ``objects.py``.
"""
from __future__ import annotations

from . import directory_data
from .constants import CONSUMERS_TENANT_ID, GRAPH_APP_ID, GRAPH_URI
from .objects import (
    OPTIONAL_CLAIMS,
    PERSONAL_AUDIENCES,
    TOKEN_TYPES,
    AppRegistration,
    DirectoryError,
    Group,
    Tenant,
    User,
    personal_object_id,
    stable_id,
)

# Names users import from here (they lived in this module before objects.py and constants.py).
__all__ = [
    "CONSUMERS_TENANT_ID", "GRAPH_APP_ID", "GRAPH_URI", "OPTIONAL_CLAIMS", "PERSONAL_AUDIENCES",
    "TOKEN_TYPES", "AppRegistration", "Directory", "DirectoryError", "Group", "Tenant", "User",
    "personal_object_id", "stable_id",
]


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
        return directory_data.build(cls(), data)

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
        return directory_data.add_user(self, values)

    def add_app(self, **values) -> AppRegistration:
        """Register an app at run time (tests)."""
        return directory_data.add_app(self, values)

    def change_upn(self, user: User, upn: str) -> User:
        """Rename a user (their UPN changed since the last sign-in); a mail equal to the old UPN follows."""
        if self.user_by_name(upn) not in (None, user):
            raise DirectoryError(f"{upn!r} is taken")
        if (user.mail or "").lower() == user.user_principal_name.lower():
            user.mail = upn
        user.user_principal_name = upn
        return user
