"""Build a ``Directory`` from plain data: names stand in for ids, guests name their home user.

Users come in three kinds (see ``objects.py``): members, personal accounts (``"tenant":
"consumers"`` or the consumers tenant's id; their ids take the personal-account form) and B2B
guests, declared by naming the invited home user: ``{"tenant": "contoso.onmicrosoft.com",
"invited": "fabrice@fabrikam.onmicrosoft.com", "groups": [...]}``. A guest gets its own object id,
``user_type`` "Guest", a ``#EXT#`` UPN in the inviting tenant, the home user's name and mail, and no
password (the person signs in with the home account).
"""
from __future__ import annotations

import copy

from .constants import CONSUMERS_TENANT_ID
from .objects import (
    OPTIONAL_CLAIMS,
    TOKEN_TYPES,
    AppRegistration,
    DirectoryError,
    Group,
    Tenant,
    User,
    personal_object_id,
    stable_id,
)


def build(directory, data: dict):
    """Fill ``directory`` (a ``Directory``) from plain data and return it."""
    data = copy.deepcopy(data)
    for t in data.get("tenants", []):
        t.setdefault("id", stable_id("tenant", t["domain"]))
        directory.tenants.append(_build(Tenant, t, "tenant"))
    parents = {}
    for g in data.get("groups", []):
        g["tenant_id"] = _tenant_id(directory, g.pop("tenant", None), g)
        g.setdefault("id", stable_id("group", f"{g['tenant_id']}:{g['display_name']}"))
        parents[g["id"]] = g.pop("member_of", [])
        _add(directory.groups, _build(Group, g, "group"))
    for group_id, names in parents.items():      # nested groups: parents may come later in the data
        group = directory.groups[group_id]
        group.member_of = [_group_id(directory, name, group.tenant_id) for name in names]
    users = data.get("users", [])
    for u in [u for u in users if "invited" not in u] + [u for u in users if "invited" in u]:
        add_user(directory, u)
    for a in data.get("apps", []):
        add_app(directory, a)
    return directory


def add_user(directory, values: dict) -> User:
    """Add one user (member, personal account or guest) described by plain data."""
    values = dict(values)
    values["tenant_id"] = _tenant_id(directory, values.pop("tenant", None), values)
    if "invited" in values:
        _guest_defaults(directory, values, values.pop("invited"))
    elif values["tenant_id"] == CONSUMERS_TENANT_ID:
        values.setdefault("id", personal_object_id(values["user_principal_name"]))
    values.setdefault("id", stable_id("user", values["user_principal_name"]))
    values["groups"] = [_group_id(directory, g, values["tenant_id"]) for g in values.get("groups", [])]
    user = _build(User, values, "user")
    _add(directory.users, user)
    return user


def add_app(directory, values: dict) -> AppRegistration:
    values = dict(values)
    values["tenant_id"] = _tenant_id(directory, values.pop("tenant", None), values)
    app = _build(AppRegistration, values, "app")
    for token_type, names in app.optional_claims.items():
        unknown = set(names) - set(OPTIONAL_CLAIMS)
        if token_type not in TOKEN_TYPES or unknown:
            raise DirectoryError(f"unknown optional claim(s) {token_type}: {sorted(unknown)} "
                                 f"(known: {', '.join(OPTIONAL_CLAIMS)})")
    _add(directory.apps, app, key="client_id")
    return app


def _guest_defaults(directory, values: dict, invited: str) -> None:
    home = directory.user(invited) or directory.person_by_name(invited)
    tenant = directory.tenant(values["tenant_id"])
    if home is None or home.guest:
        raise DirectoryError(f"unknown invited user {invited!r} (name the home user, declared too)")
    if home.tenant_id == tenant.id or tenant.personal:
        raise DirectoryError(f"{invited!r} cannot be a guest in {tenant.domain!r}")
    if directory.guest_of(home, tenant.id) is not None:
        raise DirectoryError(f"{invited!r} is already a guest in {tenant.domain!r}")
    upn = f"{home.user_principal_name.replace('@', '_')}#EXT#@{tenant.domain}"
    values.setdefault("user_principal_name", upn)
    for name in ("display_name", "given_name", "surname"):
        values.setdefault(name, getattr(home, name))
    values.setdefault("mail", home.mail or home.user_principal_name)
    values.setdefault("user_type", "Guest")
    values.setdefault("password", "")              # a guest object has no credentials of its own
    values["home_user_id"] = home.id


def _build(kind, values: dict, label: str):
    unknown = set(values) - set(kind.__dataclass_fields__)
    if unknown:
        raise DirectoryError(f"unknown {label} field(s): {', '.join(sorted(unknown))}")
    return kind(**values)


def _add(table: dict, obj, key: str = "id") -> None:
    if getattr(obj, key) in table:
        raise DirectoryError(f"duplicate id {getattr(obj, key)!r}")
    table[getattr(obj, key)] = obj


def _tenant_id(directory, key: str | None, obj: dict) -> str:
    if key is None and "tenant_id" in obj:
        key = obj.pop("tenant_id")
    if key is None:
        if len(directory.tenants) != 1:
            raise DirectoryError(f"say which tenant {obj} belongs to")
        return directory.tenants[0].id
    if key.lower() == "consumers":
        key = CONSUMERS_TENANT_ID
    tenant = directory.tenant(key)
    if tenant is None:
        raise DirectoryError(f"unknown tenant {key!r}")
    return tenant.id


def _group_id(directory, name: str, tenant_id: str) -> str:
    if name in directory.groups:
        return name
    for g in directory.groups.values():
        if g.tenant_id == tenant_id and g.display_name == name:
            return g.id
    raise DirectoryError(f"unknown group {name!r}")
