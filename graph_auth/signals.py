"""Signals graph_auth sends (declarations only)."""
from django.dispatch import Signal

# After a sign-in: sender=backend class, user, claims (validated ID-token claims), request.
graph_user_authenticated = Signal()

# After a refresh grant saved new tokens: sender=None, user.
graph_tokens_refreshed = Signal()

# A refresh failed for good (revoked or expired refresh token, consent withdrawn...): sender=None,
# user, error (the AADSTS "error" string), code (AADSTS number or None), reason (a short label:
# "revoked", "expired", "consent_required", "interaction_required", "user_disabled", "invalid_grant",
# "no_account": msal's cache holds no account for the user).
graph_refresh_failed = Signal()
