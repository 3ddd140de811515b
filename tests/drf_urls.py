"""DRF views for the tests: the demo's MeView (scopes) and a view that only needs an authenticated
caller (nested, as a project's API often is)."""
from django.urls import include, path
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


urlpatterns = [path("v1/", include([path("me", MeView.as_view()), path("whoami", WhoAmI.as_view())]))]
