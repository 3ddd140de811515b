"""TokenStore, crypto, the models and receivers: real msal caches from the emulator, encrypted at
rest, one query to load, written only when msal changed them, never losing a rotated refresh token."""
import json
import logging
import threading
import time

import msal
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from graph_auth import crypto, msal_client
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID, WEB_APP_SECRET
from graph_auth.exceptions import GraphAuthConfigError, InteractionRequired
from graph_auth.models import MicrosoftAccount, TokenCache
from graph_auth.token_store import TokenStore
from tests.concurrency import run_threads, threaded_db

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"
REDIRECT_URI = "http://localhost:8000/auth/callback"
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def msal_sign_in(emulator, user=ADELE, scopes=("User.Read",)):
    """Run msal's auth-code flow against the emulator; return (cache, result)."""
    cache = msal.SerializableTokenCache()
    app = msal.ConfidentialClientApplication(
        WEB_APP_ID, client_credential=WEB_APP_SECRET, token_cache=cache, http_cache={},
        authority="https://login.microsoftonline.com/organizations", http_client=emulator.session(10))
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], user))
    assert "access_token" in result, result
    return cache, result


def secrets_of(serialized: str) -> list[str]:
    """Every token value in a serialized msal cache."""
    data = json.loads(serialized)
    return [entry["secret"] for kind in ("AccessToken", "RefreshToken", "IdToken")
            for entry in data.get(kind, {}).values()]


def refresh_token_of(cache) -> str:
    return next(iter(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)))["secret"]


def account_id(emulator, user=ADELE) -> str:
    return f"{emulator.user(user).id}.{CONTOSO_ID}"


