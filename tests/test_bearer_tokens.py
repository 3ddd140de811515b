"""Bearer tokens mean what they say: only access tokens (never ID tokens), app-only only when the
token says so, ``iss`` tied to the token's own ``tid``, and multi-tenant APIs only for the tenants
the site names (or any tenant when it says so explicitly)."""
from __future__ import annotations

import pytest
from django.test import override_settings

from graph_auth.emulator.default_directory import CONTOSO, CONTOSO_ID, DAEMON_APP_ID, FABRIKAM_ID, WEB_APP_ID

from .api_support import ADELE, call, daemon_token, spa_token
from .id_token_support import claims_of, forge, get_id_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api_urls")]
V1_ISSUER, V2_ISSUER = "https://sts.windows.net/{}/", "https://login.microsoftonline.com/{}/v2.0"


def settings(**values):
    return override_settings(GRAPH_AUTH={"EMULATOR": True, **values})


@pytest.fixture
def app_claims(entra_directory, daemon_token):
    """The claims of a real app-only token for this API holding the app role Reports.Read."""
    entra_directory.apps[DAEMON_APP_ID].application_permissions[f"api://{WEB_APP_ID}"] = ["Reports.Read"]
    return claims_of(daemon_token())


def report(client, token) -> tuple[int, str]:
    """Call the roles-only API; return the status and the error description (if any)."""
    status, body, _ = call(client, "/report", token)
    return status, body.get("error_description", "")


# -- ID tokens are not access tokens ---------------------------------------------------------------
def test_an_id_token_with_an_app_role_is_not_an_app_only_token(client, entra_emulator, get_id_token):
    """The ID token of a user holding the API's app role: same audience, no scp, roles."""
    entra_emulator.user(ADELE).app_roles[WEB_APP_ID] = ["Reports.Read"]
    id_token = get_id_token(ADELE)
    assert claims_of(id_token)["roles"] == ["Reports.Read"] and claims_of(id_token)["aud"] == WEB_APP_ID
    status, description = report(client, id_token)
    assert status == 401 and "not an access token" in description
    refreshed = forge(entra_emulator, claims_of(id_token), nonce=None)     # a refresh's ID token: no nonce
    assert report(client, refreshed)[0] == 401
    assert call(client, "/api/me", id_token)[0] == 401


@pytest.mark.parametrize("claim", ["nonce", "at_hash", "c_hash"])
def test_id_token_claims_make_a_token_no_access_token(client, entra_emulator, app_claims, claim):
    assert report(client, forge(entra_emulator, app_claims))[0] == 200
    status, description = report(client, forge(entra_emulator, app_claims, **{claim: "x"}))
    assert status == 401 and "ID token" in description


@pytest.mark.parametrize("missing", ["azp", "azpacr"])
def test_v2_access_tokens_need_azp_and_azpacr(client, entra_emulator, app_claims, missing):
    status, description = report(client, forge(entra_emulator, app_claims, **{missing: None}))
    assert status == 401 and "not an access token" in description


def v1(claims: dict, **changes) -> dict:
    """The same token in Entra's v1.0 form (sts.windows.net issuer, appid/appidacr)."""
    return {**{k: v for k, v in claims.items() if k not in ("azp", "azpacr")},
            "ver": "1.0", "iss": V1_ISSUER.format(claims["tid"]), "aud": f"api://{WEB_APP_ID}",
            "appid": claims["azp"], "appidacr": claims["azpacr"], **changes}


@pytest.mark.parametrize("missing", ["appid", "appidacr"])
def test_v1_access_tokens_need_appid_and_appidacr(client, entra_emulator, app_claims, missing):
    assert report(client, forge(entra_emulator, v1(app_claims)))[0] == 200
    status, description = report(client, forge(entra_emulator, v1(app_claims), **{missing: None}))
    assert status == 401 and "not an access token" in description


