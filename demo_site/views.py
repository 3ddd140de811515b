"""The demo's pages: each reads the signed-in user's data from Microsoft Graph via request.graph."""
import asyncio
import base64

from asgiref.sync import sync_to_async
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.shortcuts import render

from graph_auth.answers import describe
from graph_auth.app_settings import app_settings
from graph_auth.app_tokens import app_graph
from graph_auth.decorators import graph_scopes_required
from graph_auth.exceptions import GraphRequestError, GraphThrottled, GraphUnavailable, IdentityPlatformUnavailable

PAGE_SIZE = 10
# Microsoft busy, down or slow: the page says so. Other failures (a 4xx is a bug here, or a
# permission) go on to graph_auth's pages and its log.
OUTAGES = (GraphThrottled, GraphUnavailable, IdentityPlatformUnavailable)


def outage(request, template: str, exc) -> HttpResponse:
    """Render ``template`` with a note that Microsoft failed, and graph_auth's status and Retry-After."""
    answer = describe(exc)
    response = render(request, template, {"outage": answer.body["error_description"]}, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def home(request):
    context = {"emulated": app_settings.emulator_enabled, "tenant": app_settings.TENANT_ID}
    if context["emulated"]:
        from graph_auth.emulator.mount import current_emulator
        context["test_users"] = [u for u in current_emulator().directory.users.values() if u.enabled][:6]
    return render(request, "demo/home.html", context)


@login_required
def profile(request):
    try:
        me = request.graph.get("/me", params={"$select": "displayName,mail,jobTitle,userPrincipalName,officeLocation"})
    except OUTAGES as exc:
        return outage(request, "demo/profile.html", exc)
    return render(request, "demo/profile.html", {"me": me})


@login_required
def photo(request):
    try:
        data = request.graph.get("/me/photo/$value")
    except GraphRequestError as exc:
        if exc.status_code == 404:
            return HttpResponse(status=404)
        raise
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


async def _photo(request) -> str | None:
    """The user's photo as a data: URL, or None when they have none."""
    try:
        data = await request.graph.aget("/me/photo/$value")
    except GraphRequestError as exc:
        if exc.status_code == 404:
            return None
        raise
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@login_required
@graph_scopes_required("Mail.Read")
async def dashboard(request):
    """An async view: the profile, the photo and the latest mail, fetched from Graph at once."""
    me, photo, mail = await asyncio.gather(
        request.graph.aget("/me", params={"$select": "displayName,mail,jobTitle"}),
        _photo(request),
        request.graph.aget("/me/messages", params={"$top": 5, "$select": "subject,from,receivedDateTime"}))
    # Rendering reads request.user (the templates' "user"), which is sync only.
    return await sync_to_async(render)(request, "demo/dashboard.html",
                                       {"me": me, "photo": photo, "messages": mail.get("value", [])})


def _page(request, path: str, params: dict):
    """One page of a Graph collection; ?next= carries Graph's own nextLink (the client refuses to
    send the token anywhere but Graph)."""
    link = request.GET.get("next")
    try:
        page = request.graph.get(link) if link else request.graph.get(path, params=params)
    except ValueError:
        raise SuspiciousOperation("next is not a Microsoft Graph URL") from None
    return page.get("value", []), page.get("@odata.nextLink")


@login_required
@graph_scopes_required("Mail.Read")          # incremental consent: asked for when first needed
def mail(request):
    try:
        messages, next_link = _page(request, "/me/messages", {
            "$top": PAGE_SIZE, "$select": "subject,from,receivedDateTime,isRead"})
    except OUTAGES as exc:
        return outage(request, "demo/mail.html", exc)
    return render(request, "demo/mail.html", {"messages": messages, "next_link": next_link})


@login_required
def people(request):
    try:
        users, next_link = _page(request, "/users", {"$top": PAGE_SIZE, "$select": "displayName,mail,jobTitle,id"})
    except OUTAGES as exc:
        return outage(request, "demo/people.html", exc)
    return render(request, "demo/people.html", {"people": users, "next_link": next_link})


@staff_member_required
def staff_users(request):
    """Staff only: the users of the staff member's tenant, read with the app's own permission
    (client credentials), not the staff member's."""
    account = request.user.microsoft_accounts.order_by("-last_login_at").first()
    tenant = account.tenant_id if account else None
    people = list(app_graph(tenant=tenant).iterate("/users", params={
        "$select": "displayName,userPrincipalName,accountEnabled", "$top": 50}))
    return render(request, "demo/staff_users.html", {"people": people, "tenant": tenant})


def spa(request):
    """A single-page app in plain JavaScript: code + PKCE as a public client, then our API."""
    from django.conf import settings
    tenant = app_settings.TENANT_ID
    if app_settings.emulator_enabled:
        from graph_auth.emulator.default_directory import SPA_APP_ID
        from graph_auth.emulator.mount import browser_url
        base, client_id = f"{browser_url()}/{tenant}", SPA_APP_ID
    else:
        base = f"{app_settings.AUTHORITY_HOST.rstrip('/')}/{tenant}"
        client_id = getattr(settings, "SPA_CLIENT_ID", None)
    if not client_id or not app_settings.client_id:
        # Without its registration the page would send people to Entra with client_id=null.
        return render(request, "demo/spa_unconfigured.html", {"debug": settings.DEBUG}, status=503)
    config = {"authorize": f"{base}/oauth2/v2.0/authorize", "token": f"{base}/oauth2/v2.0/token",
              "clientId": client_id, "scope": f"api://{app_settings.client_id}/access_as_user",
              "api": "/api/me"}
    return render(request, "demo/spa.html", {"config": config})
