"""Admin pages for linked accounts and token status; token values and the encrypted cache are
never shown. Both are read-only: deleting an account unlinks it (and deletes the user's tokens),
deleting a token cache makes the site forget the user's tokens."""
from django.contrib import admin

from .models import MicrosoftAccount, TokenCache


@admin.register(MicrosoftAccount)
class MicrosoftAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "username", "tenant_id", "object_id", "last_login_at", "created_at")
    search_fields = ("username", "object_id", "tenant_id", "user__username", "user__email")
    fields = ("user", "username", "tenant_id", "object_id", "created_at", "last_login_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TokenCache)
class TokenCacheAdmin(admin.ModelAdmin):
    list_display = ("user", "access_token_expires_at", "has_refresh_token", "scopes", "updated_at")
    fields = ("user", "access_token_expires_at", "has_refresh_token", "scopes", "updated_at")
    readonly_fields = fields
    search_fields = ("user__username", "user__email")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
