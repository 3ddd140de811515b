"""An offline emulator of the Microsoft identity platform and a slice of Microsoft Graph.

    emulator = Emulator()                      # the default directory (default_directory.py)
    session = emulator.session()               # requests.Session serving Entra's and Graph's URLs
    app = msal.ConfidentialClientApplication(..., http_client=session)

See the README ("The emulator") for the directory format and the test controls.
"""
from .core import Emulator, EmulatorSettings, EmulatorTimeout
from .directory import AppRegistration, Directory, Group, Tenant, User
from .keys import Certificate, create_certificate
from .transport import NetworkBlocked, emulator_session, mount_emulator

__all__ = [
    "AppRegistration", "Certificate", "Directory", "Emulator", "EmulatorSettings", "EmulatorTimeout",
    "Group", "NetworkBlocked", "Tenant", "User", "create_certificate", "emulator_session",
    "mount_emulator",
]
