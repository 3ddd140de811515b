"""The interactive steps shared by authorize and device login: sign in, pick an account, consent.

A pending request waits under a random id (the ``flow`` form field) while the user signs in and
consents; the SSO cookie remembers who is signed in so ``prompt=none`` and account pickers work.
The flow that starts a pending request (authorize, device login) gives it its own ``finish`` and
``fail`` steps, so this module never imports the flows back.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from ..account_claims import hinted_person
from ..errors import OAuthError
from ..records import SsoSession
from ..scopes import GRAPH_DELEGATED, ScopeRequest
from . import issue, pages, principals
from .claims_request import parse_max_age

PENDING_LIFETIME = 3600
OIDC_TEXT = {"openid": "Sign you in", "profile": "View your basic profile",
             "email": "View your email address",
             "offline_access": "Maintain access to data you have given it access to"}


@dataclass
class Pending:
    id: str
    kind: str                      # "authorize" or "device"
    segment: str                   # tenant segment of the request URL
    tenant: object                 # Tenant, or None for common/organizations
    app: object                    # AppRegistration
    scope_request: ScopeRequest
    finish: Callable               # finish(em, request, pending) -> Response: deliver the result
    fail: Callable                 # fail(em, request, pending, error) -> Response: deliver a refusal
    params: dict = field(default_factory=dict)
    claims: dict = field(default_factory=dict)
    created: float = 0.0
    user_id: str | None = None
    sid: str | None = None
    auth_time: float | None = None
    consented: bool = False
    device_code: str | None = None
    spa: bool = False

    @property
    def prompt(self) -> str:
        return (self.params.get("prompt") or "").lower()


def new_pending(em, **values) -> Pending:
    pending = Pending(id=secrets.token_urlsafe(24), created=em.clock.now(), **values)
    add_pending(em, pending)
    return pending


def add_pending(em, pending: Pending) -> None:
    forget_expired(em)
    em.pending[pending.id] = pending


def forget_expired(em) -> None:
    """Drop the requests nobody finished within PENDING_LIFETIME (abandoned tabs)."""
    now = em.clock.now()
    for key in [k for k, p in em.pending.items() if now - p.created > PENDING_LIFETIME]:
        del em.pending[key]


def action_url(request, pending: Pending) -> str:
    if pending.kind == "device":
        return request.url_for("/devicelogin")
    return request.url_for(f"/{pending.segment}/oauth2/v2.0/authorize")


# -- SSO sessions ---------------------------------------------------------------------------------
def cookie_sids(em, request) -> list[str]:
    return [s for s in request.cookies.get(em.settings.sso_cookie, "").split(".") if s]


def live_sessions(em, request) -> list[tuple[SsoSession, object]]:
    """Return (session, person) for the browser's SSO sessions that are still valid (a session
    belongs to the person's home account, whichever tenant they used it for)."""
    found = []
    for sid in cookie_sids(em, request):
        session = em.sso_sessions.get(sid)
        user = em.directory.user(session.user_id) if session else None
        if user and user.enabled and session.auth_time >= user.sessions_valid_from:
            found.append((session, user))
    return found


def eligible_sessions(em, request, pending: Pending):
    """(session, principal) for the sessions that may complete ``pending`` without a password.

    A login_hint (the ID token's opaque claim, or a UPN/email) keeps only that person's session."""
    hint = pending.params.get("login_hint")
    hinted = hinted_person(em, hint)
    max_age = parse_max_age(pending.params.get("max_age"))
    nbf = _claims_nbf(pending.claims)
    result = []
    for session, person in live_sessions(em, request):
        if hint and (hinted is None or hinted.id != person.id):
            continue
        principal, refusal = resolve(em, pending, person)
        if refusal:
            continue
        if max_age is not None and (max_age == 0 or em.clock.now() - session.auth_time > max_age):
            continue
        if nbf and session.auth_time < nbf:
            continue
        result.append((session, principal))
    return result


def _claims_nbf(claims: dict) -> float | None:
    nbf = (claims.get("access_token") or {}).get("nbf") or {}
    try:
        return float(nbf.get("value")) if nbf.get("essential") else None
    except (TypeError, ValueError):
        return None


def start_session(em, user) -> SsoSession:
    session = SsoSession(secrets.token_hex(16), user.id, em.clock.now())
    em.sso_sessions[session.sid] = session
    return session


def renew_session(em, request, user) -> SsoSession:
    """The browser's session for ``user``, re-authenticated now; or a new one.

    Signing in again (prompt=login, max_age, a revoked session) keeps the session id, as Entra
    does, so the browser never holds two sessions of one user and ``prompt=none`` keeps working.
    """
    for sid in cookie_sids(em, request):
        session = em.sso_sessions.get(sid)
        if session is not None and session.user_id == user.id:
            session.auth_time = em.clock.now()
            return session
    return start_session(em, user)


def note_app(em, sid: str | None, app) -> None:
    """Remember that the session signed in to ``app`` (logout notifies only those apps)."""
    session = em.sso_sessions.get(sid) if sid else None
    if session is not None:
        session.apps.add(app.client_id)


def remember(em, request, response, session: SsoSession) -> None:
    sids = [s for s in cookie_sids(em, request) if s != session.sid and s in em.sso_sessions]
    response.set_cookie(em.settings.sso_cookie, ".".join([session.sid, *sids][:5]),
                        path=request.script_name or "/")


