"""Upgrading from the first release (migration 0001): accounts and sessions created before the
home account id was stored keep working, and the next sign-in records msal's own key."""
import time

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from graph_auth import crypto, id_tokens, msal_client
from graph_auth.app_settings import app_settings
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.models import AppTokenCache, MicrosoftAccount, TokenCache
from graph_auth.token_store import AppTokenStore, TokenStore

from .token_aging import leave_only

ADELE = "adele@contoso.onmicrosoft.com"
BEFORE = [("graph_auth", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def first_release_encrypt(plaintext: str) -> str:
    """The first release's ciphertext: Fernet with the same keys, bound to no row."""
    return crypto._fernet(crypto._keys()).encrypt(plaintext.encode()).decode()


def previous_release_sign_in(emulator, upn):
    """What the first release stored after a sign-in: the link without a home account id, the
    encrypted cache, and a session whose token status names the account as ``<oid>.<tid>``."""
    old = migrate(BEFORE)
    cache = msal_client.new_cache()
    flow = msal_client.start_flow(app_settings.SCOPES, "http://testserver/auth/callback")
    result = msal_client.finish_flow(flow, emulator.sign_in(flow["auth_uri"], upn), cache)
    claims = id_tokens.validate(result["id_token"])
    user = get_user_model().objects.create(username=claims["oid"], first_name="Adele")
    old.get_model("graph_auth", "MicrosoftAccount").objects.create(
        user_id=user.pk, tenant_id=claims["tid"], object_id=claims["oid"], username=upn)
    old.get_model("graph_auth", "TokenCache").objects.create(
        user_id=user.pk, data=first_release_encrypt(cache.serialize()), has_refresh_token=True)
    account = f"{claims['oid']}.{claims['tid']}"
    status = msal_client.token_status(cache, account, app_settings.SCOPES, app_settings.REFRESH_MARGIN)
    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                    "graph_auth_token": {"account": account, "refresh_at": status["refresh_at"],
                                         "expires_at": status["expires_at"], "scopes": status["scopes"]},
                    "graph_auth_login_hint": claims.get("login_hint", ""), "graph_auth_sid": claims.get("sid", "")})
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return user, claims, client


@pytest.mark.django_db(transaction=True)
def test_accounts_and_sessions_from_the_first_release_keep_working(entra_emulator, entra_sign_in):
    user, claims, client = previous_release_sign_in(entra_emulator, ADELE)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    leave_only(240, client)                                             # due for refresh
    account = MicrosoftAccount.objects.get(user=user)
    assert account.home_account_id == f"{claims['oid']}.{claims['tid']}"        # backfilled

    assert client.session["graph_auth_token"]["refresh_at"] < time.time()
    assert b"Adele Vance" in client.get("/profile/").content            # old session, old tokens, refreshed
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1
    assert client.session["graph_auth_token"]["refresh_at"] > time.time()

    assert entra_sign_in(client, ADELE).status_code == 302              # signing in again: same user
    assert MicrosoftAccount.objects.get().user_id == user.pk
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_first_releases_caches_are_bound_to_their_rows_by_the_migration(entra_emulator):
    user, claims, _ = previous_release_sign_in(entra_emulator, ADELE)
    app_cache = msal_client.new_cache()
    msal_client.acquire_for_client(app_cache, ["https://graph.microsoft.com/.default"], tenant=CONTOSO_ID)
    key = f"{app_settings.client_id}:{CONTOSO_ID}"
    old_app_cache = migrate(BEFORE).get_model("graph_auth", "AppTokenCache")     # still at 0001
    old_app_cache.objects.create(key=key, data=first_release_encrypt(app_cache.serialize()))
    unreadable = old_app_cache.objects.create(key="other", data="not a fernet token")
    before = TokenCache.objects.get(user=user).data

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    row = TokenCache.objects.get(user=user)
    assert row.data != before                                           # re-encrypted, bound to the row
    assert msal_client.account_ids(TokenStore(user).load()) == [f"{claims['oid']}.{claims['tid']}"]
    assert msal_client.peek(AppTokenStore(CONTOSO_ID).load(), None, ["https://graph.microsoft.com/.default"])
    assert AppTokenCache.objects.get(key="other").data == unreadable.data          # left as it was

    other = get_user_model().objects.create(username="mallory")         # a blob copied to another row
    TokenCache.objects.create(user=other, data=row.data)
    assert msal_client.account_ids(TokenStore(other).load()) == []
    AppTokenCache.objects.create(key="copied", data=AppTokenCache.objects.get(key=key).data)
    assert not msal_client.peek(AppTokenStore(key="copied").load(), None, ["https://graph.microsoft.com/.default"])


@pytest.mark.django_db(transaction=True)
def test_migrating_back_unbinds_the_caches_for_the_previous_release(entra_emulator):
    """A rollback: ``migrate graph_auth 0002`` leaves ciphertexts the previous release reads (Fernet
    of msal's JSON, bound to no row); migrating forward again binds them again."""
    user, claims, _ = previous_release_sign_in(entra_emulator, ADELE)
    plain = crypto.decrypt_unbound(TokenCache.objects.get(user=user).data)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(latest)
    assert crypto.decrypt_unbound(TokenCache.objects.get(user=user).data).startswith(crypto.BOUND)

    migrate([("graph_auth", "0002_microsoftaccount_home_account_id")])
    assert crypto.decrypt_unbound(TokenCache.objects.get(user=user).data) == plain     # as the first release wrote it

    migrate(latest)
    assert msal_client.account_ids(TokenStore(user).load()) == [f"{claims['oid']}.{claims['tid']}"]
