"""An offline emulator of the Microsoft identity platform and a slice of Microsoft Graph.

    emulator = Emulator()                      # the default directory (default_directory.py)
    session = emulator.session()               # requests.Session serving Entra's and Graph's URLs
    app = msal.ConfidentialClientApplication(..., http_client=session)

See the README ("The emulator") for the directory format and the test controls.

The modules, top-down (each imports only modules below it; tests/emulator/test_structure.py checks):
    mount, __main__   the emulator inside a Django project; served over HTTP
    emulator          Emulator: the core with the services plugged in; session(), sign_in(), ...
    identity/, graph/ the services: a router per host, handlers that take the emulator as ``em``
    async_transport   httpx transports over the requests adapter (async clients), block the rest
    transport         requests adapters that serve the routed hosts from a WSGI app, block the rest
    core, controls    state, settings, WSGI dispatch through a host -> router table; faults, log
    tokens, scopes, account_claims, keys, clock    tokens and what goes into them
    default_directory, directory, directory_data, objects    the directory as data, built, looked up
    constants, errors, records, wsgi_io    leaves: shared names, error shapes, records, HTTP plumbing
"""
from .async_transport import AsyncNetworkBlocked, async_emulator_client
from .core import EmulatorSettings
from .directory import AppRegistration, Directory, Group, Tenant, User
from .emulator import Emulator
from .errors import EmulatorTimeout
from .keys import Certificate, create_certificate
from .transport import NetworkBlocked, emulator_session, mount_emulator

__all__ = [
    "AppRegistration", "AsyncNetworkBlocked", "Certificate", "Directory", "Emulator", "EmulatorSettings",
    "EmulatorTimeout", "Group", "NetworkBlocked", "Tenant", "User", "async_emulator_client", "create_certificate",
    "emulator_session", "mount_emulator",
]
