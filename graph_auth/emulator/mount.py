"""The emulator inside a Django project: the process's current emulator and its browser pages.

graph_auth's HTTP seam routes Entra and Graph to ``current_emulator()`` in emulator mode; the
pytest fixtures swap in a fresh emulator per test with ``use_emulator()``.
"""
from __future__ import annotations

import contextlib
import io
import sys
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from ..app_settings import app_settings
from .emulator import Emulator

_current: Emulator | None = None
_lock = threading.Lock()


def browser_url() -> str:
    """Where browsers reach the emulator's pages: the setting, else this project's URL mount."""
    if app_settings.EMULATOR_BROWSER_URL:
        return app_settings.EMULATOR_BROWSER_URL.rstrip("/")
    try:
        return reverse("graph_auth_emulator:page", kwargs={"path": ""}).rstrip("/")
    except NoReverseMatch:
        return "https://login.microsoftonline.com"


def device_login_url() -> str:
    """Return where a person enters a device code in emulator mode (Entra's
    https://microsoft.com/devicelogin is out of reach offline): the device page of the emulator
    this process uses; a path when it is this site's own mount."""
    if app_settings.EMULATOR_URL:             # an emulator served over HTTP, shared with others
        return f"{app_settings.EMULATOR_URL.rstrip('/')}/devicelogin"
    return current_emulator().browser_url("/devicelogin")


def build_emulator() -> Emulator:
    """Make an emulator from the settings (EMULATOR_DIRECTORY, EMULATOR_BROWSER_URL)."""
    source = app_settings.EMULATOR_DIRECTORY
    directory = None
    if source:
        directory = import_string(source) if isinstance(source, str) else source
        directory = directory() if callable(directory) else directory
    return Emulator(directory, browser_url=browser_url())


def current_emulator() -> Emulator:
    """Return the process's emulator, making it on first use."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = build_emulator()
    return _current


@contextlib.contextmanager
def use_emulator(emulator: Emulator):
    """Make ``emulator`` the current one inside the block (tests)."""
    global _current
    with _lock:
        previous, _current = _current, emulator
    try:
        yield emulator
    finally:
        with _lock:
            _current = previous


def serve(request, path: str = "", *, trust_emulated_host: bool = False):
    """Answer a Django request with the current emulator (``graph_auth.views.emulator`` decides
    who may ask); ``X-Emulated-Host`` counts only when ``trust_emulated_host``."""
    prefix = request.path[: len(request.path) - len(path)] if path else request.path
    environ = {k: v for k, v in request.META.items() if isinstance(v, str)}
    if not trust_emulated_host:
        environ.pop("HTTP_X_EMULATED_HOST", None)
    if request.content_type == "multipart/form-data":
        # Browsers post these pages' forms urlencoded; a test client's default multipart post
        # gets the same treatment (the emulator reads urlencoded forms only).
        body = urlencode(list(request.POST.lists()), doseq=True).encode()
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    else:
        body = request.body
    environ.update({"SCRIPT_NAME": prefix.rstrip("/"), "PATH_INFO": "/" + path,
                    "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
                    "wsgi.errors": sys.stderr, "wsgi.url_scheme": request.scheme})
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    content = b"".join(current_emulator()(environ, start_response))
    response = HttpResponse(content, status=int(captured["status"].split()[0]))
    for name, value in captured["headers"]:
        if name.lower() == "set-cookie":
            jar = SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                response.cookies[key] = morsel
        else:
            response[name] = value
    return response
