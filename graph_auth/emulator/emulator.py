"""The Emulator users take: the core with the identity platform and Graph plugged in.

The top of the emulator: it imports the core, the services and the transport; none of them imports
it back. The services are listed here, in ``routers`` (the core's host -> router table), rather
than imported by the core. ``session()`` lives here rather than in the core, with no late import:
the transport is a plain requests adapter over any WSGI app and needs only ``constants`` and
``errors``, so this module imports it at the top like any other lower module.
"""
from __future__ import annotations

from typing import ClassVar

from .constants import GRAPH_HOST, LOGIN_HOST
from .core import EmulatorCore, Router
from .graph import router as graph_router
from .identity import authorize, device
from .identity import router as identity_router
from .transport import emulator_session


class Emulator(EmulatorCore):
    """An in-process emulator of the Microsoft identity platform and a slice of Microsoft Graph.

    Call it as a WSGI application, or take ``session()``: a ``requests.Session`` on which
    ``https://login.microsoftonline.com/`` and ``https://graph.microsoft.com/`` are served here.
    """

    routers: ClassVar[dict[str, Router]] = {LOGIN_HOST: identity_router.route,
                                            GRAPH_HOST: graph_router.route}

    def session(self, timeout: float | tuple | None = None):
        """Return a ``requests.Session`` routed here; unrouted hosts raise ``NetworkBlocked``."""
        return emulator_session(self, timeout=timeout)

    # -- the programmatic browser ---------------------------------------------------------------
    def sign_in(self, auth_uri: str, user, password: str | None = None, *, consent: bool = True) -> dict:
        """Play the browser: sign ``user`` in at ``auth_uri`` and return the redirect's parameters
        (what msal's ``acquire_token_by_auth_code_flow`` takes as ``auth_response``)."""
        with self.lock:
            return authorize.sign_in_programmatically(self, auth_uri, self._person(user), password, consent)

    def approve_device_code(self, user_code: str, user, *, consent: bool = True) -> None:
        """Play the user who enters ``user_code`` on the device login page and signs in."""
        with self.lock:
            device.approve(self, user_code, self._person(user), consent)

    def decline_device_code(self, user_code: str) -> None:
        with self.lock:
            device.decline(self, user_code)
