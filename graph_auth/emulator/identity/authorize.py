"""The authorize endpoint: validate the request, run the interactive steps, deliver the result."""
from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from .. import account_claims, tokens
from ..errors import OAuthError
from ..records import AuthCode
from ..scopes import parse_scopes
from ..wsgi_io import Response, add_query
from . import interaction, issue, pages, principals, tenants
from .claims_request import id_token_auth_time, parse_claims, parse_max_age, wants_cp1

RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = ("", "none", "login", "consent", "select_account", "create")


class PageError(Exception):
    """An authorize error that must be shown, not redirected (unknown app, bad redirect URI)."""

    def __init__(self, code: int | None, message: str,
                 title: str = "Sorry, but we're having trouble signing you in.") -> None:
        super().__init__(message)
        self.code, self.message, self.title = code, message, title

    @property
    def text(self) -> str:
        return f"AADSTS{self.code}: {self.message}" if self.code else self.message


class RedirectError(Exception):
    def __init__(self, pending, error: OAuthError) -> None:
        super().__init__(str(error))
        self.pending, self.error = pending, error


def handle(em, request) -> Response:
    if request.method == "POST" and "flow" in request.form:
        return interaction.handle_post(em, request)
    try:
        pending = begin(em, request.segments[0], request.params)
    except PageError as exc:
        return pages.error_page(exc.title, exc.code, exc.message)
    except RedirectError as exc:
        return fail(em, request, exc.pending, exc.error)
    return start(em, request, pending)


