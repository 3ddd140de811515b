"""The middleware: lazy request.graph, refresh ahead of expiry, and the way back through sign-in."""
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from graph_auth import session as keys
from graph_auth.emulator.default_directory import WEB_APP_ID
from graph_auth.signals import graph_refresh_failed

from .token_aging import leave_only

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"


@pytest.fixture
def adele(client, entra_emulator, entra_sign_in):
    assert entra_sign_in(client, ADELE).status_code == 302
    entra_emulator.clear_log()
    return client


@pytest.fixture
def adele_expiring(client, entra_emulator, entra_sign_in):
    """Adele, signed in with an access token that is already due for refresh (4 minutes left)."""
    assert entra_sign_in(client, ADELE).status_code == 302
    leave_only(240, client)
    assert client.session[keys.TOKEN_KEY]["refresh_at"] <= time.time()
    entra_emulator.clear_log()
    return client


def test_pages_that_do_not_use_graph_cost_no_extra_query(adele, django_assert_num_queries):
    with django_assert_num_queries(2):           # the session and the user, as with plain Django
        assert adele.get("/").status_code == 200


def test_request_graph_with_a_fresh_token_costs_one_query_and_no_identity_call(
        adele, entra_emulator, django_assert_num_queries):
    with django_assert_num_queries(3):           # + the user's token cache
        assert adele.get("/profile/").status_code == 200
    assert entra_emulator.requests("token") == []
    assert [r.path for r in entra_emulator.requests("graph")] == ["/v1.0/me"]


def test_anonymous_request_graph_is_lazy(client, entra_emulator, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/").status_code == 200
    assert entra_emulator.requests() == []


def test_refresh_ahead_of_expiry_happens_once(adele_expiring, entra_emulator):
    assert adele_expiring.get("/").status_code == 200          # a page that does not use Graph
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1
    assert adele_expiring.session[keys.TOKEN_KEY]["refresh_at"] > time.time()
    assert adele_expiring.get("/profile/").status_code == 200
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1


def test_the_refresh_margin_is_configurable(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "REFRESH_MARGIN": 1500}):
        entra_sign_in(client, ADELE)
        leave_only(1400, client)                                   # due with this margin
        entra_emulator.clear_log()
        client.get("/")
        client.get("/")
        status = client.session[keys.TOKEN_KEY]
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1
    assert status["expires_at"] - status["refresh_at"] == 1500


def test_revoked_refresh_token_sends_html_requests_through_sign_in_and_back(
        adele_expiring, entra_emulator, entra_sign_in):
    adele = adele_expiring
    failures = []
    graph_refresh_failed.connect(lambda **kw: failures.append(kw), weak=False, dispatch_uid="t")
    try:
        entra_emulator.revoke_sessions(ADELE)
        response = adele.get("/people/?x=1")
    finally:
        graph_refresh_failed.disconnect(dispatch_uid="t")
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=%2Fpeople%2F%3Fx%3D1"
    assert "_auth_user_id" not in adele.session                     # signed out of the site
    assert [(f["reason"], f["code"]) for f in failures] == [("revoked", 50173)]
    again = entra_sign_in(adele, ADELE, next="/people/?x=1")
    assert again["Location"] == "/people/?x=1"
    assert adele.get("/people/?x=1").status_code == 200


def test_revoked_refresh_token_gives_json_requests_a_401(adele_expiring, entra_emulator):
    entra_emulator.revoke_sessions(ADELE)
    response = adele_expiring.get("/people/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    body = json.loads(response.content)
    assert body["error"] == "reauthentication_required" and body["login_url"].startswith("/auth/login/")


def test_identity_platform_outage_during_refresh_ahead_is_not_fatal(adele_expiring, entra_emulator):
    entra_emulator.fail_next("token", 503, times=None)
    assert adele_expiring.get("/").status_code == 200               # pages without Graph still work
    assert adele_expiring.get("/profile/").status_code == 200       # the cached token is still valid
    assert "_auth_user_id" in adele_expiring.session


def test_a_configuration_error_during_the_refresh_ahead_is_not_fatal(adele_expiring, entra_emulator, caplog):
    """A certificate whose private key can't be loaded (or a missing secret) fails every grant; the
    refresh ahead logs it and serves the page (only views that need Graph fail, as they do)."""
    broken = {"private_key": "-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n-----END PRIVATE KEY-----\n",
              "thumbprint": "00" * 20}
    with override_settings(GRAPH_AUTH={**settings.GRAPH_AUTH, "CLIENT_CERTIFICATE": broken}), \
            caplog.at_level(logging.ERROR, "graph_auth.middleware"):
        assert adele_expiring.get("/").status_code == 200              # a page that does not use Graph
        assert adele_expiring.get("/").status_code == 200
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "graph_auth.middleware"]
    assert len(errors) == 2 and "CLIENT_CERTIFICATE" in errors[0].getMessage()
    assert "SECRETBYTES" not in caplog.text
    assert entra_emulator.requests("token") == []                      # nothing was sent
    assert "_auth_user_id" in adele_expiring.session


