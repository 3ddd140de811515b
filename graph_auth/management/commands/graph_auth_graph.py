"""Call Microsoft Graph from a terminal, as a user whose tokens are stored or as the app:

    manage.py graph_auth_graph get /me --user adele@contoso.onmicrosoft.com
    manage.py graph_auth_graph GET /users --app --tenant contoso.onmicrosoft.com --all

``--user`` takes a username, an email or a Microsoft sign-in name (UPN). On the emulator the
command uses the running site's emulator (see ``graph_auth.management.shared``).
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from graph_auth.app_tokens import app_graph
from graph_auth.exceptions import GraphAuthError, GraphRequestError, IdentityPlatformUnavailable, InteractionRequired
from graph_auth.graph import GraphClient
from graph_auth.management import shared
from graph_auth.user_tokens import UserTokens

METHODS = ("get", "post", "patch", "put", "delete")


class Command(BaseCommand):
    help = "Call Microsoft Graph as a user (whose tokens this site stores) or as the app; print JSON."

    def add_arguments(self, parser):
        parser.add_argument("method", type=str.lower, choices=METHODS, help="GET, POST, PATCH, PUT or DELETE")
        parser.add_argument("path", help="e.g. /me, /users?$top=5, or an @odata.nextLink URL")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="Django username, email or Microsoft sign-in name (UPN)")
        who.add_argument("--app", action="store_true", help="app-only (client credentials)")
        parser.add_argument("--tenant", help="with --app: the tenant (default GRAPH_AUTH TENANT_ID)")
        parser.add_argument("--data", help="JSON body for post/patch/put")
        parser.add_argument("--all", action="store_true", help="follow @odata.nextLink, print every item")
        parser.add_argument("--output", help="write a binary answer (e.g. /me/photo/$value) to this file")
        shared.add_emulator_arguments(parser)

    def handle(self, method, path, user=None, app=False, tenant=None, data=None, all=False,
               output=None, emulator_url=None, site_url=None, **options):
        try:
            body = json.loads(data) if data else None
        except ValueError as exc:
            raise CommandError(_("--data is not JSON: %(error)s") % {"error": exc}) from exc
        django_user = None if app else shared.find_user(user)
        url = shared.emulator_url(emulator_url, site_url)
        with shared.using_emulator(url):
            answer = self.call(django_user, method, path, tenant, body, all, url)
        if isinstance(answer, bytes):
            if not output:
                raise CommandError(_("Graph answered %(size)d bytes of binary data: use --output FILE.")
                                   % {"size": len(answer)})
            with open(output, "wb") as handle:
                handle.write(answer)
            self.stdout.write(_("Wrote %(size)d bytes to %(file)s.") % {"size": len(answer), "file": output})
            return
        if answer is not None:
            self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))

    def call(self, user, method, path, tenant, body, all, url):
        try:
            graph = app_graph(tenant) if user is None else GraphClient(UserTokens.for_user(user))
            if all:
                return {"value": list(graph.iterate(path))}
            kwargs = {"json": body} if method in ("post", "patch", "put") else {}
            return getattr(graph, method)(path, **kwargs)
        except InteractionRequired as exc:
            raise CommandError(_("No usable tokens for %(user)r (%(error)s): sign them in again with manage.py "
                                 "graph_auth_device_login.") % {"user": user.get_username(), "error": exc.error}
                               + shared.unreachable_hint(url)) from exc
        except GraphRequestError as exc:
            hint = "" if exc.status_code else shared.unreachable_hint(url)      # 0: no answer at all
            raise CommandError(_("Graph answered %(status)s %(code)s: %(message)s (request-id %(id)s)") % {
                "status": exc.status_code, "code": exc.code, "message": exc.message, "id": exc.request_id}
                + hint) from exc
        except IdentityPlatformUnavailable as exc:
            raise CommandError(str(exc) + shared.unreachable_hint(url)) from exc
        except GraphAuthError as exc:
            raise CommandError(str(exc)) from exc

