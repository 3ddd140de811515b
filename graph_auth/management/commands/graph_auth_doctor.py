"""Check this site's graph_auth configuration against the identity platform (or the emulator):

    manage.py graph_auth_doctor --url https://site.example --tenant contoso.onmicrosoft.com

Each line passes, warns, fails (with how to fix it) or is skipped; any failure exits non-zero.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from graph_auth import doctor
from graph_auth.app_settings import app_settings

LABELS = {doctor.PASS: "PASS", doctor.WARN: "WARN", doctor.FAIL: "FAIL", doctor.SKIP: "skip"}


class Command(BaseCommand):
    help = ("Check graph_auth's configuration against the identity platform (or the emulator): discovery, "
            "tenant, credentials, clock, Graph, redirect URI, sign-in request, stored token caches.")
    # The doctor reports failing system checks itself, as one of its lines.
    requires_system_checks = ()

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="a tenant id or domain for the probes that need one "
                                             "(app-only token, Graph) when TENANT_ID is organizations/common")
        parser.add_argument("--url", help="the site's public URL (e.g. https://site.example), to check the "
                                          "redirect URI Django builds behind your proxy settings")

    def handle(self, *args, tenant=None, url=None, **options):
        where = (f"the emulator at {app_settings.EMULATOR_URL}" if app_settings.EMULATOR_URL else
                 "the emulator in this process") if app_settings.emulator_enabled else "Microsoft Entra ID"
        self.stdout.write(f"graph_auth doctor: {app_settings.authority} ({where})")
        results = doctor.run(tenant=tenant, url=url)
        styles = {doctor.PASS: self.style.SUCCESS, doctor.WARN: self.style.WARNING,
                  doctor.FAIL: self.style.ERROR, doctor.SKIP: str}
        width = max(len(r.key) for r in results)
        for result in results:
            label = styles[result.status](LABELS[result.status])
            self.stdout.write(f"{label}  {result.key.ljust(width)}  {result.summary}")
            if result.hint and result.status != doctor.PASS:
                self.stdout.write(f"      {' ' * width}  fix: {result.hint}")
        counts = {s: sum(r.status == s for r in results) for s in LABELS}
        self.stdout.write(", ".join(f"{counts[s]} {LABELS[s].lower()}" for s in LABELS))
        if counts[doctor.FAIL]:
            raise CommandError(f"{counts[doctor.FAIL]} check(s) failed")
