"""Protected APIs: bearer tokens for this app's own API, and Graph on behalf of the caller."""
import json

import pytest
from django.test import override_settings

from graph_auth import crypto
from graph_auth.emulator.default_directory import (
    API_APP_ID,
    CONTOSO_ID,
    DAEMON_APP_ID,
    DAEMON_APP_SECRET,
    FABRIKAM_ID,
    SPA_APP_ID,
    WEB_APP_ID,
)
from graph_auth.models import AppTokenCache

from .api_support import ADELE, call, daemon_token, spa_token
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api_urls")]


def test_api_calls_graph_on_behalf_of_the_caller(client, entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    status, body, _ = call(client, "/api/me", token)
    assert status == 200 and body == {"displayName": "Adele Vance", "mail": ADELE,
                                      "jobTitle": "Product Manager", "via": "on-behalf-of",
                                      "caller": SPA_APP_ID}
    (obo,) = entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")
    assert obo.form["client_id"] == WEB_APP_ID and obo.form["requested_token_use"] == "on_behalf_of"
    assert AppTokenCache.objects.get().key.startswith(f"obo:{WEB_APP_ID}:{CONTOSO_ID}:")


def test_obo_tokens_are_cached_per_caller(client, entra_emulator, entra_session):
    adele, lee = spa_token(entra_emulator, entra_session), spa_token(entra_emulator, entra_session,
                                                                    "lee@contoso.onmicrosoft.com")
    for token in (adele, adele, lee, adele, lee):
        assert call(client, "/api/me", token)[0] == 200
    grants = entra_emulator.requests("token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer")
    assert len(grants) == 2 and AppTokenCache.objects.count() == 2


def test_missing_or_malformed_token(client, entra_emulator):
    status, body, challenge = call(client, "/api/me")
    assert status == 401 and challenge == 'Bearer realm=""' and body["error"] == "unauthorized"
    status, body, challenge = call(client, "/api/me", "not-a-jwt")
    assert status == 401 and body["error"] == "invalid_token" and 'error="invalid_token"' in challenge


def test_token_for_another_audience(client, entra_emulator, entra_session, entra_sign_in):
    other_api = spa_token(entra_emulator, entra_session, scope=f"api://{API_APP_ID}/access_as_user")
    status, body, _ = call(client, "/api/me", other_api)
    assert status == 401 and "another audience" in body["error_description"]


def test_graph_token_is_refused(client, entra_emulator, entra_session):
    # Entra signs Graph tokens over a hashed header nonce: no app can verify them, so the API
    # refuses one at the signature, before it looks at the audience.
    graph_token = spa_token(entra_emulator, entra_session, scope="User.Read")
    status, body, _ = call(client, "/api/me", graph_token)
    assert status == 401 and body["error"] == "invalid_token"


def test_expired_token(client, entra_emulator, entra_session):
    entra_emulator.settings.access_token_lifetime = -600
    status, body, _ = call(client, "/api/me", spa_token(entra_emulator, entra_session))
    assert status == 401 and "expired" in body["error_description"]


def test_forged_token(client, entra_emulator, entra_session):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    claims = jwt.decode(spa_token(entra_emulator, entra_session), options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": entra_emulator.keys.active.kid})
    status, body, _ = call(client, "/api/me", forged)
    assert status == 401 and body["error"] == "invalid_token"


def test_wrong_tenant(client, entra_emulator, entra_session):
    fabrice = spa_token(entra_emulator, entra_session, "fabrice@fabrikam.onmicrosoft.com")
    assert call(client, "/api/me", fabrice)[0] == 200                      # multi-tenant: any tenant
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "ALLOWED_TENANTS": [CONTOSO_ID]}):
        status, body, _ = call(client, "/api/me", fabrice)
    assert status == 401 and "not allowed" in body["error_description"]
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": CONTOSO_ID}):   # single tenant
        status, body, _ = call(client, "/api/me", fabrice)
    assert status == 401 and "another tenant" in body["error_description"]


def test_missing_scope_and_app_only_tokens(client, entra_emulator, entra_session, daemon_token):
    app_token = daemon_token()
    status, body, challenge = call(client, "/api/me", app_token)
    assert status == 403 and body["error"] == "insufficient_scope" and "app-only" in body["error_description"]
    assert 'error="insufficient_scope"' in challenge
    delegated = spa_token(entra_emulator, entra_session)
    status, body, _ = call(client, "/report", delegated)            # roles only
    assert status == 403 and "delegated" in body["error_description"]


