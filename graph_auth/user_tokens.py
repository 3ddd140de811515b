"""The signed-in user's tokens for one request: serve a fresh access token from the cache with one
query (once per request), refresh under the row lock when needed, and keep the session's expiry
hint current. The sequence itself is ``TokenProvider``'s; this adds the user's own steps."""
from __future__ import annotations

import logging

from django.views.decorators.debug import sensitive_variables

from . import id_tokens, msal_client
from . import session as keys
from .app_settings import app_settings
from .exceptions import InteractionRequired, InvalidIdToken
from .log import clean
from .models import MicrosoftAccount
from .msal_client import Hit
from .signals import graph_refresh_failed, graph_tokens_refreshed
from .token_store import TokenStore
from .tokens import TokenProvider

logger = logging.getLogger(__name__)

# AADSTS codes of refresh failures, to a short reason for the graph_refresh_failed signal.
REASONS = {50173: "revoked", 50133: "revoked", 70043: "revoked", 700082: "expired",
           700084: "expired", 70008: "expired", 65001: "consent_required", 50057: "user_disabled",
           50076: "interaction_required", 50079: "interaction_required", 50158: "interaction_required"}


def classify(error: InteractionRequired) -> str:
    if error.aadsts in REASONS:
        return REASONS[error.aadsts]
    if error.suberror == "consent_required" or error.error == "consent_required":
        return "consent_required"
    return error.error if error.error in ("interaction_required", "no_account") else "invalid_grant"


class UserTokens(TokenProvider):
    """Access tokens of a user who signed in through graph_auth: ``UserTokens(request)`` for the
    request's user (the account comes from the session, which also gets the refresh hint), or
    ``UserTokens.for_user(user)`` outside a request (management commands, background jobs).

    One instance reads the user's cache at most once while its tokens stay fresh: the middleware
    makes one per request, shared by the refresh ahead of expiry and ``request.graph``.
    """

    def __init__(self, request=None, *, user=None, account_id: str | None = None) -> None:
        super().__init__()
        self.request = request
        self.user = user if request is None else request.user
        self._account_id = account_id
        self._checked: str | None = None

    @classmethod
    def for_user(cls, user) -> UserTokens:
        account = user.microsoft_accounts.exclude(home_account_id="").order_by("-last_login_at").first()
        return cls(user=user, account_id=account.home_account_id if account else None)

    @property
    def account_id(self) -> str | None:
        if self.request is None:
            return self._account_id
        status = keys.token_status(self.request.session)
        return status.get("account") if status else None

    @property
    def store(self) -> TokenStore:
        return TokenStore(self.user)

    def prepare(self) -> None:
        if self._checked is None:
            account_id = self.account_id
            if not account_id or not self.user.is_authenticated:
                raise InteractionRequired({"error": "no_account",
                                           "error_description": "The user did not sign in with Microsoft."})
            self._checked = account_id

    def account(self, cache) -> str | None:
        return self._checked

    @property
    def throttle_key(self) -> str | None:
        # Known once a token was asked for (no query: async code reads it on the event loop).
        return f"user:{self._checked}" if self._checked else None

    @sensitive_variables()
    def acquire(self, cache, want) -> Hit:
        # Due by our margin: msal alone would wait until 5 minutes before expiry.
        result = msal_client.acquire_silent(cache, self._checked, want.scopes, force_refresh=True,
                                            claims_challenge=want.claims)
        self._check_same_identity(result, self._checked)
        return msal_client.result_hit(result, self.margin)

    def fetched(self, hit, want, cache, *, acquired: bool) -> None:
        if self.request is not None:
            keys.set_token_status(self.request.session, self._checked, msal_client.token_status(
                cache, self._checked, app_settings.SCOPES, self.margin))
        if acquired:
            graph_tokens_refreshed.send(sender=None, user=self.user)

    def failed(self, error: InteractionRequired, want) -> None:
        reason = classify(error)
        logger.info("token refresh for user %s needs interaction: %s (AADSTS%s)",
                    self.user.pk, reason, clean(error.aadsts, 20))
        graph_refresh_failed.send(sender=None, user=self.user, error=error.error, code=error.aadsts,
                                  reason=reason)

    @sensitive_variables()
    def _check_same_identity(self, result: dict, account_id: str) -> None:
        """A refresh must answer for the signed-in account: its ``client_info`` names the same home
        account, and a refreshed ID token names a (tid, oid) linked to this user with that home
        account (for a guest the two pairs differ; each is compared with its own kind)."""
        check_refresh_account(result, account_id)
        if not result.get("id_token"):
            return
        try:
            claims = id_tokens.validate(result["id_token"])
        except InvalidIdToken as exc:
            raise InteractionRequired({"error": "invalid_id_token", "error_description": str(exc)}) from exc
        linked = MicrosoftAccount.objects.filter(user=self.user, tenant_id=claims["tid"],
                                                 object_id=claims["oid"], home_account_id=account_id)
        if not linked.exists():
            _mismatch("the refreshed ID token names another identity than the session's account")


def check_refresh_account(result: dict, account_id: str) -> None:
    """Raise InteractionRequired when a refresh answer's ``client_info`` names another account than
    ``account_id``: msal would have written that account's refresh token into this one's entry, so
    the caller must not save the cache (raising inside the row lock rolls it back)."""
    home = msal_client.result_account(result)
    if home is not None and home != account_id:
        _mismatch("the refresh answer's client_info names another account")


def _mismatch(reason: str):
    logger.warning("token refresh rejected: %s", reason)
    raise InteractionRequired({"error": "identity_mismatch",
                               "error_description": "The refreshed tokens are for another user."})


@sensitive_variables()
def store_sign_in(user, claims: dict, cache) -> str:
    """Keep the tokens of a completed sign-in for ``user`` and record msal's key for them on the
    (tid, oid) link; return that key (the home account id, taken from the cache, never rebuilt
    from the ID token)."""
    account_id = msal_client.sole_account(cache)
    TokenStore(user).replace(cache)
    MicrosoftAccount.objects.filter(user=user, tenant_id=claims["tid"], object_id=claims["oid"]).update(
        home_account_id=account_id)
    return account_id
