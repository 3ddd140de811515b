"""The demo's protected API (bearer tokens for this site's own API, Graph on behalf of the caller)."""
from django.http import JsonResponse

from graph_auth.api import api_view


@api_view(scopes=["access_as_user"])
def me(request):
    """Who is calling, as Microsoft Graph sees them (an on-behalf-of call)."""
    me = request.graph.get("/me", params={"$select": "displayName,mail,jobTitle"})
    return JsonResponse({"displayName": me["displayName"], "mail": me.get("mail"),
                         "jobTitle": me.get("jobTitle"), "via": "on-behalf-of",
                         "caller": request.api_claims.get("azp") or request.api_claims.get("appid")})


try:                                   # the same API with Django REST framework, when installed
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from graph_auth.drf import GraphBearerAuthentication, HasScopeOrRole

    class MeView(APIView):
        authentication_classes = (GraphBearerAuthentication,)
        permission_classes = (HasScopeOrRole,)
        required_scopes = ("access_as_user",)

        def get(self, request):
            me = request.graph.get("/me", params={"$select": "displayName,mail"})
            return Response({"displayName": me["displayName"], "mail": me.get("mail"),
                             "user": request.user.get_username()})
except ImportError:                    # pragma: no cover - DRF is optional
    MeView = None
