"""Tenant segments in identity URLs: a GUID, a verified domain, or common/organizations/consumers."""
from __future__ import annotations

from ..errors import OAuthError

MULTI_TENANT = ("common", "organizations", "consumers")


def unknown_tenant(key: str) -> OAuthError:
    return OAuthError(
        "invalid_tenant", 90002,
        f"Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.")


def resolve(em, key: str):
    """Return (segment to use in endpoints, Tenant or None for common/organizations/consumers)."""
    if key.lower() in MULTI_TENANT:
        return key.lower(), None
    tenant = em.directory.tenant(key)
    if tenant is None:
        raise unknown_tenant(key)
    return tenant.id, tenant
