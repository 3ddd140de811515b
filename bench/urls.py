from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.urls import include, path


@login_required
def page(request):
    """An authenticated page that does not use Graph."""
    return HttpResponse(f"<p>Hello {request.user.get_username()}</p>")


@login_required
def me(request):
    """An authenticated page that reads /me from Graph."""
    return JsonResponse({"name": request.graph.get("/me")["displayName"]})


urlpatterns = [path("page/", page), path("me/", me), path("auth/", include("graph_auth.urls"))]
