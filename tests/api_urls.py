"""Extra URLs for the protected-API tests: role-protected and mixed views."""
from django.http import JsonResponse
from django.urls import include, path

from graph_auth.api import api_view


@api_view(roles=["Reports.Read"])
def report(request):
    return JsonResponse({"caller": request.api_claims.get("azp"), "graph": request.graph is not None})


@api_view(scopes=["access_as_user"], roles=["Reports.Read"])
def either(request):
    return JsonResponse({"delegated": "scp" in request.api_claims})


urlpatterns = [path("report", report), path("either", either), path("", include("demo_site.urls"))]
