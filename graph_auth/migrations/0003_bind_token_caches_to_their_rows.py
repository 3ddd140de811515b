"""Re-encrypt every stored token cache bound to its row (``user:<id>`` / ``app:<key>``), so that a
ciphertext copied into another row no longer decrypts there. Rows no current key opens are left
as they are (they were unreadable already). Migrating back to 0002 unbinds them again, so the
previous release can read them after a rollback."""
from django.db import migrations

from graph_auth import crypto


def _rebind(rows, context_of):
    for row in rows:
        plain = crypto.decrypt_unbound(row.data)
        if plain is None or plain.startswith(crypto.BOUND):
            continue
        row.data = crypto.encrypt(plain, context_of(row))
        row.save(update_fields=["data"])


def bind(apps, schema_editor):
    _rebind(apps.get_model("graph_auth", "TokenCache").objects.exclude(data=""),
            lambda row: f"user:{row.user_id}")
    _rebind(apps.get_model("graph_auth", "AppTokenCache").objects.exclude(data=""),
            lambda row: f"app:{row.key}")


def unbind(apps, schema_editor):
    for model in ("TokenCache", "AppTokenCache"):
        for row in apps.get_model("graph_auth", model).objects.exclude(data=""):
            data = crypto.unbind(row.data)
            if data is not None:
                row.data = data
                row.save(update_fields=["data"])


class Migration(migrations.Migration):

    dependencies = [
        ("graph_auth", "0002_microsoftaccount_home_account_id"),
    ]

    operations = [migrations.RunPython(bind, unbind, elidable=False)]
