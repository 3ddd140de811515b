"""The directory the demo and the pytest fixtures start from: two tenants and the consumers tenant,
test users of every account kind, six apps.

Every password is ``Passw0rd!``. Client ids and secrets are public test values: they only mean
something to the emulator.
"""
from __future__ import annotations

from .constants import CONSUMERS_TENANT_ID

CONTOSO = "contoso.onmicrosoft.com"
FABRIKAM = "fabrikam.onmicrosoft.com"
CONTOSO_ID = "8c2f1b9e-5d47-4f0c-9a4e-3b6d2e7f1a55"
FABRIKAM_ID = "2d7a9c41-6e3b-4b8f-8f12-7c5e9a0b4d63"
CONSUMERS_ID = CONSUMERS_TENANT_ID      # personal Microsoft accounts

# Account kinds (the ids are derived from the names, see directory_data.py).
GUEST_HOME_UPN = f"fabrice@{FABRIKAM}"                    # a Fabrikam member, invited into Contoso:
GUEST_UPN = f"fabrice_{FABRIKAM}#EXT#@{CONTOSO}"          # ... their guest object there
PERSONAL_UPN = "sam.taylor@outlook.com"                   # a personal Microsoft account
PERSONAL_GUEST_UPN = f"sam.taylor_outlook.com#EXT#@{CONTOSO}"   # ... invited into Contoso too
NO_EMAIL_UPN = f"diego@{CONTOSO}"                         # a Contoso member without a mailbox

WEB_APP_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"     # the demo site (confidential web app)
WEB_APP_SECRET = "emulator-web-secret"
API_APP_ID = "f2c1a7d0-3b58-4e6a-9c47-1d8e5b2a6f90"     # a protected API (on-behalf-of)
API_APP_SECRET = "emulator-api-secret"
SPA_APP_ID = "a9e4d2c8-7f16-4b3d-8e5a-0c2b9d7f1e34"     # a single-page app (public, code + PKCE)
CLI_APP_ID = "3e8b5f21-9a47-4c6d-b0e3-5f1a7c9d2b86"     # a command-line tool (public, device code)
DAEMON_APP_ID = "c47d9e13-2b6a-4f85-a1c0-8e3d5b7f9a21"  # a background job (app-only)
DAEMON_APP_SECRET = "emulator-daemon-secret"
FABRIKAM_APP_ID = "7b1e3c95-4d28-4a6f-b9e0-2c5d8f1a3e47"  # single-tenant app in Fabrikam

LOCAL_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")
TEST_ORIGIN = "http://testserver"      # Django's test client
OVERAGE_GROUPS = 250


def _person(upn: str, name: str, job: str, **extra) -> dict:
    given, _, surname = name.partition(" ")
    return {"user_principal_name": upn, "display_name": name, "given_name": given,
            "surname": surname, "mail": upn, "job_title": job, "office_location": "18/2111",
            "business_phones": ["+1 425 555 0109"], **extra}


