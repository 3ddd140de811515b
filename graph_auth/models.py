"""The (tenant id, object id) link to a Django user, and each user's encrypted msal token cache."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The tenant of personal Microsoft accounts (Outlook.com, Xbox, ...): the same id in every cloud.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


class MicrosoftAccount(models.Model):
    """A Microsoft Entra identity linked to a Django user.

    Keyed by the immutable (tid, oid) pair of the tenant the user signed in to (for a B2B guest:
    the inviting tenant and the guest's object there), never by email or UPN, which can be changed
    or reused. ``home_account_id`` is msal's key for the account's tokens, ``<uid>.<utid>`` of the
    user's *home* tenant: it differs from ``<oid>.<tid>`` for guests, so it is stored as msal gave it.
    """
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="microsoft_accounts")
    tenant_id = models.CharField(_("tenant id (tid)"), max_length=64)
    object_id = models.CharField(_("object id (oid)"), max_length=64)
    username = models.CharField(_("preferred username at last sign-in"), max_length=255, blank=True)
    home_account_id = models.CharField(_("msal home account id"), max_length=150, blank=True,
                                       help_text=_("msal's key for this account's tokens (home oid.tid)"))
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Microsoft account")
        constraints = [models.UniqueConstraint(fields=["tenant_id", "object_id"],
                                               name="graph_auth_account_tid_oid")]

    def __str__(self) -> str:
        return self.username or f"{self.object_id}@{self.tenant_id}"

    @property
    def is_personal(self) -> bool:
        """Whether this is a personal Microsoft account (not a work or school account)."""
        return self.tenant_id == CONSUMERS_TENANT_ID

    @property
    def is_guest(self) -> bool:
        """Whether this is a B2B guest: signed in to a tenant that is not their home tenant (the
        home account id names the home tenant last)."""
        home_tenant = self.home_account_id.rpartition(".")[2]
        return bool(home_tenant) and home_tenant != self.tenant_id and not self.is_personal

    @property
    def revocable(self) -> bool:
        """Whether Graph's revokeSignInSessions can end this account's sign-ins: not for personal
        accounts (no directory), nor for guests (they sign in through their home tenant)."""
        return not (self.is_personal or self.is_guest)


class EncryptedTokenCache(models.Model):
    """An msal token cache, Fernet-encrypted (``data``); only the status columns are readable."""
    data = models.TextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TokenCache(EncryptedTokenCache):
    """One user's msal token cache."""
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="graph_token_cache", primary_key=True)
    has_refresh_token = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("token cache")

    def __str__(self) -> str:
        return gettext("tokens of %(user)s") % {"user": self.user}

    @staticmethod
    def context_for(user_id) -> str:
        """What this row's ciphertext is bound to (see graph_auth.crypto)."""
        return f"user:{user_id}"

    @property
    def context(self) -> str:
        return self.context_for(self.user_id)

    def __repr__(self) -> str:                     # never show the encrypted blob either
        return f"<TokenCache user={self.user_id} expires={self.access_token_expires_at}>"


class AppTokenCache(EncryptedTokenCache):
    """A token cache of the app's own, shared by every process: client-credentials tokens per
    client id and tenant, and on-behalf-of tokens per API caller."""
    key = models.CharField(max_length=200, primary_key=True)

    class Meta:
        verbose_name = _("app token cache")

    def __str__(self) -> str:
        return gettext("app tokens %(key)s") % {"key": self.key}

    @staticmethod
    def context_for(key: str) -> str:
        """What this row's ciphertext is bound to (see graph_auth.crypto)."""
        return f"app:{key}"

    @property
    def context(self) -> str:
        return self.context_for(self.key)

    def __repr__(self) -> str:
        return f"<AppTokenCache {self.key} expires={self.access_token_expires_at}>"


class UserSession(models.Model):
    """A Django session opened by a Microsoft sign-in, with Entra's session id (``sid``), so that
    "sign out everywhere" and Entra's front-channel logout can end it."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="graph_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    sid = models.CharField(_("Entra session id (sid)"), max_length=128, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("signed-in session")

    def __str__(self) -> str:
        return gettext("session of %(user)s since %(time)s") % {
            "user": self.user, "time": f"{self.created_at:%Y-%m-%d %H:%M}"}
