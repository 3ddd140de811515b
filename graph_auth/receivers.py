"""Delete a user's tokens when the user is deactivated or a Microsoft account is unlinked
(deleting the user cascades)."""
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import MicrosoftAccount, TokenCache


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="graph_auth_deactivated")
def delete_tokens_of_inactive_users(sender, instance, **kwargs):
    # QuerySet.update(is_active=False) sends no signal; such users can't use their tokens anyway
    # (ModelBackend.get_user refuses inactive users), but the row stays until the next save.
    if getattr(instance, "is_active", True) is False:
        TokenCache.objects.filter(user_id=instance.pk).delete()


@receiver(post_delete, sender=MicrosoftAccount, dispatch_uid="graph_auth_unlinked")
def delete_tokens_of_unlinked_accounts(sender, instance, **kwargs):
    """Unlinking an identity (e.g. in the admin) stops the site acting as it."""
    TokenCache.objects.filter(user_id=instance.user_id).delete()
