"""The bench's pages: without Graph, with one or three Graph calls, and n calls of /me made
sequentially (sync view) or gathered (async view)."""
import asyncio

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


@login_required
def three(request):
    """A page making three Graph calls."""
    me = request.graph.get("/me")
    messages = request.graph.get("/me/messages", params={"$top": 1})
    users = request.graph.get("/users", params={"$top": 1})
    return JsonResponse({"name": me["displayName"], "messages": len(messages["value"]), "users": len(users["value"])})


@login_required
def sequential(request, n: int):
    """``n`` calls of /me, one after the other."""
    return JsonResponse({"names": [request.graph.get("/me")["displayName"] for _ in range(n)]})


@login_required
async def gathered(request, n: int):
    """``n`` calls of /me at once."""
    answers = await asyncio.gather(*(request.graph.aget("/me") for _ in range(n)))
    return JsonResponse({"names": [a["displayName"] for a in answers]})


urlpatterns = [path("page/", page), path("me/", me), path("three/", three),
               path("sequential/<int:n>/", sequential), path("gathered/<int:n>/", gathered),
               path("auth/", include("graph_auth.urls"))]
