"""The demo under a real ASGI server (uvicorn on 127.0.0.1, a free port), its async dashboard
reached over real HTTP, graph_auth on its in-process emulator (GRAPH_AUTH["EMULATOR"] = True)."""
import threading
import time

import httpx
import pytest
import uvicorn
from django.conf import settings
from django.core.asgi import get_asgi_application

from .concurrency import threaded_db

ADELE = "adele@contoso.onmicrosoft.com"


def serve_in_thread(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn for ``app`` on a free loopback port; return it, its thread and its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def test_the_async_dashboard_under_uvicorn(threaded_db, client, entra_emulator, entra_sign_in):
    assert settings.GRAPH_AUTH["EMULATOR"] is True
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.clear_log()
    server, thread, url = serve_in_thread(get_asgi_application())
    try:
        # Plain loopback HTTP to our own server: not through graph_auth's seam (the emulator's).
        with httpx.Client(trust_env=False, timeout=20) as browser:
            browser.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
            response = browser.get(f"{url}/dashboard/")
            anonymous = httpx.get(f"{url}/dashboard/", trust_env=False, timeout=20)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert 'id="display-name">Adele Vance<' in response.text
    assert response.headers["server"] == "uvicorn"
    assert sorted(r.path for r in entra_emulator.requests("graph")) == [
        "/v1.0/me", "/v1.0/me/messages", "/v1.0/me/photo/$value"]
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/auth/login/")
