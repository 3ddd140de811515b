"""id_tokens: validation of real ID tokens from the emulator, discovery and JWKS caching, key rollover
(an unknown kid refetches the JWKS once per interval), and an unavailable identity platform.
Bad tokens, issuers and tenants are in test_id_token_claims.py."""
from __future__ import annotations

import threading

import pytest
from django.test import override_settings

from graph_auth import id_tokens
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID
from graph_auth.emulator.keys import SigningKey
from graph_auth.exceptions import IdentityPlatformUnavailable, InvalidIdToken

from .graph_support import ADELE
from .id_token_support import ISSUER, adele_token, claims_of, fetched, forge, get_id_token


# -- valid tokens, caching -------------------------------------------------------------------------
def test_a_real_id_token_is_valid(adele_token, entra_directory):
    claims = id_tokens.validate(adele_token)
    adele = entra_directory.user_by_name(ADELE)
    assert (claims["oid"], claims["tid"], claims["aud"]) == (adele.id, CONTOSO_ID, WEB_APP_ID)
    assert claims["iss"] == ISSUER.format(CONTOSO_ID)


def test_metadata_and_keys_are_fetched_once_per_process(adele_token, entra_emulator):
    for _ in range(3):
        id_tokens.validate(adele_token)
    assert id_tokens.metadata()["issuer"] == ISSUER.format("{tenantid}")
    assert fetched(entra_emulator, "openid-configuration") == 1
    assert fetched(entra_emulator, "jwks") == 1


def test_metadata_alone_does_not_fetch_the_keys(entra_emulator):
    assert id_tokens.metadata()["jwks_uri"].endswith("/organizations/discovery/v2.0/keys")
    assert fetched(entra_emulator, "jwks") == 0


def test_clear_caches_fetches_again(adele_token, entra_emulator):
    id_tokens.validate(adele_token)
    id_tokens.clear_caches()
    id_tokens.validate(adele_token)
    assert fetched(entra_emulator, "openid-configuration") == fetched(entra_emulator, "jwks") == 2


def test_each_authority_has_its_own_metadata(adele_token, entra_emulator):
    id_tokens.validate(adele_token)
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": CONTOSO_ID}):
        assert id_tokens.metadata()["issuer"] == ISSUER.format(CONTOSO_ID)
        id_tokens.validate(adele_token)
    assert id_tokens.metadata()["issuer"] == ISSUER.format("{tenantid}")
    assert [r.path.split("/")[1] for r in entra_emulator.requests("openid-configuration")] == [
        "organizations", CONTOSO_ID]


# -- key rollover ----------------------------------------------------------------------------------
def test_an_unknown_kid_refetches_the_keys_once(get_id_token, entra_emulator, monkeypatch):
    id_tokens.validate(get_id_token())
    assert fetched(entra_emulator, "jwks") == 1
    entra_emulator.rotate_keys(publish_first=False)          # a key the cached JWKS lacks
    second = get_id_token()
    assert id_tokens.validate(second)["tid"] == CONTOSO_ID
    assert len(entra_emulator.requests("jwks")) == 1          # get_id_token cleared the log
    entra_emulator.rotate_keys(publish_first=False)
    third = get_id_token()
    with pytest.raises(InvalidIdToken, match="key the tenant does not publish"):
        id_tokens.validate(third)                             # within REFETCH_INTERVAL: no refetch
    id_tokens.validate(second)                                # known keys keep working
    assert fetched(entra_emulator, "jwks") == 0
    monkeypatch.setattr(id_tokens, "REFETCH_INTERVAL", 0)     # the interval has passed
    assert id_tokens.validate(third)["tid"] == CONTOSO_ID
    assert fetched(entra_emulator, "jwks") == 1


def test_a_key_published_ahead_of_use_needs_no_refetch(get_id_token, entra_emulator):
    id_tokens.validate(get_id_token())
    entra_emulator.rotate_keys()                              # Entra's way: "next" key already out
    id_tokens.validate(get_id_token())
    assert fetched(entra_emulator, "jwks") == 0


def test_made_up_kids_fetch_the_keys_at_most_once(adele_token, entra_emulator):
    stranger = SigningKey()                                   # never published
    for n in range(5):
        token = forge(entra_emulator, claims_of(adele_token), key=stranger, kid=f"made-up-{n}")
        with pytest.raises(InvalidIdToken, match="does not publish"):
            id_tokens.validate(token)
    assert fetched(entra_emulator, "jwks") == 2               # the first fetch and one refetch


def test_concurrent_unknown_kids_refetch_once(get_id_token, entra_emulator):
    id_tokens.validate(get_id_token())
    entra_emulator.rotate_keys(publish_first=False)
    token, errors = get_id_token(), []

    def check():
        try:
            id_tokens.validate(token)
        except Exception as exc:  # noqa: BLE001 — collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and fetched(entra_emulator, "jwks") == 1


def test_unusable_keys_in_the_jwks_are_skipped(adele_token, entra_emulator, entra_session):
    keys = entra_session.get("https://login.microsoftonline.com/organizations/discovery/v2.0/keys").json()["keys"]
    junk = [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": "broken", "n": "!", "e": "?"},
            {**keys[0], "kid": "for-encryption", "use": "enc"}, "not a key", {"kty": "RSA"}]
    entra_emulator.fail_next("jwks", 200, json={"keys": junk + keys})
    assert id_tokens.validate(adele_token)["tid"] == CONTOSO_ID
    assert entra_emulator.faults == [] and fetched(entra_emulator, "jwks") == 2
    token = forge(entra_emulator, claims_of(adele_token), kid="for-encryption")
    with pytest.raises(InvalidIdToken, match="does not publish"):
        id_tokens.validate(token)


# -- the identity platform unavailable -------------------------------------------------------------
@pytest.mark.parametrize("endpoint,answer", [
    ("openid-configuration", {"status": 503}),
    ("openid-configuration", {"status": 200, "body": "<html>maintenance</html>"}),
    ("openid-configuration", {"status": 200, "json": {"issuer": "x"}}),        # no jwks_uri
    ("jwks", {"status": 500}),
    ("jwks", {"status": 200, "json": ["not", "an", "object"]}),
])
def test_an_unavailable_platform_is_reported_and_not_cached(adele_token, entra_emulator, endpoint, answer):
    entra_emulator.fail_next(endpoint, **answer)
    with pytest.raises(IdentityPlatformUnavailable):
        id_tokens.validate(adele_token)
    assert id_tokens.validate(adele_token)["tid"] == CONTOSO_ID


def test_metadata_survives_a_jwks_outage(entra_emulator):
    entra_emulator.fail_next("jwks", 503, times=None)
    assert id_tokens.metadata()["issuer"]


def test_a_slow_platform_is_unavailable(adele_token, entra_emulator):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TIMEOUT": 0.05}):
        entra_emulator.fail_next("openid-configuration", delay=5)
        with pytest.raises(IdentityPlatformUnavailable, match="ReadTimeout"):
            id_tokens.validate(adele_token)
