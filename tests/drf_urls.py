"""DRF views for the tests: the demo's MeView (scopes), a view that only needs an authenticated
caller (nested, as a project's API often is), and one for the site's signed-in users (DRF's
SessionAuthentication) calling Graph as them."""
from django.urls import include, path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from demo_site.api import MeView
from graph_auth.drf import GraphBearerAuthentication


class WhoAmI(APIView):
    """Any authenticated caller: what GraphBearerAuthentication accepts is all that is checked."""
    authentication_classes = (GraphBearerAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request):
        return Response({"user": request.user.get_username()})


class SessionMe(APIView):
    """The signed-in user's own Graph (the middleware's ``request.graph``), as a browser app calls it."""
    authentication_classes = (SessionAuthentication, GraphBearerAuthentication)
    permission_classes = (IsAuthenticated,)

    def get(self, request):
        return Response({"displayName": request.graph.get("/me")["displayName"]})


class SessionMail(SessionMe):
    """Declares the scope it needs: a Graph 403 sends the user to consent to it (once)."""

    def get(self, request):
        request.graph.require_scopes(["Mail.Read"])
        return Response(request.graph.get("/me/messages"))


urlpatterns = [
    path("v1/", include([path("me", MeView.as_view()), path("whoami", WhoAmI.as_view()),
                         path("session/me", SessionMe.as_view()), path("session/mail", SessionMail.as_view())])),
    path("auth/", include("graph_auth.urls")),
]
