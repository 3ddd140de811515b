"""Sign-out views: here and at Entra, everywhere, and Entra's front-channel logout."""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt

from .. import id_tokens, revocation
from .. import session as keys
from ..app_settings import app_settings
from ..exceptions import BudgetExceeded, IdentityPlatformUnavailable
from ..pages import render_page
from ..token_store import TokenStore
from .signin import ConfiguredView

logger = logging.getLogger(__name__)


def entra_sign_out(request, login_hint: str | None):
    """Send the browser to Entra's end-session endpoint, which comes back to LOGOUT_REDIRECT_URL."""
    target = request.build_absolute_uri(app_settings.logout_redirect_url)
    try:
        end_session = id_tokens.metadata().get("end_session_endpoint")
    except (IdentityPlatformUnavailable, BudgetExceeded):
        end_session = None
    if not end_session:
        return HttpResponseRedirect(app_settings.logout_redirect_url)
    params = {"post_logout_redirect_uri": target}
    if login_hint:
        params["logout_hint"] = login_hint
    return HttpResponseRedirect(f"{end_session}?{urlencode(params)}")


@method_decorator(never_cache, name="dispatch")
class LogoutView(ConfiguredView):
    """GET: ask; POST (with CSRF): end the session, delete the tokens, sign out at Entra."""
    template_name = "graph_auth/logout.html"

    def get(self, request):
        return render_page(request, self.template_name)

    def post(self, request):
        login_hint = request.session.get(keys.LOGIN_HINT_KEY)
        if request.user.is_authenticated:
            TokenStore(request.user).delete()
        revocation.forget_session(request)
        logout(request)
        return entra_sign_out(request, login_hint)


@method_decorator(never_cache, name="dispatch")
class SignOutEverywhereView(LoginRequiredMixin, ConfiguredView):
    """GET: ask; POST (with CSRF): revoke the user's sessions at Entra (when the app has the
    permission), delete their tokens, end all their sessions here, then sign out at Entra."""
    template_name = "graph_auth/logout_everywhere.html"

    def get(self, request):
        return render_page(request, self.template_name,
                           {"revocable": revocation.revocable_at_microsoft(request.user)})

    def post(self, request):
        login_hint = request.session.get(keys.LOGIN_HINT_KEY)
        revocation.sign_out_everywhere(request.user)
        logout(request)
        return entra_sign_out(request, login_hint)


@method_decorator([never_cache, xframe_options_exempt], name="dispatch")
class FrontChannelLogoutView(View):
    """Entra loads this (in an iframe) with ``sid`` when the user signs out of their Entra session:
    end the sessions opened in it (checking ``iss`` too when one is sent). Register it as the app's
    front-channel logout URL."""

    def get(self, request):
        ended = revocation.end_entra_session(request.GET.get("sid", ""), request.GET.get("iss"))
        logger.info("front-channel logout ended %s session(s)", ended)
        return HttpResponse("", content_type="text/plain")
