"""Metadata endpoints driven by real msal: OpenID discovery, instance discovery, JWKS, user realm,
and the ID token every user grant returns (claims, signature against the published JWKS)."""
import base64
import hashlib

import jwt
import msal
import pytest
from cryptography import x509

from graph_auth.emulator.default_directory import CONTOSO, CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID, WEB_APP_SECRET

from .conftest import ADELE, REDIRECT_URI
from .token_asserts import LOGIN, assert_entra_error, header_of, verify_with_jwks

ISSUER = f"{LOGIN}/{CONTOSO_ID}/v2.0"


def _config_url(tenant):
    return f"{LOGIN}/{tenant}/v2.0/.well-known/openid-configuration"


def _app(session, authority, **kwargs):
    return msal.ConfidentialClientApplication(WEB_APP_ID, client_credential=WEB_APP_SECRET,
                                              authority=authority, http_client=session,
                                              http_cache={}, **kwargs)


@pytest.mark.parametrize("tenant", [CONTOSO_ID, CONTOSO, CONTOSO.upper(), "contoso.com"])
def test_guid_and_domain_authorities_use_guid_endpoints(entra_emulator, entra_session, tenant):
    app = _app(entra_session, f"{LOGIN}/{tenant}")
    assert app.authority.tenant == CONTOSO_ID                  # the cache realm is the GUID
    assert app.authority.token_endpoint == f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/token"
    assert app.authority.device_authorization_endpoint == f"{LOGIN}/{CONTOSO_ID}/oauth2/v2.0/devicecode"
    (get,) = entra_emulator.requests()
    assert get.endpoint == "openid-configuration" and get.method == "GET" and get.status == 200
    config = entra_session.get(_config_url(tenant)).json()
    assert config["issuer"] == ISSUER
    assert config["jwks_uri"] == f"{LOGIN}/{CONTOSO_ID}/discovery/v2.0/keys"
    assert config["authorization_endpoint"].endswith(f"/{CONTOSO_ID}/oauth2/v2.0/authorize")
    assert config["end_session_endpoint"].endswith(f"/{CONTOSO_ID}/oauth2/v2.0/logout")
    assert config["token_endpoint_auth_methods_supported"] == [
        "client_secret_post", "private_key_jwt", "client_secret_basic"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["msgraph_host"] == "graph.microsoft.com"


@pytest.mark.parametrize("tenant", ["common", "organizations"])
def test_multi_tenant_authorities_keep_their_name(entra_session, tenant):
    app = _app(entra_session, f"{LOGIN}/{tenant}")
    assert app.authority.tenant == tenant
    config = entra_session.get(_config_url(tenant)).json()
    assert config["token_endpoint"] == f"{LOGIN}/{tenant}/oauth2/v2.0/token"
    assert config["issuer"] == f"{LOGIN}/{{tenantid}}/v2.0"


def test_trailing_slash_authority_double_slash_path(entra_emulator, entra_session):
    app = _app(entra_session, f"{LOGIN}/{CONTOSO_ID}/")
    assert app.authority.tenant == CONTOSO_ID
    (get,) = entra_emulator.requests("openid-configuration")
    assert get.status == 200
    # msal's own default authority has a trailing slash too: "common//v2.0"
    default = msal.PublicClientApplication(WEB_APP_ID, http_client=entra_session, http_cache={})
    assert default.authority.tenant == "common"


def test_v2_suffixed_authority_is_rejected_like_entra(entra_session):
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        _app(entra_session, f"{LOGIN}/{CONTOSO_ID}/v2.0")


def test_unknown_tenant_raises_value_error_in_msal(entra_session):
    with pytest.raises(ValueError) as info:
        _app(entra_session, f"{LOGIN}/nosuchtenant.onmicrosoft.com")
    assert "Unable to get authority configuration" in str(info.value)
    cause = str(info.value.__context__)                  # msal's "OIDC Discovery failed ..." error
    assert "HTTP status: 400" in cause and "AADSTS90002" in cause and "invalid_tenant" in cause


def test_unknown_tenant_raw_body(entra_session):
    response = entra_session.get(_config_url("nosuch.onmicrosoft.com"),
                                 headers={"client-request-id": "11111111-2222-3333-4444-555555555555"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    body = assert_entra_error(response.json(), "invalid_tenant", 90002,
                              correlation_id="11111111-2222-3333-4444-555555555555")
    assert "Tenant 'nosuch.onmicrosoft.com' not found" in body["error_description"]


def test_get_accounts_asks_instance_discovery_for_aliases(entra_emulator, entra_session):
    app = _app(entra_session, f"{LOGIN}/{CONTOSO_ID}")
    assert app.get_accounts() == []
    assert app.get_accounts() == []                      # memoized per app: no second request
    (get,) = entra_emulator.requests("instance-discovery")
    assert get.status == 200 and get.query["api-version"] == "1.1"
    assert get.query["authorization_endpoint"] == f"{LOGIN}/common/oauth2/authorize"
    body = entra_session.get(f"{LOGIN}/common/discovery/instance", params=get.query).json()
    assert body["tenant_discovery_endpoint"] == _config_url("common")
    assert "login.windows.net" in body["metadata"][0]["aliases"]


def test_accounts_cached_under_an_alias_are_found(entra_emulator, entra_session):
    cache = msal.SerializableTokenCache()
    app = _app(entra_session, f"{LOGIN}/{CONTOSO_ID}", token_cache=cache)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    assert "access_token" in app.acquire_token_by_auth_code_flow(
        flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    aliased = msal.SerializableTokenCache()
    aliased.deserialize(cache.serialize().replace("login.microsoftonline.com", "login.windows.net"))
    other = _app(entra_session, f"{LOGIN}/{CONTOSO_ID}", token_cache=aliased)
    (account,) = other.get_accounts()
    assert account["environment"] == "login.windows.net" and account["username"] == ADELE
    assert [r.status for r in entra_emulator.requests("instance-discovery")] == [200]


def test_silent_without_tokens_uses_instance_discovery(entra_emulator, signed_in):
    app, _ = signed_in
    (account,) = app.get_accounts()
    assert entra_emulator.requests("instance-discovery") == []     # found without aliases
    cache = app.token_cache
    for rt in list(cache.search(cache.CredentialType.REFRESH_TOKEN)):
        cache.remove_rt(rt)
    for at in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
        cache.remove_at(at)
    assert app.acquire_token_silent(["User.Read"], account) is None
    assert [r.status for r in entra_emulator.requests("instance-discovery")] == [200]


def test_unknown_instance_is_rejected(entra_emulator, entra_session):
    with pytest.raises(ValueError, match="invalid_instance"):
        _app(entra_session, f"https://login.example.net/{CONTOSO_ID}")
    (get,) = entra_emulator.requests("instance-discovery")
    assert get.query["api-version"] == "1.0" and get.status == 400
    body = entra_session.get(f"{LOGIN}/common/discovery/instance", params=get.query).json()
    assert_entra_error(body, "invalid_instance", 50049)


def test_jwks_publishes_two_keys_with_matching_certificates(entra_session):
    keys = entra_session.get(f"{LOGIN}/{CONTOSO_ID}/discovery/v2.0/keys").json()["keys"]
    assert len(keys) == 2 and len({k["kid"] for k in keys}) == 2
    for key in keys:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["kid"] == key["x5t"]
        cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
        jwk_key = jwt.PyJWK.from_dict(key).key
        assert cert.public_key().public_numbers() == jwk_key.public_numbers()


def test_id_token_claims_and_signature(entra_emulator, entra_session, web_app):
    flow = web_app.initiate_auth_code_flow(["User.Read", "email"], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    adele = entra_emulator.user(ADELE)
    claims = verify_with_jwks(entra_session, result["id_token"], audience=WEB_APP_ID, issuer=ISSUER)
    assert claims == result["id_token_claims"]
    assert claims["oid"] == adele.id and claims["tid"] == CONTOSO_ID and claims["ver"] == "2.0"
    assert claims["name"] == "Adele Vance" and claims["preferred_username"] == ADELE
    assert claims["email"] == ADELE
    assert claims["sub"] and claims["sub"] != adele.id                 # pairwise
    assert claims["iat"] == claims["nbf"] and claims["exp"] - claims["iat"] == 3600
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert claims["roles"] == ["Admin"]
    staff = {g.display_name: g.id for g in entra_emulator.directory.groups.values()}
    assert sorted(claims["groups"]) == sorted([staff["Staff"], staff["Site admins"]])  # security only
    assert header_of(result["id_token"])["alg"] == "RS256"


def test_id_token_without_email_scope_has_no_email(signed_in):
    _, result = signed_in
    assert "email" not in result["id_token_claims"]
    assert "name" in result["id_token_claims"]


def test_group_overage_claims(entra_emulator, web_app):
    megan = "megan@contoso.onmicrosoft.com"
    flow = web_app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], megan))
    claims = result["id_token_claims"]
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    endpoint = claims["_claim_sources"]["src1"]["endpoint"]       # the retired Azure AD Graph, as Entra sends it
    assert endpoint == (f"https://graph.windows.net/{CONTOSO_ID}/users/{entra_emulator.user(megan).id}"
                        "/getMemberObjects")


def test_key_rollover_tokens_verify_against_published_jwks(entra_emulator, entra_session, signed_in):
    app, before = signed_in
    old_kid = header_of(before["access_token"])["kid"]
    published = {k["kid"] for k in entra_session.get(f"{LOGIN}/{CONTOSO_ID}/discovery/v2.0/keys").json()["keys"]}
    new = entra_emulator.rotate_keys()
    assert new.kid in published and new.kid != old_kid          # the "next" key was already public
    after = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    assert header_of(after["id_token"])["kid"] == new.kid
    verify_with_jwks(entra_session, after["id_token"], audience=WEB_APP_ID, issuer=ISSUER)
    verify_with_jwks(entra_session, before["id_token"], audience=WEB_APP_ID, issuer=ISSUER)
    # an unannounced key: clients must refetch the JWKS to see it
    surprise = entra_emulator.rotate_keys(publish_first=False, retire_old=True)
    assert surprise.kid not in published
    third = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    verify_with_jwks(entra_session, third["id_token"], audience=WEB_APP_ID, issuer=ISSUER)
    with pytest.raises(AssertionError, match="is not published"):
        verify_with_jwks(entra_session, after["id_token"], audience=WEB_APP_ID)   # its key retired


def test_fabrikam_jwks_and_tokens_carry_fabrikam_issuer(entra_session):
    config = entra_session.get(_config_url(FABRIKAM_ID)).json()
    assert config["issuer"] == f"{LOGIN}/{FABRIKAM_ID}/v2.0"
    keys = entra_session.get(config["jwks_uri"]).json()["keys"]
    assert all(k["issuer"] == config["issuer"] for k in keys)


def test_userrealm(entra_session):
    known = entra_session.get(f"{LOGIN}/common/userrealm/{ADELE}", params={"api-version": "1.0"})
    assert known.status_code == 200
    assert known.json()["account_type"] == "Managed" and known.json()["domain_name"] == CONTOSO
    secondary = entra_session.get(f"{LOGIN}/common/userrealm/adele@Contoso.com?api-version=1.0")
    assert secondary.json()["account_type"] == "Managed"
    assert secondary.json()["domain_name"] == "contoso.com"         # the domain asked about
    unknown = entra_session.get(f"{LOGIN}/common/userrealm/someone@example.org?api-version=1.0")
    assert unknown.json()["account_type"] == "Unknown"
