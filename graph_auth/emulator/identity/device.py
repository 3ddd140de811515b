"""Device code flow: the devicecode endpoint and the page where the user enters the code."""
from __future__ import annotations

import secrets
from html import escape

from ..errors import OAuthError
from ..records import DeviceGrant
from ..scopes import parse_scopes
from ..wsgi_io import Response
from . import interaction, issue, pages, principals, tenants
from .claims_request import parse_claims

_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
# What Entra tells the user to open. Offline, the emulator's own page stands in for it (its
# browser URL + /devicelogin); graph_auth_device_login prints where that is.
VERIFICATION_URI = "https://microsoft.com/devicelogin"


def devicecode(em, request) -> Response:
    segment, tenant = tenants.resolve(em, request.segments[0])
    form = request.form
    client_id = form.get("client_id")
    if not client_id:
        raise OAuthError("invalid_request", 900144,
                         "The request body must contain the following parameter: 'client_id'.")
    app = em.directory.app(client_id)
    if app is None:
        raise OAuthError("unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{segment}'.")
    principals.check_endpoint(app, segment, tenant)
    if not form.get("scope"):
        raise OAuthError("invalid_request", 900144,
                         "The request body must contain the following parameter: 'scope'.")
    parse_scopes(em.directory, form["scope"], segment)          # reject bad scopes now
    claims = parse_claims(form.get("claims"))
    user_code = "".join(secrets.choice(_ALPHABET) for _ in range(9))
    device_code = "DAQABAAEAAA" + secrets.token_urlsafe(48)
    lifetime, interval = em.settings.device_code_lifetime, em.settings.device_code_interval
    em.device_codes[device_code] = DeviceGrant(
        device_code=device_code, user_code=user_code, client_id=app.client_id, tenant_key=segment,
        scope=form["scope"], claims=claims, expires_at=em.clock.now() + lifetime, interval=interval)
    return Response.json({
        "user_code": user_code, "device_code": device_code, "verification_uri": VERIFICATION_URI,
        "expires_in": lifetime, "interval": interval,
        "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the "
                   f"code {user_code} to authenticate."})


def _find(em, user_code: str) -> tuple[DeviceGrant | None, str]:
    """Return (the grant waiting for ``user_code``, "") or (None, what to tell the user)."""
    code = "".join((user_code or "").split()).upper().replace("-", "")
    grant = next((g for g in em.device_codes.values() if code and g.user_code == code), None)
    if grant is None:
        return None, "That code didn't work. Check the code and try again."
    if grant.redeemed or grant.declined or grant.user_id:
        return None, "That code was already used. Get a new code from your device and try again."
    if grant.expires_at <= em.clock.now():
        return None, ("The code that you entered has expired. Get a new code from the device "
                      "you're trying to sign in to and try again.")
    return grant, ""


def _grant_for(em, user_code: str) -> DeviceGrant | None:
    return _find(em, user_code)[0]


def _pending_for(em, grant: DeviceGrant):
    segment, tenant = tenants.resolve(em, grant.tenant_key)
    app = em.directory.app(grant.client_id)
    return interaction.new_pending(
        em, kind="device", segment=segment, tenant=tenant, app=app,
        scope_request=parse_scopes(em.directory, grant.scope, segment), finish=finish, fail=fail,
        params={"prompt": "select_account"}, claims=grant.claims, device_code=grant.device_code)


def _code_form(request, error: str = "", value: str = "") -> Response:
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return pages.page("Enter code", (
        f"<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>{err}"
        f'<form method="post" action="{escape(request.url_for("/devicelogin"))}">'
        f'<input type="text" name="otc" id="otc" value="{escape(value)}" placeholder="Code" '
        f'autocomplete="off" required><button type="submit" id="next">Next</button></form>'))


def page(em, request) -> Response:
    if request.method == "GET":
        return _code_form(request, value=request.query.get("otc", ""))
    if "flow" in request.form:
        return interaction.handle_post(em, request)
    grant, problem = _find(em, request.form.get("otc", ""))
    if grant is None:
        return _code_form(request, problem, request.form.get("otc", ""))
    pending = _pending_for(em, grant)
    return interaction.proceed(em, request, pending)


def finish(em, request, pending) -> Response:
    grant = em.device_codes.get(pending.device_code)
    if grant is None or grant.expires_at <= em.clock.now():
        return pages.error_page("Code expired", 70019, "The code has expired. Start again on your device.")
    if grant.user_id or grant.declined or grant.redeemed:     # finished in another tab meanwhile
        return pages.error_page("Code already used", None,
                                "That code was already used. Get a new code from your device.")
    grant.user_id, grant.sid = pending.user_id, pending.sid
    interaction.note_app(em, pending.sid, pending.app)
    return pages.message("You're signed in",
                         f"You have signed in to the {pending.app.display_name} application on "
                         "your device. You may now close this window.")


def fail(em, request, pending, error: OAuthError) -> Response:
    grant = em.device_codes.get(pending.device_code)
    if grant is not None and not (grant.user_id or grant.redeemed):
        grant.declined = True
    return pages.message("Sign-in cancelled",
                         f"You declined to sign in to {pending.app.display_name} on the other device.")


def approve(em, user_code: str, person, consent: bool) -> None:
    grant = _grant_for(em, user_code)
    if grant is None:
        raise LookupError(f"no pending device code {user_code!r}")
    pending = _pending_for(em, grant)
    em.pending.pop(pending.id, None)
    user, refusal = interaction.resolve(em, pending, person)
    if refusal:
        raise PermissionError(refusal.text)
    missing = issue.missing_consent(em, user, pending.app, pending.scope_request)
    if missing and not consent:
        grant.declined = True
        return
    if missing:
        issue.consent(em, user, pending.app, pending.scope_request)
    grant.user_id, grant.sid = user.id, interaction.start_session(em, person).sid
    interaction.note_app(em, grant.sid, pending.app)


def decline(em, user_code: str) -> None:
    grant = _grant_for(em, user_code)
    if grant is None:
        raise LookupError(f"no pending device code {user_code!r}")
    grant.declined = True
