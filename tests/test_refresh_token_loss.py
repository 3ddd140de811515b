"""A rotated refresh token that never reached the database does not end the user's session:
Entra keeps a used refresh token valid, so the older one stored still refreshes (issue 9)."""
import pytest
from django.contrib.auth import get_user_model

from graph_auth.models import TokenCache

from .token_aging import leave_only

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"


@pytest.fixture
def adele_due(client, entra_emulator, entra_sign_in):
    """Adele, signed in with an access token already due for refresh (4 minutes left)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    leave_only(240, client)                  # due for refresh by the default margin, still valid
    entra_emulator.clear_log()
    return client


def _refreshes(emulator):
    return emulator.requests("token", grant_type="refresh_token")


def _lose_the_refresh(client, emulator) -> str:
    """Refresh through a Graph page, then put back the row as it was before: what a failed token
    write leaves, or the loser of a refresh race writing back the cache it had read. Return the
    (used) refresh token the row holds again."""
    row = TokenCache.objects.filter(user=get_user_model().objects.get()).values().get()
    assert client.get("/profile/").status_code == 200
    [refresh] = _refreshes(emulator)
    assert refresh.status == 200
    TokenCache.objects.filter(user_id=row["user_id"]).update(**row)
    emulator.clear_log()                     # the access token put back is due: the next use refreshes
    return refresh.form["refresh_token"]


def test_the_older_refresh_token_put_back_still_works(adele_due, entra_emulator):
    before = TokenCache.objects.get().data
    used = _lose_the_refresh(adele_due, entra_emulator)
    response = adele_due.get("/profile/")
    assert response.status_code == 200 and b"Adele" in response.content   # still signed in
    [refresh] = _refreshes(entra_emulator)
    assert refresh.form["refresh_token"] == used and refresh.status == 200
    assert TokenCache.objects.get().data != before                # a new refresh token is kept


def test_under_the_strict_mode_the_same_loss_ends_the_session(adele_due, entra_emulator):
    # What the strict mode is for: a test that must prove the newest refresh token was stored.
    entra_emulator.settings.reject_rotated_refresh_tokens = True
    _lose_the_refresh(adele_due, entra_emulator)
    response = adele_due.get("/profile/")
    assert response.status_code == 302 and "/auth/login" in response["Location"]
    assert [r.status for r in _refreshes(entra_emulator)] == [400]