def begin(em, tenant_key: str, params: dict):
    """Validate an authorize request; return the pending request or raise PageError/RedirectError."""
    try:
        segment, tenant = tenants.resolve(em, tenant_key)
    except OAuthError as exc:
        raise PageError(exc.code, exc.description) from None
    client_id = params.get("client_id", "")
    app = em.directory.app(client_id)
    refusal = app and principals.endpoint_refusal(app, segment, tenant, interactive=True)
    if refusal:
        raise PageError(refusal.code, refusal.message, "We're unable to complete your request")
    if app is None or (tenant is not None and not em.directory.app_available_in(app, tenant.id)):
        raise PageError(700016, f"Application with identifier '{client_id}' was not found in the "
                                f"directory '{tenant.id if tenant else segment}'.")
    redirect_uri = params.get("redirect_uri") or (app.redirect_uris[:1] or [""])[0]
    if not app.redirect_uri_allowed(redirect_uri):
        raise PageError(50011, f"The redirect URI '{redirect_uri}' specified in the request does "
                               f"not match the redirect URIs configured for the application "
                               f"'{client_id}'. Make sure the redirect URI sent in the request "
                               "matches one added to your application in the Azure portal.")
    types = set((params.get("response_type") or "").split())
    mode = params.get("response_mode") or ("query" if types == {"code"} else "fragment")
    pending = interaction.Pending(id="", kind="authorize", segment=segment, tenant=tenant, app=app,
                                  scope_request=None, finish=finish, fail=fail,
                                  params={**params, "redirect_uri": redirect_uri, "response_mode": mode},
                                  spa=app.redirect_uri_allowed(redirect_uri, spa=True))

    def reject(error, code, text, suberror=None):
        raise RedirectError(pending, OAuthError(error, code, text, suberror=suberror))

    if mode not in RESPONSE_MODES:
        pending.params["response_mode"] = "query"
        reject("invalid_request", 900144, f"The response_mode '{mode}' is not supported.")
    if not types or not types <= {"code", "id_token", "token"}:
        reject("unsupported_response_type", 900144,
               f"The provided value for the input parameter 'response_type' is not allowed for this "
               f"request. Expected values: code, id_token, token. Given: '{params.get('response_type')}'.")
    if "id_token" in types and not app.implicit_id_token:       # the hybrid flow needs it too
        reject("unsupported_response_type", 700054,
               "response_type 'id_token' is not enabled for the application.")
    if "token" in types and not app.implicit_access_token:
        reject("unsupported_response_type", 700051,
               "response_type 'token' is not enabled for the application.")
    if types & {"id_token", "token"} and mode == "query":
        reject("invalid_request", 900144, "The response_mode 'query' is not allowed with tokens.")
    if "id_token" in types and not params.get("nonce"):
        reject("invalid_request", 900144, "The request must contain the following parameter: 'nonce'.")
    if params.get("code_challenge_method", "plain") not in ("plain", "S256"):
        reject("invalid_request", 900144, "The code_challenge_method is not valid.")
    if pending.spa and "code" in types and not params.get("code_challenge"):
        reject("invalid_request", 9002325,
               "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
    if (params.get("prompt") or "").lower() not in PROMPTS:
        reject("invalid_request", 90023, f"The prompt '{params.get('prompt')}' is not supported.")
    if not params.get("scope"):
        reject("invalid_request", 900144,
               "The request body must contain the following parameter: 'scope'.")
    try:
        pending.scope_request = parse_scopes(em.directory, params["scope"], segment)
        pending.claims = parse_claims(params.get("claims"))
    except OAuthError as exc:
        raise RedirectError(pending, exc) from None
    pending.id, pending.created = secrets.token_urlsafe(24), em.clock.now()
    interaction.add_pending(em, pending)
    return pending


def start(em, request, pending) -> Response:
    """Skip the sign-in page when the SSO session allows it; honour prompt=none."""
    sessions = interaction.eligible_sessions(em, request, pending)
    prompt = pending.prompt
    if prompt == "none":
        if not sessions:
            return interaction.abort(em, request, pending, OAuthError(
                "login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
        if len(sessions) > 1:
            return interaction.abort(em, request, pending, OAuthError(
                "interaction_required", 16000,
                "Either multiple user identities are available for the current request or selected "
                "account is not supported for the scenario."))
        session, user = sessions[0]          # the principal: a guest object with a tenant authority
        if issue.missing_consent(em, user, pending.app, pending.scope_request):
            return interaction.abort(em, request, pending, OAuthError(
                "consent_required", 65001, "The user or administrator has not consented to use the "
                f"application with ID '{pending.app.client_id}'."))
        _use(pending, session, user)
        return interaction.complete(em, request, pending)
    if prompt not in ("login", "select_account", "create") and len(sessions) == 1:
        _use(pending, *sessions[0])
    return interaction.proceed(em, request, pending)


def _use(pending, session, user) -> None:
    pending.user_id, pending.sid, pending.auth_time = user.id, session.sid, session.auth_time


def result_params(em, pending) -> dict:
    """Issue what the response_type asks for; return the parameters for the redirect URI."""
    params = pending.params
    user = em.directory.user(pending.user_id)
    types = set(params["response_type"].split())
    interaction.note_app(em, pending.sid, pending.app)
    result = {}
    if "code" in types:
        code = secrets.token_urlsafe(48)
        em.codes[code] = AuthCode(
            client_id=pending.app.client_id, redirect_uri=params["redirect_uri"], user_id=user.id,
            tenant_id=user.tenant_id, scope=params["scope"], nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"), claims=pending.claims,
            auth_time=pending.auth_time, sid=pending.sid,
            expires_at=em.clock.now() + em.settings.code_lifetime, spa=pending.spa,
            max_age=parse_max_age(params.get("max_age")))
        result["code"] = code
    if "token" in types:
        granted, scope = issue.echo_scope(em, user, pending.app, pending.scope_request)
        token, expires_in = tokens.access_token(
            em, client=pending.app, resource=pending.scope_request.resource,
            tenant_id=user.tenant_id, user=user, scopes=granted, client_auth="0",
            cp1=wants_cp1(pending.claims), prefixed=pending.scope_request.prefixed)
        result.update(access_token=token, token_type="Bearer", expires_in=str(expires_in), scope=scope)
    if "id_token" in types:
        auth_time = id_token_auth_time(pending.app, pending.claims, pending.auth_time,
                                       max_age=parse_max_age(params.get("max_age")) is not None)
        result["id_token"] = tokens.id_token(em, user, pending.app, oidc=pending.scope_request.oidc,
                                             nonce=params.get("nonce"), sid=pending.sid,
                                             auth_time=auth_time)
    if params.get("client_info") == "1":
        result["client_info"] = account_claims.client_info(em, user)
    return result


def finish(em, request, pending) -> Response:
    result = result_params(em, pending)
    result["session_state"] = pending.sid
    return deliver(pending, result)


def fail(em, request, pending, error: OAuthError) -> Response:
    return deliver(pending, error.redirect_params())


def deliver(pending, result: dict) -> Response:
    params = pending.params
    if params.get("state") is not None:
        result = {**result, "state": params["state"]}
    mode, uri = params["response_mode"], params["redirect_uri"]
    if mode == "form_post":
        return pages.form_post(uri, result)
    if mode == "fragment":
        return Response.redirect(f"{uri.split('#')[0]}#{urlencode(result)}")
    return Response.redirect(add_query(uri, result))


def home(em, request) -> Response:
    rows = "".join(
        f"<li><strong>{pages.escape(u.display_name)}</strong> &mdash; "
        f"<code>{pages.escape(u.user_principal_name)}</code> / <code>{pages.escape(u.password)}</code>"
        f"</li>" for u in [u for u in em.directory.users.values() if not u.guest][:20])
    return pages.page("graph_auth emulator",
                      f"<h1>graph_auth emulator</h1><p>Test accounts:</p><ul>{rows}</ul>"
                      f'<p><a href="{request.url_for("/devicelogin")}">Enter a device code</a></p>')


def sign_in_programmatically(em, auth_uri: str, person, password: str | None, consent: bool) -> dict:
    """Run an authorize request as a browser would, signing ``person`` in with their own (home)
    account; return the result params (a refusal comes back as an error redirect)."""
    parts = urlsplit(auth_uri)
    segments = [s for s in parts.path.split("/") if s]
    if "oauth2" not in segments or segments.index("oauth2") == 0:
        raise ValueError(f"not an authorize URL: {auth_uri!r}")
    tenant_key = segments[segments.index("oauth2") - 1]
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    try:
        pending = begin(em, tenant_key, params)
    except PageError as exc:
        raise ValueError(exc.text) from exc
    except RedirectError as exc:
        return _with_state(exc.pending, exc.error.redirect_params())
    em.pending.pop(pending.id, None)
    if password is not None and not secrets.compare_digest(password, person.password):
        return _with_state(pending, OAuthError("invalid_grant", 50126, "Invalid username or password.")
                           .redirect_params())
    user, refusal = interaction.resolve(em, pending, person)
    if refusal:
        return _with_state(pending, refusal.redirect_params())
    session = interaction.start_session(em, person)
    _use(pending, session, user)
    if issue.missing_consent(em, user, pending.app, pending.scope_request):
        if not consent:
            return _with_state(pending, OAuthError(
                "access_denied", 65004, "User declined to consent to access the app.",
                suberror="cancel").redirect_params())
        issue.consent(em, user, pending.app, pending.scope_request)
    result = result_params(em, pending)
    result["session_state"] = pending.sid
    return _with_state(pending, result)


def _with_state(pending, result: dict) -> dict:
    state = pending.params.get("state")
    return {**result, "state": state} if state is not None else result