def test_incremental_consent_round_trip(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "SCOPES": ["User.Read"]}):
        entra_sign_in(client, ADELE)
        response = client.get("/mail/")
        assert response.status_code == 302
        assert response["Location"] == "/auth/login/?next=%2Fmail%2F"
        assert "_auth_user_id" in client.session                     # consent keeps the session
        login = client.get(response["Location"])
        scope = parse_qs(urlsplit(login["Location"]).query)["scope"][0].split()
        assert "Mail.Read" in scope and "User.Read" in scope
        result = entra_emulator.sign_in(login["Location"], ADELE)    # consents to Mail.Read
        assert client.get("/auth/callback", result)["Location"] == "/mail/"
        page = client.get("/mail/")
    assert page.status_code == 200 and b'class="message' in page.content


def test_cae_challenge_after_revocation_goes_through_sign_in_with_the_claims(adele, entra_emulator):
    entra_emulator.revoke_sessions(ADELE)       # the cp1 access token is still in the cache
    response = adele.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")
    login = adele.get(response["Location"])
    claims = json.loads(parse_qs(urlsplit(login["Location"]).query)["claims"][0])
    assert claims["access_token"]["nbf"]["essential"] is True
    assert claims["access_token"]["xms_cc"] == {"values": ["cp1"]}


def test_user_without_microsoft_tokens_is_sent_to_sign_in_for_graph_pages(client, entra_emulator):
    user = get_user_model().objects.create_user("local", password="x")
    client.force_login(user)
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")


def test_graph_is_not_touched_when_a_view_does_not_use_it(adele, entra_emulator):
    adele.get("/")
    assert entra_emulator.requests() == []


def test_separate_users_do_not_share_tokens(entra_emulator, entra_sign_in):
    a, b = Client(), Client()
    entra_sign_in(a, ADELE)
    entra_sign_in(b, "alex@contoso.onmicrosoft.com")
    assert b"Adele Vance" in a.get("/profile/").content
    assert b"Alex Wilber" in b.get("/profile/").content


def test_a_refreshed_id_token_for_another_identity_ends_the_session(adele_expiring, entra_emulator):
    """If a refresh ever came back naming another (tid, oid), the session must not continue."""
    lee = entra_emulator.user("lee@contoso.onmicrosoft.com")
    entra_emulator.grant_consent(lee, WEB_APP_ID, ["User.Read", "Mail.Read", "User.ReadBasic.All"])
    for grant in entra_emulator.refresh_tokens.values():
        grant.user_id = lee.id
    response = adele_expiring.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")
    assert "_auth_user_id" not in adele_expiring.session


def test_a_refresh_answer_for_another_account_without_an_id_token_ends_the_session(
        adele_expiring, entra_emulator, entra_session):
    """The token endpoint answers Adele's refresh with Lee's real tokens: his client_info, no ID
    token. (msal would write Lee's refresh token into Adele's entry.) None of Lee's tokens is used
    or kept, and Adele's session ends."""
    from graph_auth import msal_client
    from graph_auth.token_store import TokenStore

    from .id_token_support import token_response

    lee = token_response(entra_emulator, entra_session, "lee@contoso.onmicrosoft.com",
                         ["User.Read", "Mail.Read", "User.ReadBasic.All"])
    answer = {name: value for name, value in lee.items() if name != "id_token"}
    lee_id = entra_emulator.user("lee@contoso.onmicrosoft.com").id
    assert msal_client.result_account(answer).startswith(lee_id)
    entra_emulator.clear_log()
    entra_emulator.fail_next("token", 200, json=answer, grant_type="refresh_token")
    response = adele_expiring.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")
    assert "_auth_user_id" not in adele_expiring.session
    adele = get_user_model().objects.get(microsoft_accounts__username=ADELE)
    stored = TokenStore(adele).load().serialize()
    assert lee["refresh_token"] not in stored and lee["access_token"] not in stored and lee_id not in stored
    assert entra_emulator.requests("graph") == []                      # Lee's token never reached Graph
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1
