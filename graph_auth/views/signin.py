"""Sign-in views: login (start the auth-code flow) and callback (finish it); failure pages: failures.py."""
from __future__ import annotations

from django.contrib.auth import login
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import id_tokens, msal_client, revocation
from .. import session as keys
from ..adapter import get_adapter
from ..app_settings import app_settings
from ..authentication import authenticate
from ..exceptions import (
    AuthFlowError,
    BudgetExceeded,
    ClaimsRejected,
    GraphAuthConfigError,
    IdentityPlatformUnavailable,
    InvalidIdToken,
    StorageUnavailable,
    TokenError,
)
from ..failures import FAILURES, login_failed, not_configured  # noqa: F401 (the first two lived here)
from ..graph import GraphClient
from ..session import REAUTH_KEY
from ..user_tokens import store_sign_in

PROMPTS = ("login", "select_account", "consent")


def safe_next(request, url: str | None) -> str:
    """Return ``url`` when it stays on this site, else the configured landing page."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return app_settings.login_redirect_url


def redirect_uri(request) -> str:
    return app_settings.REDIRECT_URI or request.build_absolute_uri(reverse("graph_auth:callback"))


class ConfiguredView(View):
    """A view that answers "sign-in is not available" (503) when graph_auth's configuration is
    wrong, instead of a bare 500: under a WSGI/ASGI server no system check runs at start-up. A
    database error is ``StorageUnavailable``: the middleware answers it 503 too."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except GraphAuthConfigError as exc:
            return not_configured(request, exc)
        except DatabaseError as exc:
            raise StorageUnavailable(f"{type(self).__name__}: the database failed: {type(exc).__name__}") from exc


@method_decorator(never_cache, name="dispatch")
class LoginView(ConfiguredView):
    """Start "Sign in with Microsoft": keep the msal flow in the session, go to the authorize page."""

    @sensitive_variables("flow")            # its PKCE code_verifier
    def get(self, request):
        adapter = get_adapter()                 # a broken ADAPTER setting shows now, not after Microsoft
        next_url = safe_next(request, request.GET.get("next"))
        reauth = request.session.pop(REAUTH_KEY, None) or {}
        scopes = list(dict.fromkeys([*app_settings.SCOPES, *reauth.get("scopes", [])]))
        prompt = request.GET.get("prompt")
        try:
            flow = msal_client.start_flow(
                scopes, redirect_uri(request), response_mode=app_settings.RESPONSE_MODE,
                prompt=prompt if prompt in PROMPTS else None,
                login_hint=request.GET.get("login_hint") or request.session.get(keys.LOGIN_HINT_KEY),
                domain_hint=request.GET.get("domain_hint"), claims_challenge=reauth.get("claims"))
        except (IdentityPlatformUnavailable, BudgetExceeded) as exc:
            return adapter.login_failure(request, "unavailable", str(exc), next_url)
        keys.save_flow(request.session, flow, next_url)
        return HttpResponseRedirect(flow["auth_uri"])


# form_post comes from Entra (no CSRF token); its fields (the code) stay out of error reports
@method_decorator([csrf_exempt, never_cache, sensitive_post_parameters()], name="dispatch")
class CallbackView(ConfiguredView):
    """Finish the sign-in: redeem the code, validate the ID token, log the user in. The outcome is
    the adapter's ``login_success`` or ``login_failure`` (GRAPH_AUTH["ADAPTER"])."""

    def get(self, request):
        return self.finish(request, request.GET.dict())

    def post(self, request):
        return self.finish(request, request.POST.dict())

    @sensitive_variables()                  # the code, then the tokens
    def finish(self, request, params: dict):
        adapter = get_adapter()
        entry = keys.pop_flow(request.session, params.get("state"))
        if entry is None:
            detail = "no sign-in flow for this state in the session"
            return adapter.login_failure(request, "expired_flow", detail, None)
        next_url = entry["next"]
        if "error" in params:
            reason = "declined" if params["error"] == "access_denied" else "identity_error"
            return adapter.login_failure(request, reason, f"{params['error'][:100]}: "    # the page escapes
                                         f"{params.get('error_description', '')[:200]}", next_url)
        cache = msal_client.new_cache()
        try:
            result = msal_client.finish_flow(entry["flow"], params, cache)
            msal_client.sole_account(cache)          # msal filed the tokens under one account
            claims = id_tokens.validate(result["id_token"])
            graph = GraphClient(StaticToken(result["access_token"]))
            user = authenticate(request, claims, graph)
        except (AuthFlowError, IdentityPlatformUnavailable, BudgetExceeded, TokenError, InvalidIdToken,
                ClaimsRejected) as exc:
            return adapter.login_failure(request, failure_reason(exc), str(exc), next_url)
        if user is None:
            return adapter.login_failure(request, "no_user", f"oid={claims.get('oid')}", next_url)
        login(request, user)
        account_id = store_sign_in(user, claims, cache)
        keys.set_token_status(request.session, account_id, msal_client.token_status(
            cache, account_id, app_settings.SCOPES, app_settings.REFRESH_MARGIN))
        request.session[keys.LOGIN_HINT_KEY] = claims.get("login_hint", "")
        request.session[keys.SID_KEY] = claims.get("sid", "")
        revocation.record_session(request, user, claims.get("sid", ""))
        return adapter.login_success(request, user, next_url)


def failure_reason(error: Exception) -> str:
    """The failure page's reason for an exception of the callback."""
    for kind, reason in ((AuthFlowError, "expired_flow"), (IdentityPlatformUnavailable, "unavailable"),
                         (BudgetExceeded, "unavailable"),
                         (TokenError, "token_error"), (InvalidIdToken, "invalid_id_token"),
                         (ClaimsRejected, "rejected")):
        if isinstance(error, kind):
            return reason
    raise ValueError(f"no failure reason for {type(error).__name__}")


class StaticToken:
    """A token provider for the one access token of a fresh sign-in."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, scopes=None, **kwargs) -> str:
        return self.token
