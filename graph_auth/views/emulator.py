"""The emulator's browser pages (sign-in, consent, device code, sign-out) served by this site.

They exist only in emulator mode, and answer only this machine: a loopback peer, a local ``Host``
and no proxy header (a reverse proxy on the same host makes every client look like 127.0.0.1),
unless GRAPH_AUTH["EMULATOR_ALLOW_REMOTE"] is set. The emulator package is imported only here,
on a request, in emulator mode.
"""
from __future__ import annotations

import ipaddress

from django.http import Http404
from django.http.request import split_domain_port
from django.views.decorators.csrf import csrf_exempt

from ..app_settings import app_settings

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "testserver")     # testserver: Django's test client
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST")


def is_local_name(host: str) -> bool:
    """Whether a host name (no port) can only mean this machine."""
    host = host.lower().strip("[]").rstrip(".")
    return host in LOCAL_NAMES or host.endswith(".localhost")


def is_local_request(request) -> bool:
    """Whether the request comes from this machine, directly (see the module docstring)."""
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    host, _ = split_domain_port(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
    return (peer.is_loopback and is_local_name(host)
            and not any(request.META.get(name) for name in PROXY_HEADERS))


@csrf_exempt   # these pages stand for login.microsoftonline.com; they carry their own flow ids
def emulator_page(request, path: str = ""):
    if not app_settings.emulator_enabled:
        raise Http404("graph_auth's emulator is off")
    local = is_local_request(request)
    if not local and not app_settings.EMULATOR_ALLOW_REMOTE:
        raise Http404("graph_auth's emulator answers this machine only")
    from ..emulator.mount import serve
    # A process on this machine (EMULATOR_URL) names the production host it stands for; nobody
    # else chooses which host the emulator plays.
    return serve(request, path, trust_emulated_host=local)
