"""Map an identity-platform request to (endpoint name, handler)."""
from __future__ import annotations

from ..errors import OAuthError
from ..wsgi_io import Response
from . import authorize, device, discovery, logout, token


def _not_found(em, request) -> Response:
    return Response.json({"error": "not_found",
                          "error_description": f"The emulator has no endpoint at {request.path}."}, 404)


def _method_not_allowed(methods):
    def handler(em, request) -> Response:
        raise OAuthError("invalid_request", 900561,
                         f"The endpoint only accepts {', '.join(methods)} requests. "
                         f"Received a {request.method} request.", status=405)
    return handler


_OAUTH2 = {
    "authorize": ("authorize", authorize.handle, ("GET", "POST")),
    "token": ("token", token.handle, ("POST",)),
    "devicecode": ("devicecode", device.devicecode, ("POST",)),
    "logout": ("logout", logout.handle, ("GET", "POST")),
}


def route(request):
    s = [seg.lower() for seg in request.segments]
    found = None
    if s == ["common", "discovery", "instance"]:
        found = ("instance-discovery", discovery.instance_discovery, ("GET",))
    elif len(s) == 3 and s[:2] == ["common", "userrealm"]:
        found = ("userrealm", discovery.userrealm, ("GET",))
    elif len(s) == 4 and s[1:] == ["v2.0", ".well-known", "openid-configuration"]:
        found = ("openid-configuration", discovery.openid_configuration, ("GET",))
    elif len(s) in (3, 4) and s[1] == "discovery" and s[-1] == "keys":
        found = ("jwks", discovery.jwks, ("GET",))
    elif len(s) == 4 and s[1:3] == ["oauth2", "v2.0"] and s[3] in _OAUTH2:
        found = _OAUTH2[s[3]]
    elif s == ["devicelogin"]:
        found = ("devicelogin", device.page, ("GET", "POST"))
    elif s == []:
        found = ("home", authorize.home, ("GET",))
    if found is None:
        return "not-found", _not_found
    name, handler, methods = found
    return (name, handler) if request.method in methods else (name, _method_not_allowed(methods))
