"""The admin shows linked accounts and token status (expiry, scopes, refresh token), read-only,
and never a token value or the encrypted cache."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from graph_auth import crypto
from graph_auth.models import MicrosoftAccount, TokenCache

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"
ACCOUNTS, TOKENS = "/admin/graph_auth/microsoftaccount/", "/admin/graph_auth/tokencache/"


@pytest.fixture
def adele(entra_emulator, entra_sign_in):
    assert entra_sign_in(Client(), ADELE).status_code == 302
    return get_user_model().objects.get(username=entra_emulator.user(ADELE).id)


def secrets(row: TokenCache) -> list[str]:
    """What must never appear: every token value in the cache, and the encrypted blob."""
    data = json.loads(crypto.decrypt(row.data, row.context))
    values = [e["secret"] for kind in ("AccessToken", "RefreshToken", "IdToken")
              for e in data[kind].values()]
    assert len(values) == 3
    return [*values, *(v[-40:] for v in values), row.data, row.data[:60], row.data[-60:]]


def pages(admin_client, account: MicrosoftAccount, row: TokenCache) -> dict:
    urls = [ACCOUNTS, f"{ACCOUNTS}?q=adele", f"{ACCOUNTS}{account.pk}/change/", TOKENS,
            f"{TOKENS}?q={row.user.username}", f"{TOKENS}{row.pk}/change/", f"{TOKENS}{row.pk}/delete/",
            f"{TOKENS}{row.pk}/history/"]
    responses = {url: admin_client.get(url) for url in urls}
    assert {url: r.status_code for url, r in responses.items()} == {url: 200 for url in urls}
    return {url: r.content.decode() for url, r in responses.items()}


def test_pages_show_accounts_and_token_status_but_no_token(admin_client, adele):
    account, row = MicrosoftAccount.objects.get(user=adele), TokenCache.objects.get(user=adele)
    content = pages(admin_client, account, row)
    for url in (ACCOUNTS, f"{ACCOUNTS}?q=adele", f"{ACCOUNTS}{account.pk}/change/"):
        assert ADELE in content[url] and account.object_id in content[url]
        assert account.tenant_id in content[url]
    expiry = row.access_token_expires_at.strftime("%Y")
    for url in (TOKENS, f"{TOKENS}?q={adele.username}", f"{TOKENS}{row.pk}/change/"):
        page = content[url]
        assert "Mail.Read" in page and "User.ReadBasic.All" in page and expiry in page
        assert "icon-yes.svg" in page                              # has a refresh token
    for url, page in content.items():
        leaked = [s for s in secrets(row) if s in page]
        assert leaked == [], f"{url} shows token material"
        assert "gAAAAA" not in page


def test_admin_is_read_only(admin_client, adele):
    account, row = MicrosoftAccount.objects.get(user=adele), TokenCache.objects.get(user=adele)
    assert admin_client.get(f"{ACCOUNTS}add/").status_code == 403
    assert admin_client.get(f"{TOKENS}add/").status_code == 403
    before = (row.data, row.scopes)
    response = admin_client.post(f"{TOKENS}{row.pk}/change/", {"scopes": "Everything", "data": "x"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert (row.data, row.scopes) == before
    response = admin_client.post(f"{ACCOUNTS}{account.pk}/change/", {"object_id": "someone-else"})
    assert response.status_code == 403
    assert MicrosoftAccount.objects.get().object_id == account.object_id
    assert 'name="_save"' not in admin_client.get(f"{TOKENS}{row.pk}/change/").content.decode()


def test_deleting_in_the_admin_forgets_tokens(admin_client, adele):
    row = TokenCache.objects.get(user=adele)
    response = admin_client.post(f"{TOKENS}{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TokenCache.objects.exists()
    assert get_user_model().objects.filter(pk=adele.pk).exists()


def test_unlinking_an_account_in_the_admin_deletes_its_tokens(admin_client, adele):
    account = MicrosoftAccount.objects.get(user=adele)
    response = admin_client.post(f"{ACCOUNTS}{account.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not MicrosoftAccount.objects.exists() and not TokenCache.objects.exists()


def test_staff_without_permissions_sees_nothing(client, adele):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(TOKENS).status_code == 403
    assert client.get(ACCOUNTS).status_code == 403


def test_list_pages_do_not_query_per_row(admin_client, adele):
    def counts():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(TOKENS).status_code == admin_client.get(ACCOUNTS).status_code == 200
        return len(queries)
    one = counts()
    for n in range(5):
        other = get_user_model().objects.create_user(f"u{n}")
        TokenCache.objects.create(user=other)
        MicrosoftAccount.objects.create(user=other, tenant_id="t", object_id=f"o{n}")
    assert counts() == one
