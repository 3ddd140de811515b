"""Admin pages for linked accounts and token status; token values and the encrypted cache are
never shown. Both are read-only: deleting an account unlinks it (and deletes the user's tokens),
deleting a token cache makes the site forget the user's tokens."""
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import AppTokenCache, MicrosoftAccount, TokenCache, UserSession
from .revocation import sign_out_everywhere


class ReadOnlyAdmin(admin.ModelAdmin):
    """View and delete only: these rows are written by graph_auth, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MicrosoftAccount)
class MicrosoftAccountAdmin(ReadOnlyAdmin):
    list_display = ("user", "username", "tenant_id", "object_id", "last_login_at", "created_at")
    search_fields = ("username", "object_id", "tenant_id", "user__username", "user__email")
    fields = ("user", "username", "tenant_id", "object_id", "home_account_id", "created_at", "last_login_at")
    readonly_fields = fields
    actions = ("sign_out_everywhere",)

    @admin.action(description=_("Sign out everywhere (revoke at Microsoft, delete tokens, end sessions)"),
                  permissions=["delete"])
    def sign_out_everywhere(self, request, queryset):
        users = {account.user for account in queryset.select_related("user")}
        revoked = ended = unrevocable = 0
        for user in users:
            result = sign_out_everywhere(user)
            revoked += result["revoked"]
            ended += result["sessions_ended"]
            unrevocable += not result["revocable"]
        text = gettext("Signed %(users)d user(s) out everywhere: %(ended)d session(s) ended, %(revoked)d "
                       "revoked at Microsoft.") % {"users": len(users), "ended": ended, "revoked": revoked}
        if unrevocable:
            text += " " + gettext("%(count)d signed in only as guests or with personal accounts, which "
                                  "Microsoft can't revoke from here.") % {"count": unrevocable}
        self.message_user(request, text, messages.SUCCESS)


@admin.register(TokenCache)
class TokenCacheAdmin(ReadOnlyAdmin):
    list_display = ("user", "access_token_expires_at", "has_refresh_token", "scopes", "updated_at")
    fields = ("user", "access_token_expires_at", "has_refresh_token", "scopes", "updated_at")
    readonly_fields = fields
    search_fields = ("user__username", "user__email")


@admin.register(AppTokenCache)
class AppTokenCacheAdmin(ReadOnlyAdmin):
    list_display = ("key", "access_token_expires_at", "scopes", "updated_at")
    fields = list_display
    readonly_fields = fields


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    list_display = ("user", "created_at", "sid")
    fields = ("user", "session_key_hint", "sid", "created_at")
    readonly_fields = fields
    search_fields = ("user__username", "user__email", "sid")

    @admin.display(description=_("session"))
    def session_key_hint(self, obj):               # never the whole key: it is a credential
        return f"{obj.session_key[:4]}…"
