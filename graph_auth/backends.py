"""GraphAuthBackend: Microsoft Entra ID-token claims -> a Django user, through overridable hooks.

Users are found through ``MicrosoftAccount`` by (tid, oid) — never by email or UPN, which can be
changed or reused (the nOAuth attack). Subclass and override a hook to change one decision.
"""
from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from .app_settings import app_settings
from .exceptions import ClaimsRejected
from .models import MicrosoftAccount
from .signals import graph_user_authenticated

logger = logging.getLogger(__name__)


class GraphAuthBackend(ModelBackend):
    """Authenticate with validated ID-token claims: ``authenticate(request, id_token_claims=...)``.

    ``graph`` (optional) is a Graph client for the new tokens, used when the groups claim
    overflowed (more than 200 groups) to read the user's groups from Graph.
    """

    def authenticate(self, request, id_token_claims: dict | None = None, graph=None, **kwargs):
        if not id_token_claims:
            return None                          # not ours: the next backend gets a turn
        claims = dict(id_token_claims)
        if not self.verify_claims(claims):
            raise ClaimsRejected(f"claims rejected for {self.describe_user_by_claims(claims)}")
        claims["groups"] = self.get_groups(claims, graph)
        user = self.get_or_create_user(claims)
        if user is None or not self.user_can_authenticate(user):
            return None
        graph_user_authenticated.send(sender=type(self), user=user, claims=claims, request=request)
        return user

    # -- hooks ------------------------------------------------------------------------------------
    def verify_claims(self, claims: dict) -> bool:
        """Return whether this identity may sign in at all (default: yes; tenants are checked
        against ALLOWED_TENANTS when the ID token is validated)."""
        return True

    def describe_user_by_claims(self, claims: dict) -> str:
        """Describe the identity for log lines (no personal data beyond ids)."""
        return f"oid={claims.get('oid')} tid={claims.get('tid')}"

    def get_username(self, claims: dict) -> str:
        """The Django username for a new user: the immutable object id."""
        return claims["oid"]

    def filter_users_by_claims(self, claims: dict):
        """Return the users linked to this (tid, oid)."""
        return get_user_model().objects.filter(
            microsoft_accounts__tenant_id=claims["tid"], microsoft_accounts__object_id=claims["oid"])

    def get_groups(self, claims: dict, graph=None) -> list[str]:
        """Return the user's group ids: the ``groups`` claim, or Graph when it overflowed."""
        if "groups" in (claims.get("_claim_names") or {}) and graph is not None:
            return [g["id"] for g in graph.iterate("/me/memberOf", params={"$select": "id"})
                    if g.get("@odata.type", "#microsoft.graph.group") == "#microsoft.graph.group"]
        return list(claims.get("groups") or [])

    def create_user(self, claims: dict):
        """Create a user for a first sign-in (when CREATE_USERS allows it)."""
        model = get_user_model()
        user = model(**{model.USERNAME_FIELD: self.get_username(claims)})
        user.set_unusable_password()
        self.apply_claims(user, claims)
        user.save()
        return user

    def update_user(self, user, claims: dict):
        """Refresh the user's fields, groups and flags from the claims on every sign-in."""
        if self.apply_claims(user, claims):
            user.save()
        return user

    # -- the pipeline ---------------------------------------------------------------------------
    def get_or_create_user(self, claims: dict):
        users = list(self.filter_users_by_claims(claims)[:2])
        if len(users) > 1:
            raise ClaimsRejected(f"several users are linked to {self.describe_user_by_claims(claims)}")
        if users:
            user = self.update_user(users[0], claims)
        elif app_settings.CREATE_USERS:
            try:
                with transaction.atomic():
                    user = self.create_user(claims)
                    MicrosoftAccount.objects.create(user=user, tenant_id=claims["tid"],
                                                    object_id=claims["oid"])
            except IntegrityError:        # a concurrent first sign-in of the same identity won
                return self.get_or_create_user(claims)
        else:
            logger.info("no user linked to %s and CREATE_USERS is off", self.describe_user_by_claims(claims))
            return None
        MicrosoftAccount.objects.filter(tenant_id=claims["tid"], object_id=claims["oid"]).update(
            username=claims.get("preferred_username", "")[:255], last_login_at=timezone.now())
        self.sync_groups(user, claims)
        return user

    def apply_claims(self, user, claims: dict) -> bool:
        """Copy mapped claims onto the user (CLAIM_MAPPING); return whether anything changed."""
        values = mapped_values(claims, app_settings.CLAIM_MAPPING)
        groups, roles = set(claims.get("groups") or []), set(claims.get("roles") or [])
        values["is_staff"] = bool(groups & set(app_settings.STAFF_GROUPS) or roles & set(app_settings.STAFF_ROLES))
        values["is_superuser"] = bool(groups & set(app_settings.SUPERUSER_GROUPS)
                                      or roles & set(app_settings.SUPERUSER_ROLES))
        if not (app_settings.STAFF_GROUPS or app_settings.STAFF_ROLES):
            values.pop("is_staff")        # flags are managed only when configured
        if not (app_settings.SUPERUSER_GROUPS or app_settings.SUPERUSER_ROLES):
            values.pop("is_superuser")
        changed = False
        for field, value in values.items():
            if hasattr(user, field) and getattr(user, field) != value:
                setattr(user, field, value)
                changed = True
        return changed

    def sync_groups(self, user, claims: dict) -> None:
        """Make the user's membership of mapped Django groups match the claims (GROUP_MAP, ROLE_MAP).
        Django groups that no mapping names are left alone."""
        group_map, role_map = app_settings.GROUP_MAP, app_settings.ROLE_MAP
        if not (group_map or role_map):
            return
        wanted = {group_map[g] for g in claims.get("groups") or [] if g in group_map}
        wanted |= {role_map[r] for r in claims.get("roles") or [] if r in role_map}
        managed = set(group_map.values()) | set(role_map.values())
        current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
        if wanted - current:
            user.groups.add(*[Group.objects.get_or_create(name=n)[0] for n in sorted(wanted - current)])
        if current - wanted:
            user.groups.remove(*Group.objects.filter(name__in=current - wanted))


def mapped_values(claims: dict, mapping: dict) -> dict:
    """Apply CLAIM_MAPPING (user field -> claim name or callable(claims)).

    ``first_name``/``last_name`` fall back to splitting ``name``; ``email`` is only taken from the
    ``email`` claim (``preferred_username`` is not a verified address).
    """
    values = {}
    for field, source in mapping.items():
        value = source(claims) if callable(source) else claims.get(source)
        if value is None and field in ("first_name", "last_name") and claims.get("name"):
            first, _, last = claims["name"].partition(" ")
            value = first if field == "first_name" else last
        if value is not None:
            values[field] = value[:150] if isinstance(value, str) else value
    return values
