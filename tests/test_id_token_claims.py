"""id_tokens.validate(): each bad token gets a clear InvalidIdToken; issuers for multi- and
single-tenant authorities (iss tied to tid); several audiences and azp; ALLOWED_TENANTS; clock-skew
leeway."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from django.test import override_settings

from graph_auth import id_tokens
from graph_auth.emulator.default_directory import CONTOSO, CONTOSO_ID, FABRIKAM_ID, WEB_APP_ID
from graph_auth.exceptions import InvalidIdToken

from .graph_support import FABRICE
from .id_token_support import ISSUER, adele_token, claims_of, fetched, forge, get_id_token


def settings(**values):
    return override_settings(GRAPH_AUTH={"EMULATOR": True, **values})


@pytest.fixture
def fabrice_token(get_id_token):
    return get_id_token(FABRICE)


@pytest.fixture
def claims(adele_token):
    return claims_of(adele_token)


def rejected(token: str, match: str) -> InvalidIdToken:
    with pytest.raises(InvalidIdToken, match=match) as info:
        id_tokens.validate(token)
    return info.value


# -- forged and broken tokens ----------------------------------------------------------------------
@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9"])
def test_a_malformed_token(token, entra_emulator):
    rejected(token, "malformed ID token")


def test_alg_none_is_refused_without_fetching_anything(claims, entra_emulator):
    rejected(jwt.encode(claims, None, algorithm="none"), "unexpected signing algorithm 'none'")
    assert entra_emulator.requests() == []


def test_hs256_signed_with_public_material_is_refused(claims, entra_emulator):
    token = jwt.encode(claims, "the tenant's public key, as a secret", algorithm="HS256",
                       headers={"kid": entra_emulator.keys.active.kid})
    rejected(token, "unexpected signing algorithm 'HS256'")


def test_a_token_without_kid(claims, entra_emulator):
    key = entra_emulator.keys.active
    rejected(jwt.encode(claims, key.private_key, algorithm="RS256"), r"names no signing key \('kid'\)")
    assert fetched(entra_emulator, "jwks") == 0


def test_a_tampered_payload_fails_the_signature(adele_token, claims):
    header, _, signature = adele_token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({**claims, "oid": "someone-else"}).encode())
    rejected(f"{header}.{payload.decode().rstrip('=')}.{signature}", "Signature verification failed")


def test_a_token_signed_by_another_published_key_fails(claims, entra_emulator):
    other = next(k for k in entra_emulator.keys.keys if k is not entra_emulator.keys.active)
    rejected(forge(entra_emulator, claims, kid=other.kid), "Signature verification failed")


def test_another_audience(claims, entra_emulator):
    error = rejected(forge(entra_emulator, claims, aud="00000003-0000-0000-c000-000000000000"),
                     "issued for another application")
    assert "eyJ" not in str(error)                   # never the token in a message


@pytest.mark.parametrize("iss", [
    "https://sts.windows.net/{tid}/",                                 # a v1.0 issuer
    "https://login.microsoftonline.com/{other}/v2.0",                 # another tenant's issuer
    "https://login.microsoftonline.com/{tid}/v2.0/",
    "https://evil.example.com/{tid}/v2.0",
])
def test_another_issuer(claims, entra_emulator, iss):
    iss = iss.format(tid=claims["tid"], other=FABRIKAM_ID)
    rejected(forge(entra_emulator, claims, iss=iss), "issued by another tenant or authority")


def test_a_tid_that_does_not_match_the_issuer(claims, entra_emulator):
    rejected(forge(entra_emulator, claims, tid=FABRIKAM_ID), "another tenant or authority")


@pytest.mark.parametrize("name", ["tid", "oid"])
@pytest.mark.parametrize("value", [None, "", 42])                  # None: left out
def test_tid_and_oid_are_required(claims, entra_emulator, name, value):
    rejected(forge(entra_emulator, claims, **{name: value}), f"has no '{name}' claim")


@pytest.mark.parametrize("name", ["exp", "iat", "iss", "aud", "sub"])
def test_registered_claims_are_required(claims, entra_emulator, name):
    rejected(forge(entra_emulator, claims, **{name: None}), f'missing the "{name}" claim')


# -- lifetime and leeway ---------------------------------------------------------------------------
def test_an_expired_token(claims, entra_emulator):
    now = int(time.time())
    rejected(forge(entra_emulator, claims, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
             "the ID token has expired")


def test_an_expired_token_from_the_emulators_clock(get_id_token, entra_emulator):
    entra_emulator.clock.advance(-2 * 3600)              # the emulator issues from two hours ago
    rejected(get_id_token(), "the ID token has expired")


@pytest.mark.parametrize("changes", [{"nbf": 3600}, {"iat": 3600}])
def test_a_token_not_valid_yet(claims, entra_emulator, changes):
    now = int(time.time())
    rejected(forge(entra_emulator, claims, **{k: now + v for k, v in changes.items()}),
             "the ID token is not valid yet")


def test_clock_skew_within_the_leeway_is_allowed(claims, entra_emulator):
    now = int(time.time())
    token = forge(entra_emulator, claims, exp=now - 60, nbf=now + 60, iat=now + 60)
    assert id_tokens.validate(token)["oid"] == claims["oid"]          # ID_TOKEN_LEEWAY = 120
    with settings(ID_TOKEN_LEEWAY=0):
        rejected(token, "has expired|not valid yet")
    with settings(ID_TOKEN_LEEWAY=30):
        rejected(token, "has expired|not valid yet")
    with settings(ID_TOKEN_LEEWAY=61):
        assert id_tokens.validate(token)


def test_iat_must_be_a_number(claims, entra_emulator):
    rejected(forge(entra_emulator, claims, iat="yesterday"), "invalid ID token: Issued At")


# -- tenants -------------------------------------------------------------------------------------
def test_multi_tenant_authority_accepts_each_tenants_own_issuer(adele_token, fabrice_token):
    adele, fabrice = id_tokens.validate(adele_token), id_tokens.validate(fabrice_token)
    assert (adele["tid"], adele["iss"]) == (CONTOSO_ID, ISSUER.format(CONTOSO_ID))
    assert (fabrice["tid"], fabrice["iss"]) == (FABRIKAM_ID, ISSUER.format(FABRIKAM_ID))


@pytest.mark.parametrize("tenant", [CONTOSO_ID, CONTOSO])
def test_single_tenant_authority_rejects_other_tenants(adele_token, fabrice_token, tenant):
    with settings(TENANT_ID=tenant):
        assert id_tokens.validate(adele_token)["tid"] == CONTOSO_ID
        rejected(fabrice_token, "issued by another tenant or authority")


def test_common_authority_is_multi_tenant_too(adele_token, fabrice_token):
    with settings(TENANT_ID="common"):
        assert {id_tokens.validate(t)["tid"] for t in (adele_token, fabrice_token)} == {
            CONTOSO_ID, FABRIKAM_ID}


def test_allowed_tenants(adele_token, fabrice_token):
    with settings(ALLOWED_TENANTS=[CONTOSO_ID]):
        assert id_tokens.validate(adele_token)["tid"] == CONTOSO_ID
        rejected(fabrice_token, f"tenant {FABRIKAM_ID} is not in GRAPH_AUTH\\['ALLOWED_TENANTS'\\]")
    with settings(ALLOWED_TENANTS=[CONTOSO_ID, FABRIKAM_ID]):
        assert id_tokens.validate(fabrice_token)["tid"] == FABRIKAM_ID


def test_a_single_tenant_app_in_another_tenant_rejects_contoso(adele_token):
    with settings(TENANT_ID=FABRIKAM_ID):
        rejected(adele_token, "another tenant or authority")



# -- iss tied to tid; several audiences ------------------------------------------------------------
@pytest.mark.parametrize("tenant", [CONTOSO_ID, CONTOSO])        # a domain resolves through the metadata
def test_single_tenant_refuses_our_issuer_with_another_tid(claims, entra_emulator, tenant):
    with settings(TENANT_ID=tenant):
        assert id_tokens.validate(forge(entra_emulator, claims))["tid"] == CONTOSO_ID
        rejected(forge(entra_emulator, claims, tid=FABRIKAM_ID), "another tenant or authority")


@pytest.mark.parametrize("azp", [None, "a-third-party"])
def test_several_audiences_need_this_app_as_authorized_party(claims, entra_emulator, azp):
    token = forge(entra_emulator, claims, aud=[WEB_APP_ID, "api://a-third-party"], azp=azp)
    rejected(token, "no authorized party" if azp is None else "issued to another party")


def test_several_audiences_with_this_app_as_authorized_party(claims, entra_emulator):
    token = forge(entra_emulator, claims, aud=[WEB_APP_ID, "api://a-third-party"], azp=WEB_APP_ID)
    assert id_tokens.validate(token)["azp"] == WEB_APP_ID


def test_an_authorized_party_must_be_this_app(claims, entra_emulator):
    rejected(forge(entra_emulator, claims, azp="a-third-party"), "issued to another party")
