"""Ending sign-ins: one user everywhere, or the sessions of one Entra session (front-channel logout).

Sessions opened by a Microsoft sign-in are recorded in ``UserSession`` so they can be ended from
outside the browser that holds them (any server-side session engine: db, cache, cached_db, file).
"""
from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings

from . import id_tokens
from .app_tokens import app_graph
from .exceptions import BudgetExceeded, GraphAuthError, IdentityPlatformUnavailable, InvalidIdToken
from .log import clean
from .models import MicrosoftAccount, UserSession
from .token_store import AppTokenStore, TokenStore

logger = logging.getLogger(__name__)


def record_session(request, user, sid: str = "") -> None:
    """Remember the session this sign-in opened (call after ``login()``)."""
    key = request.session.session_key
    if key is None:
        request.session.save()
        key = request.session.session_key
    UserSession.objects.update_or_create(session_key=key, defaults={"user": user, "sid": sid or ""})


def forget_session(request) -> None:
    if request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def end_sessions(records) -> int:
    """Delete the Django sessions of ``records`` (a UserSession queryset); return how many."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(records.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    records.delete()
    return len(keys)


def end_entra_session(sid: str, iss: str | None = None) -> int:
    """Front-channel logout: end the sessions opened in Entra session ``sid``; users left with no
    session lose their stored tokens too. An ``iss`` (OIDC Front-Channel Logout 1.0; Entra sends
    only ``sid``) must be the issuer of a tenant the session's user signed in to, else nothing ends."""
    if not sid:
        return 0
    records = UserSession.objects.filter(sid=sid)
    if iss is not None:
        records = records.filter(user__in=[r.user_id for r in records if _issued_for(r.user_id, iss)])
    users = {r.user for r in records.select_related("user")}
    ended = end_sessions(records)
    for user in users:
        if not UserSession.objects.filter(user=user).exists():
            TokenStore(user).delete()
    return ended


def _issued_for(user_id, iss: str) -> bool:
    """Whether ``iss`` is the issuer of one of the tenants the user's Microsoft accounts are in."""
    for tid in MicrosoftAccount.objects.filter(user_id=user_id).values_list("tenant_id", flat=True):
        try:
            id_tokens.check_issuer({"tid": tid, "iss": iss})
            return True
        except InvalidIdToken:
            continue
        except (IdentityPlatformUnavailable, BudgetExceeded):
            logger.warning("front-channel logout: the issuer can't be checked now (identity platform "
                           "unavailable); nothing ended")
            return False
    return False


def revoke_at_entra(user) -> bool:
    """Ask Graph to revoke the user's refresh tokens and sessions everywhere (app-only
    ``revokeSignInSessions``; needs the User.RevokeSessions.All application permission).

    Only accounts Graph can revoke (see ``MicrosoftAccount.revocable``): for a personal account or
    a guest nothing is asked, and only this site's sessions and tokens end."""
    revoked = False
    for account in MicrosoftAccount.objects.filter(user=user):
        if not account.revocable:
            logger.info("account %s is a %s: Microsoft can't revoke its sessions from here", account.pk,
                        "personal account" if account.is_personal else "guest")
            continue
        try:
            app_graph(tenant=account.tenant_id).post(f"/users/{account.object_id}/revokeSignInSessions")
            revoked = True
        except GraphAuthError as exc:
            logger.warning("revokeSignInSessions failed for %s: %s", clean(account), clean(exc))
    return revoked


def revocable_at_microsoft(user) -> bool:
    """Whether any of the user's Microsoft accounts can have its sign-ins revoked by Graph."""
    return any(a.revocable for a in MicrosoftAccount.objects.filter(user=user))


def sign_out_everywhere(user) -> dict:
    """Revoke the user's sessions at Entra (when the app may, and the accounts are revocable),
    delete their tokens (the on-behalf-of tokens of the site's API too) and end every Django
    session of theirs. Returns what was done."""
    revoked = revoke_at_entra(user)
    TokenStore(user).delete()
    for tid, oid in MicrosoftAccount.objects.filter(user=user).values_list("tenant_id", "object_id"):
        AppTokenStore.for_caller(tid, oid).delete()          # the API's on-behalf-of tokens for them
    ended = end_sessions(UserSession.objects.filter(user=user))
    logger.info("signed user %s out everywhere (revoked at Entra: %s, sessions ended: %s)",
                user.pk, revoked, ended)
    return {"revoked": revoked, "sessions_ended": ended, "revocable": revocable_at_microsoft(user)}
