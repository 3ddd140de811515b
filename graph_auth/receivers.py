"""Delete a user's tokens when the user is deactivated (deletion cascades)."""
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import TokenCache


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="graph_auth_deactivated")
def delete_tokens_of_inactive_users(sender, instance, **kwargs):
    if getattr(instance, "is_active", True) is False:
        TokenCache.objects.filter(user_id=instance.pk).delete()
