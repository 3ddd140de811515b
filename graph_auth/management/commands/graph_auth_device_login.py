"""Sign a Microsoft user in from a terminal (device code flow) and keep their tokens, so that jobs
and ``graph_auth_graph --user`` can act as them. On the emulator it uses the running site's emulator
(see ``graph_auth.management.shared``) and prints that emulator's device-code page."""
from __future__ import annotations

import time
from urllib.parse import urljoin

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from graph_auth import id_tokens, msal_client
from graph_auth.app_settings import app_settings
from graph_auth.authentication import authenticate
from graph_auth.exceptions import (
    ClaimsRejected,
    GraphAuthError,
    IdentityPlatformUnavailable,
    InvalidIdToken,
    TokenError,
)
from graph_auth.graph import GraphClient
from graph_auth.management import shared
from graph_auth.user_tokens import store_sign_in
from graph_auth.views import StaticToken

FAILURES = {
    "expired_token": gettext_lazy("The code expired before the sign-in was finished. Run the command again."),
    "authorization_declined": gettext_lazy("The sign-in was declined on the other device."),
    "access_denied": gettext_lazy("The sign-in was declined on the other device."),
    "bad_verification_code": gettext_lazy("The identity platform no longer knows this code. Run the command again."),
}


class Command(BaseCommand):
    help = ("Sign a Microsoft user in with a code entered in a browser (device code flow), and store "
            "their tokens for the Django user they map to.")
    sleep = staticmethod(time.sleep)

    def add_arguments(self, parser):
        parser.add_argument("--scopes", nargs="+", help="delegated permissions (default: GRAPH_AUTH SCOPES)")
        parser.add_argument("--user", help="refuse unless the identity maps to this user (username, email or "
                                           "Microsoft sign-in name)")
        shared.add_emulator_arguments(parser)

    def handle(self, *args, scopes=None, user=None, emulator_url=None, site_url=None, **options):
        if user and len(shared.find_users(user)) > 1:
            shared.find_user(user)                   # several users: the error lists them
        url = shared.emulator_url(emulator_url, site_url)
        with shared.using_emulator(url):
            claims, django_user, cache = self.sign_in(scopes or list(app_settings.SCOPES), site_url, url)
        if user and shared.find_users(user) != [django_user]:
            raise CommandError(_("Signed in as %(name)s, who is %(user)r here, not %(expected)r. Nothing was "
                                 "stored.") % {"name": claims.get("preferred_username"),
                                               "user": django_user.get_username(), "expected": user})
        store_sign_in(django_user, claims, cache)
        self.stdout.write(self.style.SUCCESS(
            _("Signed in as %(name)s <%(upn)s>; tokens stored for the user %(user)r.") % {
                "name": claims.get("name"), "upn": claims.get("preferred_username"),
                "user": django_user.get_username()}))

    def sign_in(self, scopes, site_url, url):
        """Run the device-code flow; return the validated claims, the Django user and the tokens."""
        try:
            flow = msal_client.start_device_flow(scopes)
        except GraphAuthError as exc:
            hint = shared.unreachable_hint(url) if isinstance(exc, IdentityPlatformUnavailable) else ""
            raise CommandError(_("Could not start the sign-in: %(error)s") % {"error": exc} + hint) from exc
        self.stdout.write(flow["message"])
        if app_settings.emulator_enabled:           # microsoft.com can't be reached offline
            from graph_auth.emulator.mount import device_login_url
            page = urljoin(site_url or shared.default_site_url(), device_login_url())
            self.stdout.write(_("Emulator mode: enter the code at %(page)s instead of %(uri)s.")
                              % {"page": page, "uri": flow.get("verification_uri")})
        self.stdout.flush()
        cache = msal_client.new_cache()
        result = self.wait(flow, cache)
        try:
            claims = id_tokens.validate(result["id_token"])
            django_user = authenticate(None, claims, GraphClient(StaticToken(result["access_token"])))
        except InvalidIdToken as exc:
            raise CommandError(_("The ID token was rejected: %(error)s") % {"error": exc}) from exc
        except ClaimsRejected as exc:
            raise CommandError(_("This Microsoft identity may not sign in to this site: %(reason)s")
                               % {"reason": exc}) from exc
        if django_user is None:
            raise CommandError(_("This Microsoft identity maps to no active user of this site."))
        return claims, django_user, cache

    def wait(self, flow: dict, cache) -> dict:
        while True:
            if time.time() > flow.get("expires_at", 0):
                raise CommandError(FAILURES["expired_token"])
            try:
                result = msal_client.poll_device_flow(flow, cache)
            except TokenError as exc:
                raise CommandError(FAILURES.get(exc.error) or _("The sign-in failed: %(error)s")
                                   % {"error": exc}) from exc
            except GraphAuthError as exc:
                raise CommandError(_("The sign-in failed: %(error)s") % {"error": exc}) from exc
            if result is not None:
                return result
            self.sleep(flow.get("interval", 5))