def default_directory() -> dict:
    """Return the default directory as data (a fresh copy each call)."""
    projects = [{"tenant": CONTOSO, "display_name": f"Project {n:03d}", "member_of": ["All projects"]}
                for n in range(1, OVERAGE_GROUPS + 1)]
    return {
        "tenants": [
            {"id": CONTOSO_ID, "domain": CONTOSO, "display_name": "Contoso", "domains": ["contoso.com"]},
            {"id": FABRIKAM_ID, "domain": FABRIKAM, "display_name": "Fabrikam"},
            {"id": CONSUMERS_ID, "domain": "live.com", "display_name": "Microsoft accounts"},
        ],
        "groups": [
            {"tenant": CONTOSO, "display_name": "Staff"},
            {"tenant": CONTOSO, "display_name": "Site admins"},
            {"tenant": CONTOSO, "display_name": "Marketing", "security_enabled": False},
            {"tenant": CONTOSO, "display_name": "Partners"},
            {"tenant": CONTOSO, "display_name": "All projects"},
            {"tenant": FABRIKAM, "display_name": "Fabrikam staff"},
            *projects,                   # each a member of "All projects": a nested group
        ],
        "users": [
            _person(f"adele@{CONTOSO}", "Adele Vance", "Product Manager", tenant=CONTOSO,
                    groups=["Staff", "Site admins", "Marketing"], photo="adele.jpg", messages=27,
                    app_roles={WEB_APP_ID: ["Admin"], API_APP_ID: ["Reports.Read"]}),
            _person(f"alex@{CONTOSO}", "Alex Wilber", "Marketing Assistant", tenant=CONTOSO,
                    groups=["Staff", "Marketing"], messages=3),
            _person(f"megan@{CONTOSO}", "Megan Bowen", "Auditor", tenant=CONTOSO, photo="megan.jpg",
                    groups=["Staff", *(p["display_name"] for p in projects)], messages=12),
            _person(f"lee@{CONTOSO}", "Lee Gu", "Director", tenant=CONTOSO, photo="lee.jpg",
                    groups=["Staff"], messages=5, app_roles={WEB_APP_ID: ["Reader"]}),
            _person(f"nestor@{CONTOSO}", "Nestor Wilke", "Engineer", tenant=CONTOSO,
                    photo="nestor.jpg", groups=["Staff"], mfa_required=True),
            _person(f"isaiah@{CONTOSO}", "Isaiah Langer", "Former employee", tenant=CONTOSO,
                    enabled=False),
            _person(NO_EMAIL_UPN, "Diego Siciliani", "Field technician", tenant=CONTOSO, mail=None,
                    groups=["Staff"]),
            _person(GUEST_HOME_UPN, "Fabrice Martin", "Consultant", tenant=FABRIKAM,
                    groups=["Fabrikam staff"], messages=4),
            {"tenant": CONTOSO, "invited": GUEST_HOME_UPN, "groups": ["Partners"]},
            {"tenant": CONSUMERS_ID, "user_principal_name": PERSONAL_UPN, "display_name": "Sam Taylor",
             "given_name": "Sam", "surname": "Taylor", "mail": PERSONAL_UPN, "messages": 2},
            {"tenant": CONTOSO, "invited": PERSONAL_UPN},
        ],
        "apps": [
            {"client_id": WEB_APP_ID, "tenant": CONTOSO, "display_name": "graph_auth demo",
             "sign_in_audience": "AzureADandPersonalMicrosoftAccount", "secrets": [WEB_APP_SECRET],
             "optional_claims": {"id_token": ["login_hint"]},     # for logout_hint and SSO
             "redirect_uris": [f"{o}{path}" for o in (*LOCAL_ORIGINS, TEST_ORIGIN)
                               for path in ("/auth/callback", "/")],
             "front_channel_logout_url": f"{LOCAL_ORIGINS[0]}/auth/logout/front-channel",
             "api_permissions": {"graph": ["User.Read", "Mail.Read", "User.ReadBasic.All"]},
             "application_permissions": {"graph": ["User.Read.All", "User.RevokeSessions.All"]},
             "group_membership_claims": "SecurityGroup",
             # The site is also a protected API (for its single-page app), calling Graph on-behalf-of.
             "identifier_uris": [f"api://{WEB_APP_ID}"], "exposed_scopes": ["access_as_user"],
             "access_token_version": 2, "known_client_applications": [SPA_APP_ID],
             "allow_public_client_flows": True,        # manage.py graph_auth_device_login
             "app_roles": [{"value": "Admin", "allowed_member_types": ["User"]},
                           {"value": "Reader", "allowed_member_types": ["User"]}]},
            {"client_id": API_APP_ID, "tenant": CONTOSO, "display_name": "graph_auth demo API",
             "sign_in_audience": "AzureADandPersonalMicrosoftAccount", "secrets": [API_APP_SECRET],
             "identifier_uris": [f"api://{API_APP_ID}"], "exposed_scopes": ["access_as_user"],
             "access_token_version": 2, "admin_consent": True,
             "api_permissions": {"graph": ["User.Read", "Mail.Read"]},
             "app_roles": [{"value": "Reports.Read", "allowed_member_types": ["User", "Application"]}],
             "known_client_applications": [SPA_APP_ID, CLI_APP_ID]},
            {"client_id": SPA_APP_ID, "tenant": CONTOSO, "display_name": "graph_auth demo SPA",
             "sign_in_audience": "AzureADandPersonalMicrosoftAccount", "public_client": True,
             "spa_redirect_uris": [f"{o}/spa/" for o in (*LOCAL_ORIGINS, TEST_ORIGIN)],
             "api_permissions": {f"api://{WEB_APP_ID}": ["access_as_user"]}},
            {"client_id": CLI_APP_ID, "tenant": CONTOSO, "display_name": "graph_auth CLI",
             "sign_in_audience": "AzureADMultipleOrgs", "public_client": True,
             "redirect_uris": ["http://localhost"],
             "api_permissions": {"graph": ["User.Read"]}},
            {"client_id": DAEMON_APP_ID, "tenant": CONTOSO, "display_name": "graph_auth daemon",
             "secrets": [DAEMON_APP_SECRET],
             "application_permissions": {"graph": ["User.Read.All", "Mail.Read",
                                                   "User.RevokeSessions.All"]}},
            {"client_id": FABRIKAM_APP_ID, "tenant": FABRIKAM, "display_name": "Fabrikam intranet",
             "secrets": ["fabrikam-secret"], "redirect_uris": [f"{LOCAL_ORIGINS[0]}/fabrikam/callback"],
             "api_permissions": {"graph": ["User.Read"]}, "admin_consent": True},
        ],
    }