def test_the_issuer_form_matches_the_token_version(client, entra_emulator, app_claims):
    tid = app_claims["tid"]
    assert report(client, forge(entra_emulator, app_claims, iss=V1_ISSUER.format(tid)))[0] == 401
    assert report(client, forge(entra_emulator, v1(app_claims), iss=V2_ISSUER.format(tid)))[0] == 401
    assert report(client, forge(entra_emulator, app_claims, ver=None))[0] == 401


# -- which tokens are app-only ---------------------------------------------------------------------
def test_app_only_without_idtyp_needs_roles_no_scp_and_sub_equal_to_oid(client, entra_emulator, app_claims):
    assert app_claims["idtyp"] == "app" and app_claims["sub"] == app_claims["oid"]
    assert report(client, forge(entra_emulator, app_claims, idtyp=None))[0] == 200
    status, description = report(client, forge(entra_emulator, app_claims, idtyp=None, sub="someone-else"))
    assert status == 401 and "neither" in description
    assert report(client, forge(entra_emulator, app_claims, idtyp=None, roles=None))[0] == 401


def test_a_user_token_is_never_app_only(client, entra_emulator, entra_session, app_claims):
    delegated = claims_of(spa_token(entra_emulator, entra_session))
    assert report(client, forge(entra_emulator, delegated, roles=["Reports.Read"]))[0] == 403
    assert report(client, forge(entra_emulator, delegated, scp=None, roles=["Reports.Read"]))[0] == 401
    assert report(client, forge(entra_emulator, app_claims, scp="access_as_user"))[0] == 401


@pytest.mark.parametrize("changes", [{"scp": 42}, {"roles": "Reports.Read"}, {"tid": 42}])
def test_claims_of_the_wrong_type_are_refused(client, entra_emulator, app_claims, changes):
    assert report(client, forge(entra_emulator, app_claims, **changes))[0] == 401


# -- iss and tid -----------------------------------------------------------------------------------
@pytest.mark.parametrize("tenant", [CONTOSO_ID, CONTOSO])       # a domain resolves through the metadata
def test_single_tenant_api_refuses_our_issuer_with_another_tid(client, entra_emulator, app_claims, tenant):
    with settings(TENANT_ID=tenant):
        assert report(client, forge(entra_emulator, app_claims))[0] == 200
        status, description = report(client, forge(entra_emulator, app_claims, tid=FABRIKAM_ID))
        assert status == 401 and "another tenant" in description
        fabrikam = forge(entra_emulator, app_claims, tid=FABRIKAM_ID, iss=V2_ISSUER.format(FABRIKAM_ID))
        assert report(client, fabrikam)[0] == 401


def test_multi_tenant_api_refuses_an_issuer_of_another_tid(client, entra_emulator, app_claims):
    with settings(API_ALLOW_ANY_TENANT=True):
        assert report(client, forge(entra_emulator, app_claims, tid=FABRIKAM_ID))[0] == 401
        fabrikam = forge(entra_emulator, app_claims, tid=FABRIKAM_ID, iss=V2_ISSUER.format(FABRIKAM_ID))
        assert report(client, fabrikam)[0] == 200


# -- multi-tenant APIs name their tenants ----------------------------------------------------------
def test_multi_tenant_api_needs_allowed_tenants_or_any_tenant(client, entra_emulator, app_claims):
    token = forge(entra_emulator, app_claims)
    for tenant in ("organizations", "common"):
        with settings(TENANT_ID=tenant):
            status, description = report(client, token)
            assert status == 401 and "ALLOWED_TENANTS" in description
    with settings(API_ALLOW_ANY_TENANT=True):
        assert report(client, token)[0] == 200
    with settings(ALLOWED_TENANTS=[CONTOSO_ID]):
        assert report(client, token)[0] == 200
    with settings(ALLOWED_TENANTS=[FABRIKAM_ID], API_ALLOW_ANY_TENANT=True):     # the list wins
        assert report(client, token)[0] == 401
    with settings(TENANT_ID=CONTOSO_ID):                                        # single tenant
        assert report(client, token)[0] == 200
