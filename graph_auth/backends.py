"""GraphAuthBackend: Microsoft Entra ID-token claims -> a Django user, through overridable hooks.

Users are found through ``MicrosoftAccount`` by (tid, oid) — never by email or UPN, which can be
changed or reused (the nOAuth attack). Subclass and override a hook to change one decision.
"""
from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.inspect import func_supports_parameter

from .adapter import get_adapter
from .app_settings import app_settings
from .exceptions import ClaimsRejected, GraphRequestError, StorageUnavailable
from .log import clean
from .models import MicrosoftAccount
from .signals import graph_user_authenticated

logger = logging.getLogger(__name__)


class GraphAuthBackend(ModelBackend):
    """Authenticate with validated ID-token claims: ``authenticate(request, id_token_claims=...)``.

    ``graph`` (optional) is a Graph client for the new tokens, used when the groups claim
    overflowed (more than 200 groups) to read the user's groups from Graph.
    """

    # Deprecated: the reason is also left on the request under this name, for code written before
    # graph_auth.authentication.authenticate() let ClaimsRejected through. Removed in the next release.
    REJECTION_ATTR = "graph_auth_rejection"

    def get_user(self, user_id):
        """The session's user (``request.user``); a database error is StorageUnavailable, which
        the middleware answers 503, not a 500."""
        try:
            return super().get_user(user_id)
        except DatabaseError as exc:
            raise StorageUnavailable(f"loading the signed-in user failed: {type(exc).__name__}") from exc

    async def aget_user(self, user_id):
        try:
            return await super().aget_user(user_id)
        except DatabaseError as exc:
            raise StorageUnavailable(f"loading the signed-in user failed: {type(exc).__name__}") from exc

    def authenticate(self, request, id_token_claims: dict | None = None, graph=None, **kwargs):
        if not id_token_claims:
            return None                          # not ours: the next backend gets a turn
        try:
            return self._authenticate(request, dict(id_token_claims), graph)
        except ClaimsRejected as exc:
            if request is not None:
                setattr(request, self.REJECTION_ATTR, str(exc))
            raise

    def _authenticate(self, request, claims: dict, graph):
        if not self.verify_claims(claims):
            raise ClaimsRejected(f"claims rejected for {self.describe_user_by_claims(claims)}")
        groups = self.get_groups(claims, graph)
        if groups is None:                       # overage and Graph could not tell: unknown
            claims.pop("groups", None)
        else:
            claims["groups"] = groups
        target = get_adapter().pre_login(request, claims)
        if target is not None:                   # the adapter links this identity to a user it chose
            self._link(target, claims)
        user = _call(self.get_or_create_user, claims, request)
        if user is None or not self.user_can_authenticate(user):
            return None
        graph_user_authenticated.send(sender=type(self), user=user, claims=claims, request=request)
        return user

    # -- hooks ------------------------------------------------------------------------------------
    def verify_claims(self, claims: dict) -> bool:
        """Return whether this identity may sign in at all: it has a tenant and an object id,
        and its tenant is in ALLOWED_TENANTS when that is set (the ID-token validation checks
        that too; this keeps the backend safe when called with claims from elsewhere)."""
        if not claims.get("tid") or not claims.get("oid"):
            return False
        allowed = app_settings.ALLOWED_TENANTS
        return not allowed or claims["tid"] in allowed

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

    def get_groups(self, claims: dict, graph=None) -> list[str] | None:
        """Return the user's group ids: the ``groups`` claim, or, when it overflowed (``_claim_names``,
        or ``hasgroups`` in implicit-flow tokens: more than 200 groups), Graph's
        ``POST /me/getMemberObjects`` in one request (transitive memberships, security groups only
        unless GROUPS_SECURITY_ENABLED_ONLY is off). The overage claim's own endpoint is never
        called: it names the retired Azure AD Graph.

        None means "unknown" (overage with no Graph client, or Graph failed): group-derived
        memberships and flags are then left as they are instead of being taken away.
        """
        if not _overflowed(claims):
            return list(claims.get("groups") or [])
        if graph is None:
            logger.warning("groups overage for %s and no Graph client: groups left unchanged",
                           clean(self.describe_user_by_claims(claims)))
            return None
        try:
            answer = graph.post("/me/getMemberObjects",
                                json={"securityEnabledOnly": bool(app_settings.GROUPS_SECURITY_ENABLED_ONLY)})
        except GraphRequestError as exc:
            logger.warning("groups overage for %s: reading the groups from Graph failed (%s); groups "
                           "left unchanged", clean(self.describe_user_by_claims(claims)), clean(exc))
            return None
        ids = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            logger.warning("groups overage for %s: Graph's answer has no list of ids; groups left "
                           "unchanged", clean(self.describe_user_by_claims(claims)))
            return None
        return ids

    def create_user(self, claims: dict, request=None):
        """Create a user for a first sign-in (when the adapter's ``is_open_for_signup`` allows it);
        the adapter's ``populate_user`` fills it in before it is saved."""
        model = get_user_model()
        user = model(**{model.USERNAME_FIELD: self.get_username(claims)})
        user.set_unusable_password()
        self.apply_claims(user, claims)
        get_adapter().populate_user(request, user, claims)
        user.save()
        return user

    def update_user(self, user, claims: dict):
        """Refresh the user's fields and flags from the claims on every sign-in (groups: sync_groups)."""
        if self.apply_claims(user, claims):
            user.save()
        return user

    # -- the pipeline ---------------------------------------------------------------------------
    def get_or_create_user(self, claims: dict, request=None, *, _retry: bool = True):
        """The orchestrator: find the linked user (or create one), update it, link it, sync groups."""
        users = list(self.filter_users_by_claims(claims)[:2])
        if len(users) > 1:
            raise ClaimsRejected(f"several users are linked to {self.describe_user_by_claims(claims)}")
        if users:
            self._link(users[0], claims)
            user = self.update_user(users[0], claims)
        elif get_adapter().is_open_for_signup(request, claims):
            try:
                with transaction.atomic():
                    user = _call(self.create_user, claims, request)
                    MicrosoftAccount.objects.create(user=user, **self._account_values(claims))
            except IntegrityError:
                if _retry:                # a concurrent first sign-in of the same identity won
                    # This method, not self's: an override (maybe older, without ``request``)
                    # that called super() is running already and gets the user from here.
                    return GraphAuthBackend.get_or_create_user(self, claims, request, _retry=False)
                # Not a race: e.g. a local user already has this username. Never take it over.
                raise ClaimsRejected(f"cannot create a user for {self.describe_user_by_claims(claims)}: "
                                     "its username is taken by a user not linked to it") from None
        else:
            logger.info("no user linked to %s and sign-up is closed (CREATE_USERS, the adapter)",
                        clean(self.describe_user_by_claims(claims)))
            return None
        self.sync_groups(user, claims)
        return user

    def _account_values(self, claims: dict) -> dict:
        return {"tenant_id": claims["tid"], "object_id": claims["oid"], "last_login_at": timezone.now(),
                "username": (claims.get("preferred_username") or "")[:255]}

    def _link(self, user, claims: dict) -> None:
        """Record the sign-in on the (tid, oid) link, creating it when a subclass's filter matched
        a user not linked yet; an identity linked to another user is refused."""
        values = self._account_values(claims)
        tid, oid = values.pop("tenant_id"), values.pop("object_id")
        account, created = MicrosoftAccount.objects.get_or_create(
            tenant_id=tid, object_id=oid, defaults={"user": user, **values})
        if account.user_id != user.pk:
            raise ClaimsRejected(f"{self.describe_user_by_claims(claims)} is linked to another user")
        if not created:
            MicrosoftAccount.objects.filter(pk=account.pk).update(**values)

    def apply_claims(self, user, claims: dict) -> bool:
        """Copy mapped claims onto the user (CLAIM_MAPPING) and set is_staff / is_superuser from
        STAFF_* / SUPERUSER_* (only when configured); return whether anything changed."""
        values = mapped_values(claims, app_settings.CLAIM_MAPPING)
        groups, roles = _groups(claims), set(claims.get("roles") or [])
        for flag, by_group, by_role in (("is_staff", app_settings.STAFF_GROUPS, app_settings.STAFF_ROLES),
                                        ("is_superuser", app_settings.SUPERUSER_GROUPS,
                                         app_settings.SUPERUSER_ROLES)):
            if not (by_group or by_role):
                continue                  # flags are managed only when configured
            granted = bool(roles & set(by_role)) or bool(groups and groups & set(by_group))
            if groups is None and by_group and not granted:
                continue                  # groups unknown (overage): can't tell, keep the flag
            values[flag] = granted
        changed = False
        for field, value in values.items():
            if not hasattr(user, field):
                continue
            max_length = _max_length(user, field)
            if max_length and isinstance(value, str):
                value = value[:max_length]
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed = True
        return changed

    def sync_groups(self, user, claims: dict) -> None:
        """Make the user's membership of mapped Django groups match the claims (GROUP_MAP, ROLE_MAP).
        Django groups that no mapping names are left alone."""
        group_map, role_map = app_settings.GROUP_MAP, app_settings.ROLE_MAP
        if not (group_map or role_map):
            return
        groups = _groups(claims)
        wanted = {role_map[r] for r in claims.get("roles") or [] if r in role_map}
        managed = set(group_map.values()) | set(role_map.values())
        if groups is None:                # groups unknown (overage): leave group-mapped ones alone
            managed -= set(group_map.values())
        else:
            wanted |= {group_map[g] for g in groups if g in group_map}
        current = set(user.groups.filter(name__in=managed | wanted).values_list("name", flat=True))
        if wanted - current:
            user.groups.add(*[Group.objects.get_or_create(name=n)[0] for n in sorted(wanted - current)])
        if (current & managed) - wanted:
            user.groups.remove(*Group.objects.filter(name__in=(current & managed) - wanted))


def _call(hook, claims: dict, request):
    """Call a hook with the request when it takes one: subclasses written before the adapter
    override ``create_user(claims)`` and ``get_or_create_user(claims)`` without it."""
    return hook(claims, request=request) if func_supports_parameter(hook, "request") else hook(claims)


def _overflowed(claims: dict) -> bool:
    """Whether the token names too many groups to list them (the "groups overage" claim)."""
    return "groups" in (claims.get("_claim_names") or {}) or claims.get("hasgroups") in (True, "true")


def _groups(claims: dict) -> set[str] | None:
    """The user's group ids, or None when the groups claim overflowed and Graph could not tell."""
    if "groups" not in claims and _overflowed(claims):
        return None
    return set(claims.get("groups") or [])


def _max_length(user, field: str) -> int | None:
    try:
        return getattr(user._meta.get_field(field), "max_length", None)
    except FieldDoesNotExist:             # a plain attribute or property: no limit to apply
        return None


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
            values[field] = value
    return values