def resolve(em, pending: Pending, person):
    """(principal, None) for the account ``person`` signs in as for ``pending``, or (None, refusal)."""
    return principals.principal_for(em, pending.segment, pending.tenant, pending.app, person)


# -- pages and steps ------------------------------------------------------------------------------
def sign_in_page(em, request, pending: Pending, *, username: str = "", error: str = "",
                 offer_sessions: bool = True):
    if pending.tenant is not None:
        users = em.directory.users_in(pending.tenant.id)
    else:
        hint = (pending.params.get("domain_hint") or "").lower()
        hinted = em.directory.tenant(hint) if hint else None
        users = em.directory.users_in(hinted.id) if hinted else list(em.directory.users.values())
    people = list({em.directory.home_of(u).id: em.directory.home_of(u) for u in users}.values())
    people = [p for p in people if p.enabled and not resolve(em, pending, p)[1]][:12]
    sessions = ([(s.sid, em.directory.home_of(p)) for s, p in eligible_sessions(em, request, pending)]
                if offer_sessions else [])
    return pages.sign_in(action_url(request, pending), pending.id, app_name=pending.app.display_name,
                         username=username or _hint_name(em, pending.params.get("login_hint")),
                         error=error, users=people, sessions=sessions)


def _hint_name(em, hint: str | None) -> str:
    """The username to prefill for a login_hint: never an opaque hint itself, its person's name."""
    if hint and hint.strip() in em.login_hints:
        person = em.directory.user(em.login_hints[hint.strip()])
        return person.user_principal_name if person else ""
    return hint or ""


def permissions_text(pending: Pending, names) -> list[tuple[str, str]]:
    resource = pending.scope_request.resource
    rows = [(n, OIDC_TEXT[n]) for n in ("openid", "profile", "email", "offline_access")
            if n in pending.scope_request.oidc]
    for name in names:
        text = GRAPH_DELEGATED.get(name) if resource.is_graph else f"Access {resource.display_name}"
        rows.append((resource.echo(name), text or name))
    return rows


def proceed(em, request, pending: Pending):
    """Show the next page the pending request needs, or finish it."""
    user = em.directory.user(pending.user_id) if pending.user_id else None
    if user is None:
        return sign_in_page(em, request, pending, offer_sessions=pending.prompt != "login")
    missing = issue.missing_consent(em, user, pending.app, pending.scope_request)
    if (missing or pending.prompt == "consent") and not pending.consented:
        names = missing or sorted(issue.requested(em, pending.app, pending.scope_request))
        return pages.consent(action_url(request, pending), pending.id,
                             app_name=pending.app.display_name, publisher="unverified",
                             user=em.directory.home_of(user), permissions=permissions_text(pending, names))
    return complete(em, request, pending)


def complete(em, request, pending: Pending):
    em.pending.pop(pending.id, None)
    return pending.finish(em, request, pending)


def abort(em, request, pending: Pending, error: OAuthError):
    em.pending.pop(pending.id, None)
    return pending.fail(em, request, pending, error)


def handle_post(em, request):
    """Handle a form post from one of the pages above."""
    form = request.form
    forget_expired(em)
    pending = em.pending.get(form.get("flow", ""))
    if pending is None:
        return pages.error_page("Sign-in expired", None,
                                "This sign-in page has expired or was already used. Go back to the "
                                "application and sign in again.")
    action = form.get("action")
    if action == "signin":
        return _sign_in(em, request, pending, form.get("username", ""), form.get("password", ""))
    if action == "pick":
        session = em.sso_sessions.get(form.get("sid", ""))
        match = next(((s, u) for s, u in eligible_sessions(em, request, pending)
                      if session is not None and s.sid == session.sid), None)
        if match is None:
            return sign_in_page(em, request, pending, error="That session has ended. Sign in again.")
        pending.user_id, pending.sid, pending.auth_time = match[1].id, match[0].sid, match[0].auth_time
        return proceed(em, request, pending)
    if action == "consent" and pending.user_id:
        issue.consent(em, pending.user_id, pending.app, pending.scope_request)
        pending.consented = True
        return proceed(em, request, pending)
    if action == "decline":
        return abort(em, request, pending, OAuthError(
            "access_denied", 65004, "User declined to consent to access the app.", suberror="cancel"))
    if action == "cancel":
        return abort(em, request, pending, OAuthError(
            "access_denied", 65004, "The user canceled the sign-in.", suberror="cancel"))
    return pages.error_page("Bad request", 900144, "The form is missing its action.")


def _sign_in(em, request, pending: Pending, username: str, password: str):
    person = em.directory.person_by_name(username)
    if person is None:
        return sign_in_page(em, request, pending, username=username,
                            error="This username may be incorrect. Make sure you typed it correctly.")
    if not secrets.compare_digest(password.encode(), person.password.encode()):
        return sign_in_page(em, request, pending, username=username,
                            error="Your account or password is incorrect.")
    principal, refusal = resolve(em, pending, person)
    if refusal:
        return sign_in_page(em, request, pending, username=username, error=refusal.text)
    session = renew_session(em, request, person)
    pending.user_id, pending.sid, pending.auth_time = principal.id, session.sid, session.auth_time
    response = proceed(em, request, pending)
    remember(em, request, response, session)
    return response
