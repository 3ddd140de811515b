"""Who signs in as whom: the person authenticates with their home account's credentials; the
*principal* is the account in the request's tenant that the tokens are issued for.

With a tenant authority (GUID or domain) that is not the person's home, the principal is their
guest object there; on ``organizations``/``common`` it is the home account (Entra signs guests into
their home tenant there). Personal accounts sign in on ``common``/``consumers`` to apps that allow
them, or as invited guests with a tenant authority. Every refusal is worded as Entra words it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import OAuthError
from ..objects import AppRegistration, Tenant, User

# What login.live.com shows for an app that is not registered for personal accounts.
NOT_ENABLED_FOR_CONSUMERS = (
    "unauthorized_client: The client does not exist or is not enabled for consumers. If you are the "
    "application developer, configure a new application through the App Registrations in the Azure "
    "Portal at https://go.microsoft.com/fwlink/?linkid=2083908.")
NO_SUCH_PERSONAL_ACCOUNT = ("That Microsoft account doesn't exist. Enter a different account or get "
                            "a new one.")


@dataclass
class Refusal:
    """Why a person cannot sign in here: the page's message and the redirect's error."""
    error: str
    code: int | None                   # the AADSTS number; None for login.live.com's own messages
    message: str

    @property
    def text(self) -> str:
        return f"AADSTS{self.code}: {self.message}" if self.code else self.message

    def redirect_params(self) -> dict:
        if self.code is None:
            return {"error": self.error, "error_description": self.message}
        return OAuthError(self.error, self.code, self.message).redirect_params()


def consumers_endpoint(segment: str, tenant: Tenant | None) -> bool:
    """Whether the request is for personal accounts only (/consumers or the consumers tenant's id)."""
    return segment == "consumers" or (tenant is not None and tenant.personal)


def endpoint_refusal(app: AppRegistration, segment: str, tenant: Tenant | None, *,
                     interactive: bool) -> Refusal | None:
    """Refuse an app whose sign-in audience excludes every account this endpoint serves."""
    consumers = consumers_endpoint(segment, tenant)
    if not app.multi_tenant and segment in ("common", "organizations"):
        return Refusal("invalid_request", 50194,
                       f"Application '{app.client_id}'({app.display_name}) is not configured as a "
                       "multi-tenant application. Usage of the /common endpoint is not supported for such "
                       "applications created after '10/15/2018'. Use a tenant-specific endpoint or "
                       "configure the application to be multi-tenant.")
    if not app.allows_work_accounts and not consumers:
        return Refusal("invalid_request", 9002331,
                       f"Application '{app.client_id}'({app.display_name}) is configured for use by "
                       "Microsoft Account users only. Please use the /consumers endpoint to serve this "
                       "request.")
    if consumers and not app.allows_personal_accounts:
        if interactive:                 # the browser has been sent on to the personal-account service
            return Refusal("unauthorized_client", None, NOT_ENABLED_FOR_CONSUMERS)
        return Refusal("invalid_request", 9002332,
                       f"Application '{app.client_id}'({app.display_name}) is configured for use by "
                       "Azure Active Directory users only. Please do not use the /consumers endpoint "
                       "to serve this request.")
    return None


def check_endpoint(app: AppRegistration, segment: str, tenant: Tenant | None) -> None:
    """Raise the token/devicecode endpoints' error for an app used at the wrong endpoint."""
    refusal = endpoint_refusal(app, segment, tenant, interactive=False)
    if refusal is not None:
        raise OAuthError(refusal.error, refusal.code, refusal.message)


def principal_for(em, segment: str, tenant: Tenant | None, app: AppRegistration,
                  person: User) -> tuple[User | None, Refusal | None]:
    """Return (the principal ``person`` signs in as here, None) or (None, the refusal)."""
    directory = em.directory
    if not person.enabled:
        return None, _locked()
    if person.personal:
        if tenant is not None and not tenant.personal:
            principal = directory.guest_of(person, tenant.id)
            if principal is None:
                return None, not_in_tenant(person, tenant, app)
        elif segment == "organizations":
            return None, Refusal(
                "access_denied", 500200,
                f"User account '{person.user_principal_name}' is a personal Microsoft account. "
                "Personal Microsoft accounts are not supported for this application unless explicitly "
                "invited to an organization. Try signing out and signing back in with an "
                "organizational account.")
        elif not app.allows_personal_accounts:
            return None, Refusal("unauthorized_client", None, NOT_ENABLED_FOR_CONSUMERS)
        else:
            principal = person
    elif consumers_endpoint(segment, tenant):
        return None, Refusal("access_denied", None, NO_SUCH_PERSONAL_ACCOUNT)
    elif tenant is not None and tenant.id != person.tenant_id:
        principal = directory.guest_of(person, tenant.id)
        if principal is None:
            return None, not_in_tenant(person, tenant, app)
    else:
        principal = person
    if not directory.app_available_in(app, principal.tenant_id):
        return None, not_in_tenant(person, directory.tenant(app.tenant_id), app)
    if not principal.enabled:
        return None, _locked()
    return principal, None


def not_in_tenant(person: User, tenant: Tenant | None, app: AppRegistration) -> Refusal:
    """AADSTS50020: the person has no account (member or guest) in the tenant of the app or request."""
    idp = "live.com" if person.personal else f"https://sts.windows.net/{person.tenant_id}/"
    name = (tenant.display_name or tenant.domain) if tenant else app.tenant_id
    return Refusal("access_denied", 50020,
                   f"User account '{person.user_principal_name}' from identity provider '{idp}' does "
                   f"not exist in tenant '{name}' and cannot access the application "
                   f"'{app.client_id}'({app.display_name}) in that tenant. The account needs to be "
                   "added as an external user in the tenant first. Sign out and sign in again with a "
                   "different Microsoft Entra user account.")


def _locked() -> Refusal:
    return Refusal("access_denied", 50057,
                   "Your account has been locked. Contact your support person to unlock it.")
