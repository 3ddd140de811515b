"""``app_settings``: a typed, lazy view of ``settings.GRAPH_AUTH`` (re-read on every access)."""
from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Credentials of the app registration. With no CLIENT_ID, DEBUG on (or EMULATOR True),
    # graph_auth runs on its emulator and uses the emulator's demo app registration.
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    "CLIENT_CERTIFICATE": None,           # {"private_key": pem, "thumbprint": sha1 hex} or with public_certificate
    "TENANT_ID": "organizations",         # a tenant GUID or domain, "organizations" or "common"
    "AUTHORITY_HOST": "https://login.microsoftonline.com",
    "SCOPES": ["User.Read"],
    "GRAPH_URL": "https://graph.microsoft.com/v1.0",
    "TIMEOUT": 10,                        # seconds, for every call to the identity platform and Graph
    # The emulator: None = on only when no CLIENT_ID is set and DEBUG is on; True = on even
    # with DEBUG off (demos, CI); False = never.
    "EMULATOR": None,
    "EMULATOR_DIRECTORY": None,           # dotted path to a callable returning directory data
    "EMULATOR_BROWSER_URL": None,         # where browsers reach its pages; default: its URL mount
}


class AppSettings:
    """Read ``settings.GRAPH_AUTH`` at call time, so ``override_settings`` just works."""

    def _get(self, name: str):
        return getattr(settings, "GRAPH_AUTH", {}).get(name, DEFAULTS[name])

    def __getattr__(self, name: str):
        if name in DEFAULTS:
            return self._get(name)
        raise AttributeError(name)

    @property
    def user_settings(self) -> dict:
        return dict(getattr(settings, "GRAPH_AUTH", {}) or {})

    @property
    def emulator_enabled(self) -> bool:
        """Whether the emulator stands in for Entra and Graph.

        Never when a CLIENT_ID is configured; otherwise when EMULATOR is True, or when EMULATOR is
        left unset and DEBUG is on. (The system check graph_auth.E010 reports the conflict.)
        """
        mode = self._get("EMULATOR")
        if self._get("CLIENT_ID") or mode is False:
            return False
        return mode is True or (mode is None and settings.DEBUG)

    @property
    def client_id(self) -> str | None:
        if self.emulator_enabled:
            from .emulator.default_directory import WEB_APP_ID
            return WEB_APP_ID
        return self._get("CLIENT_ID")

    @property
    def client_credential(self):
        if self.emulator_enabled:
            from .emulator.default_directory import WEB_APP_SECRET
            return WEB_APP_SECRET
        return self._get("CLIENT_CERTIFICATE") or self._get("CLIENT_SECRET")

    @property
    def authority(self) -> str:
        return f"{self._get('AUTHORITY_HOST').rstrip('/')}/{self._get('TENANT_ID')}"


app_settings = AppSettings()
