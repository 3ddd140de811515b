"""Scope strings: which resource a request is for, and the permissions Graph knows."""
from __future__ import annotations

from dataclasses import dataclass, field

from .constants import GRAPH_APP_ID, GRAPH_URI
from .directory import Directory
from .errors import OAuthError
from .objects import AppRegistration

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

# Delegated Graph permissions the emulator knows: name -> what the consent page says.
GRAPH_DELEGATED = {
    "User.Read": "Sign you in and read your profile",
    "User.ReadWrite": "Read and update your profile",
    "User.ReadBasic.All": "Read all users' basic profiles",
    "User.Read.All": "Read all users' full profiles",
    "User.ReadWrite.All": "Read and write all users' full profiles",
    "User.RevokeSessions.All": "Revoke all sign in sessions for a user",
    "People.Read": "Read your relevant people list",
    "Mail.Read": "Read your mail",
    "Mail.ReadBasic": "Read basic mail",
    "Mail.ReadWrite": "Read and write access to your mail",
    "Mail.Send": "Send mail as you",
    "Calendars.Read": "Read your calendars",
    "Contacts.Read": "Read your contacts",
    "Files.Read": "Read your files",
    "GroupMember.Read.All": "Read group memberships",
    "Group.Read.All": "Read all groups",
    "Directory.Read.All": "Read directory data",
    "Directory.ReadWrite.All": "Read and write directory data",
    "Directory.AccessAsUser.All": "Access the directory as you",
}
# Application permissions (app roles of Graph) usable with client credentials.
GRAPH_APPLICATION = (
    "User.Read.All", "User.ReadWrite.All", "User.RevokeSessions.All", "Mail.Read",
    "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Directory.ReadWrite.All",
)
_GRAPH_ALIASES = {GRAPH_APP_ID, GRAPH_URI, "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"}


@dataclass
class Resource:
    """An API a token can be for: Microsoft Graph, or an app registration that exposes scopes."""
    app_id: str
    display_name: str
    identifier: str                  # the form used in scope strings and v1 audiences
    app: AppRegistration | None = None

    @property
    def is_graph(self) -> bool:
        return self.app_id == GRAPH_APP_ID

    def canonical(self, scope: str) -> str | None:
        """Return the scope's canonical spelling, or None when this resource does not expose it."""
        known = GRAPH_DELEGATED if self.is_graph else (self.app.exposed_scopes if self.app else [])
        return next((k for k in known if k.lower() == scope.lower()), None)

    def echo(self, scope: str) -> str:
        """Return the scope as Entra echoes it: short for Graph, prefixed for other APIs."""
        return scope if self.is_graph else f"{self.identifier}/{scope}"


GRAPH = Resource(GRAPH_APP_ID, "Microsoft Graph", GRAPH_URI)


@dataclass
class ScopeRequest:
    oidc: set[str] = field(default_factory=set)
    resource: Resource = field(default_factory=lambda: GRAPH)
    scopes: list[str] = field(default_factory=list)    # canonical names on the resource
    default: bool = False                              # "<resource>/.default" was asked for
    prefixed: bool = False                             # the resource was named by URI

    @property
    def offline(self) -> bool:
        return "offline_access" in self.oidc


def resource_for(directory: Directory, prefix: str) -> Resource | None:
    if prefix.rstrip("/").lower() in {a.lower().rstrip("/") for a in _GRAPH_ALIASES}:
        return GRAPH
    app = directory.app_by_identifier(prefix)
    if app is None:
        return None
    ident = app.identifier_uris[0] if app.identifier_uris else app.client_id
    matched = next((i for i in app.identifiers if i.rstrip("/").lower() == prefix.rstrip("/").lower()), ident)
    return Resource(app.client_id, app.display_name, matched, app)


def parse_scopes(directory: Directory, raw: str, tenant_name: str = "") -> ScopeRequest:
    """Split a space-separated scope parameter into OIDC scopes and one resource's permissions."""
    request = ScopeRequest()
    resources: dict[str, Resource] = {}
    names: list[str] = []
    for token in (raw or "").split():
        if token.lower() in OIDC_SCOPES:
            request.oidc.add(token.lower())
            continue
        if "/" in token:
            prefix, name = token.rsplit("/", 1)
            resource = resource_for(directory, prefix)
            if resource is None:
                raise OAuthError(
                    "invalid_resource", 500011,
                    f"The resource principal named {prefix} was not found in the tenant named "
                    f"{tenant_name or 'the directory'}. This can happen if the application has not "
                    "been installed by the administrator of the tenant or consented to by any user "
                    "in the tenant.")
            request.prefixed = True
        else:
            resource, name = GRAPH, token
        resources[resource.app_id] = resource
        names.append(name)
    if len(resources) > 1:
        raise OAuthError(
            "invalid_scope", 28000,
            f"Provided value for the input parameter scope is not valid because it contains more "
            f"than one resource. Scope {raw} is not valid.")
    if resources:
        request.resource = next(iter(resources.values()))
    for name in names:
        if name == ".default":
            request.default = True
            continue
        canonical = request.resource.canonical(name)
        if canonical is None:
            raise OAuthError(
                "invalid_scope", 70011,
                f"The provided request must include a 'scope' input parameter. The provided value "
                f"for the input parameter 'scope' is not valid. The scope {name} is not valid.")
        if canonical not in request.scopes:
            request.scopes.append(canonical)
    return request
