"""The end-session endpoint: end the SSO session(s), notify the apps, go back to the app."""
from __future__ import annotations

import base64
from html import escape

from ..errors import OAuthError
from ..wsgi_io import Response, add_query, load_json
from . import interaction, pages, tenants


def registered(em, uri: str) -> bool:
    """Whether ``uri`` may receive the browser after sign-out: a redirect URI of some app
    (loopback ports ignored, as for sign-in), or an app's front-channel logout URL."""
    return any(app.redirect_uri_allowed(uri) or uri == app.front_channel_logout_url
               for app in em.directory.apps.values())


def handle(em, request) -> Response:
    try:
        tenants.resolve(em, request.segments[0])
    except OAuthError as exc:
        return pages.error_page("Sorry, but we're having trouble signing you out.", exc.code,
                                exc.description)
    params = request.params
    hint = params.get("logout_hint")
    live = interaction.live_sessions(em, request)
    # logout_hint (the ID token's login_hint claim) picks the session to end; Entra asks which
    # account to sign out when it matches none: the emulator then signs them all out.
    ended = [s for s, u in live if hint and _hint_matches(hint, u)] or [s for s, _ in live]
    for session in ended:
        em.sso_sessions.pop(session.sid, None)
    remaining = [s.sid for s, _ in live if s not in ended]
    frames = "".join(
        f'<iframe src="{escape(add_query(app.front_channel_logout_url, {"sid": session.sid}))}" '
        f'title="Signing out of {escape(app.display_name)}" hidden></iframe>'
        for session in ended for app in em.directory.apps.values()
        if app.front_channel_logout_url and app.client_id in session.apps)
    target = params.get("post_logout_redirect_uri")
    target = target if target and registered(em, target) else None
    if target and not frames:
        response = Response.redirect(target)
    else:
        # The apps' logout frames load here; Entra then moves on to the target by itself, the
        # emulator offers a link (a page that navigates away on its own races browser tests).
        link = (f'<p><a id="continue" href="{escape(target)}">Return to the application</a></p>'
                if target else "")
        response = pages.message("You signed out of your account",
                                 "It's a good idea to close all browser windows.", link + frames)
    response.set_cookie(em.settings.sso_cookie, ".".join(remaining), path=request.script_name or "/",
                        max_age=None if remaining else 0)
    return response


def _hint_matches(hint: str, user) -> bool:
    """logout_hint is the ID token's opaque login_hint claim (or, leniently, a UPN)."""
    try:
        data = load_json(base64.urlsafe_b64decode(hint + "=" * (-len(hint) % 4)))
        return isinstance(data, dict) and data.get("oid") == user.id
    except (ValueError, TypeError):
        return hint.lower() == user.user_principal_name.lower()
