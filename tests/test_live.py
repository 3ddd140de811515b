"""The live check (opt-in): the real identity platform and Graph answer as the emulator does.

Skipped unless GRAPH_AUTH_LIVE_TENANT_ID, GRAPH_AUTH_LIVE_CLIENT_ID and GRAPH_AUTH_LIVE_CLIENT_SECRET
are set (README, *Release checklist*); CI has no network and never sets them. These are the only tests
that reach the network. Optional: GRAPH_AUTH_LIVE_REDIRECT_URI (a registered Web redirect URI) and
GRAPH_AUTH_LIVE_SINGLE_TENANT ("1" for a single-tenant registration, "0" for a multi-tenant one).
"""
import os
import uuid

import jwt
import pytest

from graph_auth import app_tokens, doctor, id_tokens, msal_client
from graph_auth.app_tokens import AppTokens, app_graph
from graph_auth.emulator import Emulator
from graph_auth.emulator.constants import GRAPH_APP_ID
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.exceptions import GraphRequestError
from graph_auth.http import get_session

LIVE = {name: os.environ.get(f"GRAPH_AUTH_LIVE_{name}", "") for name in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET")}
REDIRECT_URI = os.environ.get("GRAPH_AUTH_LIVE_REDIRECT_URI")
SINGLE_TENANT = os.environ.get("GRAPH_AUTH_LIVE_SINGLE_TENANT")
LOGIN = "https://login.microsoftonline.com"

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not all(LIVE.values()), reason="the live check needs GRAPH_AUTH_LIVE_TENANT_ID, "
                                                      "GRAPH_AUTH_LIVE_CLIENT_ID and GRAPH_AUTH_LIVE_CLIENT_SECRET"),
    pytest.mark.django_db,
]


def _forget() -> None:
    msal_client.clear_caches()
    id_tokens.clear_caches()
    app_tokens.clear_caches()


@pytest.fixture
def live(settings):
    """graph_auth configured for the live tenant (the emulator off); change ``live`` to vary it."""
    settings.GRAPH_AUTH = {"CLIENT_ID": LIVE["CLIENT_ID"], "CLIENT_SECRET": LIVE["CLIENT_SECRET"],
                           "TENANT_ID": LIVE["TENANT_ID"], "SCOPES": ["User.Read"],
                           **({"REDIRECT_URI": REDIRECT_URI} if REDIRECT_URI else {})}
    _forget()
    yield settings.GRAPH_AUTH
    _forget()


def emulated(path: str):
    """What the emulator answers for ``path`` of login.microsoftonline.com (its Contoso tenant)."""
    return Emulator().session(timeout=10).get(f"{LOGIN}/{CONTOSO_ID}{path}").json()


def test_discovery(live):
    document = get_session().get(f"{LOGIN}/{LIVE['TENANT_ID']}/v2.0/.well-known/openid-configuration").json()
    assert document["issuer"] == f"{LOGIN}/{LIVE['TENANT_ID']}/v2.0"
    emulator = emulated("/v2.0/.well-known/openid-configuration")
    assert set(emulator) <= set(document), "the emulator serves fields Entra doesn't"


def test_signing_keys(live):
    keys = get_session().get(id_tokens.metadata()["jwks_uri"]).json()["keys"]
    assert keys and all(key["kty"] == "RSA" and key["kid"] for key in keys)
    for key in keys:
        jwt.PyJWK(key, algorithm="RS256")                 # usable as graph_auth uses them
    emulator = emulated("/discovery/v2.0/keys")["keys"]
    assert set(emulator[0]) <= set(keys[0]), "the emulator's keys carry fields Entra's don't"


def test_client_credentials_token(live):
    claims = jwt.decode(AppTokens(LIVE["TENANT_ID"]).get_token(), options={"verify_signature": False})
    assert claims["tid"] == LIVE["TENANT_ID"] and claims["appid"] == LIVE["CLIENT_ID"]
    assert claims["aud"] in ("https://graph.microsoft.com", GRAPH_APP_ID) and claims["idtyp"] == "app"


def test_app_only_graph_call(live):
    try:
        users = app_graph(LIVE["TENANT_ID"]).get("/users", params={"$top": 1, "$select": "id"})
    except GraphRequestError as exc:      # no User.Read.All: refused as the emulator refuses it
        assert (exc.status_code, exc.code) == (403, "Authorization_RequestDenied")
        assert exc.request_id
    else:
        assert isinstance(users["value"], list)


def test_the_doctor_passes(live):
    lines = {r.key: r for r in doctor.run(tenant=LIVE["TENANT_ID"])}
    del lines["settings"]            # the test suite's settings, not a deployment's (e.g. DEBUG off)
    expected = {key: doctor.PASS for key in lines}
    if not REDIRECT_URI:
        expected["redirect_uri"] = doctor.SKIP
    assert {k: r.status for k, r in lines.items()} == expected, [r for r in lines.values() if r.status != doctor.PASS]


def test_the_doctor_names_a_wrong_secret(live):
    live["CLIENT_SECRET"] = "not-the-secret"
    line = {r.key: r for r in doctor.run()}["credentials"]
    assert (line.status, line.code) == (doctor.FAIL, 7000215)


def test_the_doctor_names_an_unknown_tenant(live):
    live["TENANT_ID"] = str(uuid.uuid4())
    line = {r.key: r for r in doctor.run()}["tenant"]
    assert (line.status, line.code) == (doctor.FAIL, 90002)


def test_the_doctor_names_an_unregistered_redirect_uri(live):
    live["REDIRECT_URI"] = "https://graph-auth-doctor.invalid/auth/callback"
    line = {r.key: r for r in doctor.run()}["sign_in"]
    assert (line.status, line.code) == (doctor.FAIL, 50011)


@pytest.mark.skipif(SINGLE_TENANT not in ("0", "1"), reason="set GRAPH_AUTH_LIVE_SINGLE_TENANT to 1 (a "
                                                             "single-tenant registration) or 0")
def test_the_doctor_on_common(live):
    live["TENANT_ID"] = "common"
    line = {r.key: r for r in doctor.run()}["sign_in"]
    if SINGLE_TENANT == "1":
        assert (line.status, line.code) == (doctor.FAIL, 50194)
    else:
        assert line.status == doctor.PASS
