"""The end-session endpoint: end the SSO session(s) and go back to the app."""
from __future__ import annotations

import base64
import json
from html import escape
from urllib.parse import urlencode

from ..wsgi_io import Response
from . import interaction, pages, tenants


def _registered(em, uri: str) -> bool:
    return any(uri in app.all_redirect_uris() or uri == app.front_channel_logout_url
               for app in em.directory.apps.values())


def handle(em, request) -> Response:
    tenants.resolve(em, request.segments[0])
    params = request.params
    hint = params.get("logout_hint")
    live = interaction.live_sessions(em, request)
    ended = [s for s, u in live if not hint or _hint_matches(hint, u)] or ([] if hint else [])
    for session in ended:
        em.sso_sessions.pop(session.sid, None)
    remaining = [s.sid for s, _ in live if s not in ended]
    frames = ""
    for app in em.directory.apps.values():
        if app.front_channel_logout_url:
            for session in ended:
                url = f"{app.front_channel_logout_url}?{urlencode({'sid': session.sid})}"
                frames += f'<iframe src="{escape(url)}" hidden></iframe>'
    target = params.get("post_logout_redirect_uri")
    if target and _registered(em, target) and not frames:
        response = Response.redirect(target)
    else:
        link = (f'<p><a id="continue" href="{escape(target)}">Return to the application</a></p>'
                if target and _registered(em, target) else "")
        response = pages.message("You signed out of your account",
                                 "It's a good idea to close all browser windows.", link + frames)
    response.set_cookie(em.settings.sso_cookie, ".".join(remaining), path=request.script_name or "/",
                        max_age=None if remaining else 0)
    return response


def _hint_matches(hint: str, user) -> bool:
    """logout_hint is the ID token's opaque login_hint claim (or, leniently, a UPN)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(hint + "=" * (-len(hint) % 4)))
        return data.get("oid") == user.id
    except (ValueError, TypeError):
        return hint.lower() == user.user_principal_name.lower()
