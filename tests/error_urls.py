"""Views that leave Graph's and the identity platform's failures to graph_auth (no handling of their
own), for the error-answer tests: a browser page, one that declares a scope, api_view and DRF."""
from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from graph_auth.api import api_view
from graph_auth.decorators import graph_scopes_required
from graph_auth.drf import GraphBearerAuthentication, HasScopeOrRole


def home(request):
    return HttpResponse("home")                    # a page that does not use Graph


def profile(request):
    return JsonResponse(request.graph.get("/me"))


async def profile_async(request):
    return JsonResponse(await sync_to_async(request.graph.get)("/me"))


@graph_scopes_required("Mail.Read")
def mail(request):
    return JsonResponse(request.graph.get("/me/messages"))


@api_view(scopes=["access_as_user"])
def api_me(request):
    return JsonResponse(request.graph.get("/me"))


class DrfMe(APIView):
    authentication_classes = (GraphBearerAuthentication,)
    permission_classes = (HasScopeOrRole,)
    required_scopes = ("access_as_user",)

    def get(self, request):
        return Response(request.graph.get("/me"))


urlpatterns = [
    path("", home), path("profile/", profile, name="profile"), path("async/profile/", profile_async),
    path("mail/", mail),
    path("api/me", api_me), path("drf/me", DrfMe.as_view()),
    path("auth/", include("graph_auth.urls")),
]
