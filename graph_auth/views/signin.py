"""Sign-in views: login (start the auth-code flow) and callback (finish it), with failure pages."""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib.auth import authenticate, login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import id_tokens, msal_client, revocation
from .. import session as keys
from ..app_settings import app_settings
from ..backends import GraphAuthBackend
from ..exceptions import AuthFlowError, ClaimsRejected, IdentityPlatformUnavailable, InvalidIdToken, TokenError
from ..graph import GraphClient
from ..log import clean
from ..session import REAUTH_KEY
from ..user_tokens import store_sign_in

logger = logging.getLogger(__name__)
PROMPTS = ("login", "select_account", "consent")

FAILURES = {
    "expired_flow": (400, "Your sign-in expired",
                     "This sign-in was already completed, expired, or was started in another browser."),
    "declined": (403, "Sign-in cancelled", "You cancelled the sign-in or declined the permissions the "
                                           "site asked for."),
    "identity_error": (400, "Microsoft could not sign you in", "The Microsoft sign-in service "
                                                                "returned an error."),
    "token_error": (400, "Sign-in failed", "The sign-in could not be completed."),
    "invalid_id_token": (403, "Sign-in rejected", "The identity returned by Microsoft could not be "
                                                  "verified for this site."),
    "rejected": (403, "Access denied", "Your account is not allowed to sign in to this site."),
    "no_user": (403, "Access denied", "There is no active account on this site for your Microsoft "
                                      "identity."),
    "unavailable": (503, "Microsoft sign-in is unavailable", "The Microsoft identity platform could "
                                                             "not be reached. Please try again in a moment."),
}


def safe_next(request, url: str | None) -> str:
    """Return ``url`` when it stays on this site, else the configured landing page."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return app_settings.login_redirect_url


def redirect_uri(request) -> str:
    return app_settings.REDIRECT_URI or request.build_absolute_uri(reverse("graph_auth:callback"))


def login_failed(request, reason: str, detail: str = "", next_url: str | None = None):
    """Render the failure page (never a 500, never a token) and log why (one line, cut short:
    ``detail`` may carry what the callback's caller sent)."""
    status, title, message = FAILURES[reason]
    logger.warning("sign-in failed (%s): %s", reason, clean(detail or message, 400))
    retry = reverse("graph_auth:login")
    if next_url:
        retry += "?" + urlencode({"next": next_url})
    return render(request, app_settings.LOGIN_FAILED_TEMPLATE,
                  {"reason": reason, "title": title, "message": message, "detail": detail,
                   "retry_url": retry}, status=status)


@method_decorator(never_cache, name="dispatch")
class LoginView(View):
    """Start "Sign in with Microsoft": keep the msal flow in the session, go to the authorize page."""

    @sensitive_variables("flow")            # its PKCE code_verifier
    def get(self, request):
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
        except IdentityPlatformUnavailable as exc:
            return login_failed(request, "unavailable", str(exc), next_url)
        keys.save_flow(request.session, flow, next_url)
        return HttpResponseRedirect(flow["auth_uri"])


# form_post comes from Entra (no CSRF token); its fields (the code) stay out of error reports
@method_decorator([csrf_exempt, never_cache, sensitive_post_parameters()], name="dispatch")
class CallbackView(View):
    """Finish the sign-in: redeem the code, validate the ID token, log the user in."""

    def get(self, request):
        return self.finish(request, request.GET.dict())

    def post(self, request):
        return self.finish(request, request.POST.dict())

    @sensitive_variables()                  # the code, then the tokens
    def finish(self, request, params: dict):
        entry = keys.pop_flow(request.session, params.get("state"))
        if entry is None:
            return login_failed(request, "expired_flow", "no sign-in flow for this state in the session")
        next_url = entry["next"]
        if "error" in params:
            reason = "declined" if params["error"] == "access_denied" else "identity_error"
            return login_failed(request, reason, f"{params['error'][:100]}: "    # login_failed escapes
                                f"{params.get('error_description', '')[:200]}", next_url)
        cache = msal_client.new_cache()
        try:
            result = msal_client.finish_flow(entry["flow"], params, cache)
            msal_client.sole_account(cache)          # msal filed the tokens under one account
            claims = id_tokens.validate(result["id_token"])
            graph = GraphClient(StaticToken(result["access_token"]))
            user = authenticate(request, id_token_claims=claims, graph=graph)
        except AuthFlowError as exc:
            return login_failed(request, "expired_flow", str(exc), next_url)
        except IdentityPlatformUnavailable as exc:
            return login_failed(request, "unavailable", str(exc), next_url)
        except TokenError as exc:
            return login_failed(request, "token_error", str(exc), next_url)
        except InvalidIdToken as exc:
            return login_failed(request, "invalid_id_token", str(exc), next_url)
        except ClaimsRejected as exc:          # a backend called outside django.contrib.auth
            return login_failed(request, "rejected", str(exc), next_url)
        rejection = getattr(request, GraphAuthBackend.REJECTION_ATTR, None)
        if user is None and rejection:
            return login_failed(request, "rejected", rejection, next_url)
        if user is None:
            return login_failed(request, "no_user", f"oid={claims.get('oid')}", next_url)
        login(request, user)
        account_id = store_sign_in(user, claims, cache)
        keys.set_token_status(request.session, account_id, msal_client.token_status(
            cache, account_id, app_settings.SCOPES, app_settings.REFRESH_MARGIN))
        request.session[keys.LOGIN_HINT_KEY] = claims.get("login_hint", "")
        request.session[keys.SID_KEY] = claims.get("sid", "")
        revocation.record_session(request, user, claims.get("sid", ""))
        return HttpResponseRedirect(next_url)


class StaticToken:
    """A token provider for the one access token of a fresh sign-in."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, scopes=None, **kwargs) -> str:
        return self.token
