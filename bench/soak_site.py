"""The soak site's URLs: a page without Graph, a page reading /me from Graph, sign-in, a forced
refresh (the harness's lost-token check), and a middleware stamping when each request started."""
import os
import time

from django.http import JsonResponse
from django.urls import include, path

from bench.urls import me, page
from graph_auth.exceptions import IdentityPlatformUnavailable, InteractionRequired
from graph_auth.user_tokens import UserTokens


def stamp(get_response):
    """Say when the worker started the request and how long it held it (the outermost middleware)."""
    def middleware(request):
        started = time.time()
        response = get_response(request)
        response["X-Soak-Start"] = f"{started:.4f}"
        response["X-Soak-Time"] = f"{time.time() - started:.4f}"
        response["X-Soak-Pid"] = str(os.getpid())
        return response
    return middleware


def force_refresh(request):
    """Refresh the user's tokens now (a refresh grant even when the access token is fresh)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed_out"}, status=409)
    try:
        UserTokens(request).get_token(force_refresh=True)
    except InteractionRequired as exc:
        return JsonResponse({"error": exc.error, "code": exc.aadsts}, status=409)
    except IdentityPlatformUnavailable as exc:
        return JsonResponse({"error": "unavailable", "detail": str(exc)[:200]}, status=503)
    return JsonResponse({"ok": True})


urlpatterns = [path("page/", page), path("me/", me), path("_soak/refresh/", force_refresh),
               path("auth/", include("graph_auth.urls"))]
