"""Call Microsoft Graph from a terminal, as a user whose tokens are stored or as the app:

    manage.py graph_auth_graph get /me --user adele@contoso.onmicrosoft.com
    manage.py graph_auth_graph get /users --app --tenant contoso.onmicrosoft.com --all
"""
from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from graph_auth.app_tokens import app_graph
from graph_auth.exceptions import GraphAuthError, GraphRequestError, InteractionRequired
from graph_auth.graph import GraphClient
from graph_auth.user_tokens import UserTokens

METHODS = ("get", "post", "patch", "put", "delete")


def find_user(name: str):
    users = get_user_model().objects.filter(
        Q(**{get_user_model().USERNAME_FIELD: name}) | Q(microsoft_accounts__username__iexact=name)
        | Q(email__iexact=name)).distinct()
    found = list(users[:2])
    if len(found) != 1:
        raise CommandError(f"{'No' if not found else 'More than one'} user matches {name!r}.")
    return found[0]


class Command(BaseCommand):
    help = "Call Microsoft Graph as a user (whose tokens this site stores) or as the app; print JSON."

    def add_arguments(self, parser):
        parser.add_argument("method", choices=METHODS)
        parser.add_argument("path", help="e.g. /me, /users?$top=5, or an @odata.nextLink URL")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="Django username, Microsoft username (UPN) or email")
        who.add_argument("--app", action="store_true", help="app-only (client credentials)")
        parser.add_argument("--tenant", help="with --app: the tenant (default GRAPH_AUTH TENANT_ID)")
        parser.add_argument("--data", help="JSON body for post/patch/put")
        parser.add_argument("--all", action="store_true", help="follow @odata.nextLink, print every item")
        parser.add_argument("--output", help="write a binary answer (e.g. /me/photo/$value) to this file")

    def handle(self, method, path, user=None, app=False, tenant=None, data=None, all=False,
               output=None, **options):
        try:
            body = json.loads(data) if data else None
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from exc
        try:
            graph = app_graph(tenant) if app else GraphClient(UserTokens.for_user(find_user(user)))
            if all:
                answer = {"value": list(graph.iterate(path))}
            else:
                kwargs = {"json": body} if method in ("post", "patch", "put") else {}
                answer = getattr(graph, method)(path, **kwargs)
        except InteractionRequired as exc:
            raise CommandError(f"No usable tokens for {user!r} ({exc.error}): sign them in again with "
                               "manage.py graph_auth_device_login.") from exc
        except GraphRequestError as exc:
            raise CommandError(f"Graph answered {exc.status_code} {exc.code}: {exc.message} "
                               f"(request-id {exc.request_id})") from exc
        except GraphAuthError as exc:
            raise CommandError(str(exc)) from exc
        if isinstance(answer, bytes):
            if not output:
                raise CommandError(f"Graph answered {len(answer)} bytes of binary data: use --output FILE.")
            with open(output, "wb") as handle:
                handle.write(answer)
            self.stdout.write(f"Wrote {len(answer)} bytes to {output}.")
            return
        if answer is not None:
            self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))