@pytest.fixture
def adele(client, entra_emulator, entra_sign_in):
    """Adele after a real sign-in through graph_auth's views (her cache is stored)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.clear_log()
    return get_user_model().objects.get()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("local")


# -- what a sign-in stores -----------------------------------------------------------------------
def test_sign_in_stores_an_encrypted_cache_and_its_status(adele):
    row = TokenCache.objects.get(user=adele)
    plain = crypto.decrypt(row.data, row.context)
    tokens = secrets_of(plain)
    assert len(tokens) == 3 and all(len(t) > 20 for t in tokens)
    for text in (*tokens, "secret", "AccessToken", "RefreshToken", "home_account_id", ADELE):
        assert text not in row.data
    assert row.data.startswith("gAAAAA")              # a Fernet token
    at = next(iter(json.loads(plain)["AccessToken"].values()))
    assert row.access_token_expires_at.timestamp() == int(at["expires_on"])
    assert 3500 < row.access_token_expires_at.timestamp() - time.time() <= 3600
    assert row.has_refresh_token
    assert {"User.Read", "Mail.Read", "User.ReadBasic.All"} <= set(row.scopes.split())
    assert row.data not in repr(row) and row.data not in str(row)


def test_load_costs_one_query_and_returns_the_cache(adele, django_assert_num_queries):
    with django_assert_num_queries(1):
        cache = TokenStore(adele).load()
    assert msal_client.account_ids(cache) == [f"{adele.username}.{CONTOSO_ID}"]
    assert not cache.has_state_changed
    assert msal_client.peek(cache, msal_client.account_ids(cache)[0], ["User.Read"])


def test_load_without_tokens_is_an_empty_cache(user, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert msal_client.account_ids(TokenStore(user).load()) == []


def test_replace_stores_a_whole_msal_cache(user, entra_emulator):
    cache, _ = msal_sign_in(entra_emulator, scopes=["User.Read"])
    TokenStore(user).replace(cache)
    row = TokenCache.objects.get(user=user)
    assert row.has_refresh_token and "User.Read" in row.scopes.split()
    assert "Mail.Read" not in row.scopes.split()
    assert json.loads(crypto.decrypt(row.data, row.context)) == json.loads(cache.serialize())
    loaded = TokenStore(user).load()
    assert refresh_token_of(loaded) == refresh_token_of(cache)


def test_delete(adele):
    TokenStore(adele).delete()
    assert not TokenCache.objects.filter(user=adele).exists()
    assert msal_client.account_ids(TokenStore(adele).load()) == []


# -- locked(): read the newest, write only what msal changed ---------------------------------------
def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_locked_without_a_change_writes_nothing(adele, entra_emulator):
    before = TokenCache.objects.get(user=adele)
    with CaptureQueriesContext(connection) as queries:
        with TokenStore(adele).locked() as cache:
            result = msal_client.acquire_silent(cache, account_id(entra_emulator), ["User.Read"])
            assert result["access_token"] and not cache.has_state_changed   # served from the cache
    assert writes(queries) == [] and entra_emulator.requests("token") == []
    after = TokenCache.objects.get(user=adele)
    assert (after.data, after.updated_at) == (before.data, before.updated_at)


def test_locked_saves_a_refresh_once(adele, entra_emulator):
    old = TokenStore(adele).load()
    with CaptureQueriesContext(connection) as queries:
        with TokenStore(adele).locked() as cache:
            msal_client.acquire_silent(cache, account_id(entra_emulator), ["User.Read"], force_refresh=True)
            assert cache.has_state_changed
    assert len(writes(queries)) == 1 and writes(queries)[0].upper().startswith("UPDATE")
    [grant] = entra_emulator.requests("token", grant_type="refresh_token")
    assert grant.form["refresh_token"] == refresh_token_of(old)
    assert refresh_token_of(TokenStore(adele).load()) not in (refresh_token_of(old), "")


def test_an_error_inside_locked_saves_nothing(adele, entra_emulator):
    before = TokenCache.objects.get(user=adele).data
    with pytest.raises(RuntimeError):
        with TokenStore(adele).locked() as cache:
            msal_client.acquire_silent(cache, account_id(entra_emulator), ["User.Read"], force_refresh=True)
            raise RuntimeError("the request failed after the refresh")
    assert TokenCache.objects.get(user=adele).data == before


# -- encryption keys -------------------------------------------------------------------------------
def test_configured_keys_rotate(user, entra_emulator):
    cache, _ = msal_sign_in(entra_emulator)
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CACHE_ENCRYPTION_KEYS": [KEY_A]}):
        TokenStore(user).replace(cache)
    written_under_a = TokenCache.objects.get(user=user).data
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CACHE_ENCRYPTION_KEYS": [KEY_B, KEY_A]}):
        assert refresh_token_of(TokenStore(user).load()) == refresh_token_of(cache)
        TokenStore(user).replace(TokenStore(user).load())       # a write re-encrypts with B
    assert Fernet(KEY_B).decrypt(TokenCache.objects.get(user=user).data.encode())
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CACHE_ENCRYPTION_KEYS": [KEY_B]}):
        assert refresh_token_of(TokenStore(user).load()) == refresh_token_of(cache)
        assert crypto.decrypt(written_under_a, f"user:{user.pk}") is None
    assert crypto.decrypt(written_under_a, f"user:{user.pk}") is None      # the SECRET_KEY-derived key


def test_secret_key_rotation_keeps_caches_readable(user, entra_emulator):
    cache, _ = msal_sign_in(entra_emulator)
    with override_settings(SECRET_KEY="old-secret-key"):
        TokenStore(user).replace(cache)
    with override_settings(SECRET_KEY="new-secret-key", SECRET_KEY_FALLBACKS=["old-secret-key"]):
        assert refresh_token_of(TokenStore(user).load()) == refresh_token_of(cache)
    with override_settings(SECRET_KEY="new-secret-key", SECRET_KEY_FALLBACKS=[]):
        assert msal_client.account_ids(TokenStore(user).load()) == []


@pytest.mark.parametrize("junk", ["not a fernet token", "gAAAAAB" + "x" * 80, "données ✓"])
def test_undecryptable_data_is_an_empty_cache_and_a_warning(adele, entra_emulator, caplog, junk):
    TokenCache.objects.filter(user=adele).update(data=junk)
    with caplog.at_level(logging.WARNING, logger="graph_auth.crypto"):
        assert msal_client.account_ids(TokenStore(adele).load()) == []
    assert "could not be decrypted" in caplog.text and junk not in caplog.text
    with pytest.raises(InteractionRequired):                     # the user must sign in again
        with TokenStore(adele).locked() as cache:
            msal_client.acquire_silent(cache, account_id(entra_emulator), ["User.Read"])


def test_a_cache_copied_into_another_users_row_does_not_decrypt_there(adele, user, caplog):
    TokenCache.objects.create(user=user, data=TokenCache.objects.get(user=adele).data)
    assert msal_client.account_ids(TokenStore(user).load()) == []
    assert "encrypted for another row" in caplog.text
    assert msal_client.account_ids(TokenStore(adele).load())          # still fine in its own row


def test_a_bad_configured_key_is_a_configuration_error(db):
    with override_settings(GRAPH_AUTH={"CACHE_ENCRYPTION_KEYS": ["too-short"]}):
        with pytest.raises(GraphAuthConfigError, match="generate_key"):
            crypto.encrypt("x", "user:1")
    assert Fernet(crypto.generate_key())


# -- models and receivers ----------------------------------------------------------------------------
def test_deactivating_a_user_deletes_the_tokens(adele):
    adele.first_name = "Adele"
    adele.save()
    assert TokenCache.objects.filter(user=adele).exists()       # an active user keeps them
    adele.is_active = False
    adele.save()
    assert not TokenCache.objects.filter(user=adele).exists()


def test_unlinking_the_account_deletes_the_tokens(adele):
    MicrosoftAccount.objects.get(user=adele).delete()
    assert not TokenCache.objects.filter(user=adele).exists()


def test_deleting_the_user_cascades(adele):
    adele.delete()
    assert not TokenCache.objects.exists() and not MicrosoftAccount.objects.exists()


def test_an_identity_links_to_one_user_only(adele):
    account = MicrosoftAccount.objects.get(user=adele)
    assert account.home_account_id == f"{account.object_id}.{account.tenant_id}"
    assert str(account) == ADELE
    other = get_user_model().objects.create_user("other")
    with pytest.raises(IntegrityError):
        MicrosoftAccount.objects.create(user=other, tenant_id=account.tenant_id,
                                        object_id=account.object_id)


# -- concurrency: the reason the store exists -----------------------------------------------------
def refresh_in_threads(user, emulator, count: int) -> list:
    account = account_id(emulator)

    def refresh(_):
        with TokenStore(user).locked() as cache:
            return msal_client.acquire_silent(cache, account, ["User.Read"], force_refresh=True)
    return run_threads(count, refresh)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count", [2, 6])
def test_concurrent_refreshes_never_lose_a_refresh_token(threaded_db, client, entra_emulator,
                                                         entra_sign_in, count):
    # The point is that the newest refresh token is stored: the strict mode makes a used one fail
    # (Entra would still accept it, hiding the loss).
    entra_emulator.settings.reject_rotated_refresh_tokens = True
    assert entra_sign_in(client, ADELE).status_code == 302
    user = get_user_model().objects.get()
    first_rt = refresh_token_of(TokenStore(user).load())
    entra_emulator.clear_log()
    entra_emulator.fail_next("token", delay=0.05, times=None)   # slow refreshes: overlap if unlocked
    results = refresh_in_threads(user, entra_emulator, count)
    assert [r for r in results if isinstance(r, BaseException)] == []
    grants = entra_emulator.requests("token", grant_type="refresh_token")
    assert [g.status for g in grants] == [200] * count
    # The family's refresh tokens in issue order: each grant used the newest, the store holds the last.
    family = entra_emulator.refresh_tokens[first_rt].family
    issued = [rt for rt, g in sorted(entra_emulator.refresh_tokens.items(), key=lambda i: i[1].issued_at)
              if g.family == family]
    assert [g.form["refresh_token"] for g in grants] == issued[:count]
    assert refresh_token_of(TokenStore(user).load()) == issued[count] and len(issued) == count + 1
    assert TokenCache.objects.get(user=user).has_refresh_token


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_last_write_wins_loses_the_refresh_token(threaded_db, client, entra_emulator,
                                                                  entra_sign_in):
    """The control experiment: read, refresh, write back without locked() fails as it must."""
    # The loser refreshes with a used refresh token: only the strict mode refuses it (Entra accepts
    # it), which is what shows that without the lock the newest token is not the one kept.
    entra_emulator.settings.reject_rotated_refresh_tokens = True
    assert entra_sign_in(client, ADELE).status_code == 302
    user = get_user_model().objects.get()
    account, loaded = account_id(entra_emulator), threading.Barrier(2)

    def unlocked(_):
        cache = TokenStore(user).load()
        loaded.wait(timeout=30)                      # both read the same refresh token
        result = msal_client.acquire_silent(cache, account, ["User.Read"], force_refresh=True)
        TokenStore(user).replace(cache)
        return result
    results = run_threads(2, unlocked)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], InteractionRequired)
    assert failures[0].error == "invalid_grant"
