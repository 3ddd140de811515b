"""Sign a Microsoft user in from a terminal (device code flow) and keep their tokens, so that jobs
and ``graph_auth_graph --user`` can act as them."""
from __future__ import annotations

import time
from urllib.parse import urljoin

from django.contrib.auth import authenticate
from django.core.management.base import BaseCommand, CommandError

from graph_auth import id_tokens, msal_client
from graph_auth.app_settings import app_settings
from graph_auth.exceptions import GraphAuthError, InvalidIdToken, TokenError
from graph_auth.graph import GraphClient
from graph_auth.user_tokens import store_sign_in
from graph_auth.views import StaticToken

FAILURES = {
    "expired_token": "The code expired before the sign-in was finished. Run the command again.",
    "authorization_declined": "The sign-in was declined on the other device.",
    "access_denied": "The sign-in was declined on the other device.",
    "bad_verification_code": "The identity platform no longer knows this code. Run the command again.",
}


class Command(BaseCommand):
    help = ("Sign a Microsoft user in with a code entered in a browser (device code flow), and store "
            "their tokens for the Django user they map to.")
    sleep = staticmethod(time.sleep)

    def add_arguments(self, parser):
        parser.add_argument("--scopes", nargs="+", help="delegated permissions (default: GRAPH_AUTH SCOPES)")
        parser.add_argument("--user", help="refuse unless the identity maps to this Django username")
        parser.add_argument("--site-url", default="http://127.0.0.1:8000",
                            help="origin to complete the emulator's device page URL with, when it is "
                                 "a path of this site")

    def handle(self, *args, scopes=None, user=None, site_url=None, **options):
        scopes = scopes or list(app_settings.SCOPES)
        try:
            flow = msal_client.start_device_flow(scopes)
        except GraphAuthError as exc:
            raise CommandError(f"Could not start the sign-in: {exc}") from exc
        self.stdout.write(flow["message"])
        if app_settings.emulator_enabled:           # microsoft.com can't be reached offline
            from graph_auth.emulator.mount import device_login_url
            self.stdout.write(f"Emulator mode: enter the code at {urljoin(site_url, device_login_url())} "
                              f"instead of {flow.get('verification_uri')}.")
        self.stdout.flush()
        cache = msal_client.new_cache()
        result = self.wait(flow, cache)
        try:
            claims = id_tokens.validate(result["id_token"])
        except InvalidIdToken as exc:
            raise CommandError(f"The ID token was rejected: {exc}") from exc
        django_user = authenticate(None, id_token_claims=claims,
                                   graph=GraphClient(StaticToken(result["access_token"])))
        if django_user is None:
            raise CommandError("This Microsoft identity maps to no active user of this site.")
        if user and django_user.get_username() != user:
            raise CommandError(f"Signed in as {claims.get('preferred_username')}, who is "
                               f"{django_user.get_username()!r} here, not {user!r}. Nothing was stored.")
        store_sign_in(django_user, claims, cache)
        self.stdout.write(self.style.SUCCESS(
            f"Signed in as {claims.get('name')} <{claims.get('preferred_username')}>; tokens stored "
            f"for the user {django_user.get_username()!r}."))

    def wait(self, flow: dict, cache) -> dict:
        while True:
            if time.time() > flow.get("expires_at", 0):
                raise CommandError(FAILURES["expired_token"])
            try:
                result = msal_client.poll_device_flow(flow, cache)
            except TokenError as exc:
                raise CommandError(FAILURES.get(exc.error, f"The sign-in failed: {exc}")) from exc
            except GraphAuthError as exc:
                raise CommandError(f"The sign-in failed: {exc}") from exc
            if result is not None:
                return result
            self.sleep(flow.get("interval", 5))
