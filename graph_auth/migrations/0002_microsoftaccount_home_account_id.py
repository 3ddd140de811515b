"""Store msal's home account id on each link instead of computing it from (oid, tid).

Existing rows get ``<oid>.<tid>``: what earlier releases used, and msal's key for members of the
tenant they signed in to. A guest's row is corrected at their next sign-in.
"""
from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat


def backfill(apps, schema_editor):
    MicrosoftAccount = apps.get_model("graph_auth", "MicrosoftAccount")
    MicrosoftAccount.objects.filter(home_account_id="").update(
        home_account_id=Concat("object_id", Value("."), "tenant_id"))


class Migration(migrations.Migration):

    dependencies = [
        ("graph_auth", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="microsoftaccount",
            name="home_account_id",
            field=models.CharField(blank=True, help_text="msal's key for this account's tokens (home oid.tid)",
                                   max_length=150, verbose_name="msal home account id"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
