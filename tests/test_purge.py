"""manage.py graph_auth_purge: tokens of inactive users, expired on-behalf-of caches, ended sessions."""
import datetime
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache as default_cache
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from graph_auth import crypto
from graph_auth.app_tokens import app_graph
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID
from graph_auth.models import AppTokenCache, MicrosoftAccount, TokenCache, UserSession
from tests.test_api import spa_token

pytestmark = pytest.mark.django_db
ADELE, LEE, MEGAN = ("adele@contoso.onmicrosoft.com", "lee@contoso.onmicrosoft.com",
                     "megan@contoso.onmicrosoft.com")
LONG_AGO = timezone.now() - datetime.timedelta(days=91)


def purge(**options) -> str:
    out = io.StringIO()
    call_command("graph_auth_purge", stdout=out, **options)
    return out.getvalue()


def user(upn: str):
    return MicrosoftAccount.objects.get(username=upn).user


def signed_in(entra_sign_in, *upns) -> dict:
    clients = {}
    for upn in upns:
        clients[upn] = Client()
        assert entra_sign_in(clients[upn], upn).status_code == 302
    return clients


def test_tokens_of_inactive_users_go_and_active_users_tokens_stay(entra_emulator, entra_sign_in):
    signed_in(entra_sign_in, ADELE, LEE, MEGAN)
    adele, megan = user(ADELE), user(MEGAN)
    TokenCache.objects.filter(user__in=[adele, megan]).update(updated_at=LONG_AGO)
    MicrosoftAccount.objects.filter(user=adele).update(last_login_at=LONG_AGO)   # Megan signed in lately

    output = purge(dry_run=True)
    assert "token caches of users inactive for 90 days: 1 would be deleted" in output
    assert TokenCache.objects.count() == 3

    assert "token caches of users inactive for 90 days: 1 deleted" in purge()
    assert set(TokenCache.objects.values_list("user__username", flat=True)) == {
        user(LEE).username, megan.username}
    assert MicrosoftAccount.objects.filter(user=adele).exists()     # only the tokens go


def test_the_window_is_a_setting(entra_emulator, entra_sign_in):
    signed_in(entra_sign_in, ADELE)
    week_ago = timezone.now() - datetime.timedelta(days=8)
    TokenCache.objects.update(updated_at=week_ago)
    MicrosoftAccount.objects.update(last_login_at=week_ago)
    assert "0 deleted" in purge().splitlines()[0]
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "PURGE_INACTIVE_DAYS": 7}):
        assert "inactive for 7 days: 1 deleted" in purge()
    assert not TokenCache.objects.exists()


@pytest.mark.parametrize("days", [0, -1, "90", None])
def test_a_window_that_is_not_a_positive_number_is_refused(days):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "PURGE_INACTIVE_DAYS": days}), \
            pytest.raises(CommandError, match="PURGE_INACTIVE_DAYS"):
        purge()


def _age_refresh_tokens(key: str, when: float) -> None:
    """Make the row's refresh tokens look issued at ``when`` (msal's last_modification_time)."""
    row = AppTokenCache.objects.get(key=key)
    cache = json.loads(crypto.decrypt(row.data, row.context))
    assert cache["RefreshToken"]                       # the emulator answers OBO with a refresh token
    for entry in cache["RefreshToken"].values():
        entry["last_modification_time"] = str(int(when))
    AppTokenCache.objects.filter(key=key).update(data=crypto.encrypt(json.dumps(cache), row.context))


def test_on_behalf_of_caches_go_when_their_refresh_token_expired(client, entra_emulator, entra_session):
    for upn in (ADELE, LEE, MEGAN):
        token = spa_token(entra_emulator, entra_session, upn)
        assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    app_graph(tenant=CONTOSO_ID).get("/users")                      # the app's own row
    adele, lee, megan = (f"obo:{WEB_APP_ID}:{CONTOSO_ID}:{entra_emulator.user(upn).id}" for upn in (ADELE, LEE, MEGAN))
    _age_refresh_tokens(adele, LONG_AGO.timestamp())                # written recently, RT long ago
    AppTokenCache.objects.filter(key=lee).update(updated_at=LONG_AGO)  # RT fresh, row "old"
    AppTokenCache.objects.filter(key=megan).update(data="not a cache any key opens", updated_at=LONG_AGO)
    AppTokenCache.objects.exclude(key__startswith="obo:").update(updated_at=LONG_AGO)

    assert "on-behalf-of caches with expired refresh tokens: 2 would be deleted" in purge(dry_run=True)
    assert AppTokenCache.objects.count() == 4
    assert "on-behalf-of caches with expired refresh tokens: 2 deleted" in purge()
    kept = set(AppTokenCache.objects.values_list("key", flat=True))
    assert lee in kept and adele not in kept and megan not in kept
    assert any(not k.startswith("obo:") for k in kept)               # client credentials: never purged


def test_records_of_ended_sessions_go(entra_emulator, entra_sign_in):
    clients = signed_in(entra_sign_in, ADELE, LEE, MEGAN)
    keys = {upn: c.session.session_key for upn, c in clients.items()}
    assert UserSession.objects.count() == 3
    Session.objects.filter(session_key=keys[LEE]).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    Session.objects.filter(session_key=keys[MEGAN]).delete()

    assert "records of ended sessions: 2 would be deleted" in purge(dry_run=True)
    assert UserSession.objects.count() == 3
    assert "records of ended sessions: 2 deleted" in purge()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [keys[ADELE]]
    assert clients[ADELE].get("/profile/").status_code == 200       # the live session is untouched


def test_records_of_ended_cache_sessions_go(entra_emulator, entra_sign_in):
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache"):
        clients = signed_in(entra_sign_in, ADELE, LEE)
        default_cache.delete(f"django.contrib.sessions.cache{clients[LEE].session.session_key}")
        assert "records of ended sessions: 1 deleted" in purge()
        assert list(UserSession.objects.values_list("session_key", flat=True)) == [
            clients[ADELE].session.session_key]


def test_session_records_are_kept_with_signed_cookie_sessions():
    UserSession.objects.create(user=get_user_model().objects.create(username="u"), session_key="k")
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        assert "session records: kept" in purge()
    assert UserSession.objects.count() == 1


def test_nothing_to_purge_right_after_sign_in(client, entra_emulator, entra_sign_in):
    assert entra_sign_in(client, ADELE).status_code == 302
    assert purge().count(" 0 deleted") == 3
    assert TokenCache.objects.count() == 1 and UserSession.objects.count() == 1
