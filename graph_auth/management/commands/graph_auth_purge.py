"""Delete stored tokens and session records that have outlived their use (see graph_auth.retention):

    manage.py graph_auth_purge            # daily, from cron, a systemd timer or Celery beat
    manage.py graph_auth_purge --dry-run  # only count
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from graph_auth import retention
from graph_auth.app_settings import app_settings


class Command(BaseCommand):
    help = ("Delete the token caches of users inactive for GRAPH_AUTH['PURGE_INACTIVE_DAYS'] days, "
            "on-behalf-of caches whose refresh tokens are as old, and records of ended sessions.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        try:
            retention.window()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        counts = retention.purge(dry_run=dry_run)
        verb = _("would be deleted") if dry_run else _("deleted")
        self.stdout.write(_("token caches of users inactive for %(days)s days: %(count)s %(verb)s") % {
            "days": app_settings.PURGE_INACTIVE_DAYS, "count": counts["tokens"], "verb": verb})
        self.stdout.write(_("on-behalf-of caches with expired refresh tokens: %(count)s %(verb)s")
                          % {"count": counts["obo"], "verb": verb})
        if counts["sessions"] is None:
            self.stdout.write(_("session records: kept (the signed_cookies session engine keeps sessions in "
                                "the browser; the server can't tell which ended)"))
        else:
            self.stdout.write(_("records of ended sessions: %(count)s %(verb)s")
                              % {"count": counts["sessions"], "verb": verb})