def test_app_roles_for_app_only_callers(client, entra_emulator, entra_directory, daemon_token):
    entra_directory.apps[DAEMON_APP_ID].application_permissions[f"api://{WEB_APP_ID}"] = ["Reports.Read"]
    token = daemon_token()
    assert call(client, "/report", token)[:2] == (200, {"caller": DAEMON_APP_ID, "graph": False})
    assert call(client, "/either", token)[:2] == (200, {"delegated": False})


def test_obo_for_a_revoked_user(client, entra_emulator, entra_session):
    token = spa_token(entra_emulator, entra_session)
    assert call(client, "/api/me", token)[0] == 200
    entra_emulator.revoke_sessions(ADELE)
    status, body, challenge = call(client, "/api/me", token)      # CAE challenge, then OBO refused
    assert status == 401 and body["error"] == "insufficient_claims"
    assert 'error="insufficient_claims"' in challenge and json.loads(body["claims"])["access_token"]["nbf"]


def test_obo_without_the_users_consent(client, entra_emulator, entra_directory, entra_session):
    entra_directory.apps[WEB_APP_ID].known_client_applications = []     # no combined consent
    status, body, _ = call(client, "/api/me", spa_token(entra_emulator, entra_session))
    assert status == 403 and body["error"] == "consent_required"


def test_identity_platform_down_during_obo(client, entra_emulator, entra_session):
    """503, as DRF answers it (it was 502 "downstream_error": the unified mapping of issue 9)."""
    token = spa_token(entra_emulator, entra_session)
    entra_emulator.fail_next("token", 503, times=None)
    status, body, _ = call(client, "/api/me", token)
    assert status == 503 and body["error"] == "temporarily_unavailable"


def test_drf_view(client, entra_emulator, entra_session, entra_sign_in):
    pytest.importorskip("rest_framework")
    token = spa_token(entra_emulator, entra_session)
    status, body, _ = call(client, "/api/drf/me", token)
    assert status == 200 and body == {"displayName": "Adele Vance", "mail": ADELE, "user": ADELE}
    entra_sign_in(client, ADELE)                                  # now Adele has a user on the site
    status, body, _ = call(client, "/api/drf/me", token)
    assert status == 200 and body["user"] == entra_emulator.user(ADELE).id
    status, body, challenge = call(client, "/api/drf/me", "garbage")
    assert status == 401 and challenge == 'Bearer realm=""'
    graph_token = spa_token(entra_emulator, entra_session, scope="User.Read")
    assert call(client, "/api/drf/me", graph_token)[0] == 401


def test_django_rest_framework_stays_optional():
    """Nothing but graph_auth.drf imports rest_framework."""
    import subprocess
    import sys
    code = ("import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
            "sys.modules['rest_framework'] = None; django.setup(); "
            "import graph_auth.api, graph_auth.views, graph_auth.middleware, graph_auth.admin, "
            "graph_auth.app_tokens, graph_auth.revocation, graph_auth.urls, graph_auth.decorators; "
            "from django.core.management import call_command; call_command('check')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_an_obo_refresh_answer_for_another_account_is_not_used(client, entra_emulator, entra_session):
    """The caller's cached on-behalf-of tokens are refreshed; the answer names another account (Lee's
    real tokens, his client_info, no ID token): the API never calls Graph as Lee, nor keeps his tokens."""
    from .id_token_support import token_response

    token = spa_token(entra_emulator, entra_session)
    assert call(client, "/api/me", token)[1]["displayName"] == "Adele Vance"
    leave_only(240)                                               # the cached OBO tokens are due
    lee = token_response(entra_emulator, entra_session, "lee@contoso.onmicrosoft.com")
    entra_emulator.fail_next("token", 200, json={k: v for k, v in lee.items() if k != "id_token"},
                             grant_type="refresh_token")
    status, body, _ = call(client, "/api/me", token)
    assert status == 401 and body.get("displayName") != "Lee Gu"
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1
    stored = crypto.decrypt(AppTokenCache.objects.get().data, AppTokenCache.objects.get().context)
    assert lee["refresh_token"] not in stored and lee["access_token"] not in stored
