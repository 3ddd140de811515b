"""manage.py graph_auth_doctor against the emulator: a healthy site passes every line, and each
injected fault fails the line that names it (with a fix), and the command exits non-zero."""
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from graph_auth import crypto, doctor
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID
from graph_auth.models import AppTokenCache, TokenCache

pytestmark = pytest.mark.django_db
TENANT = "contoso.onmicrosoft.com"
SITE = "http://localhost:8000"          # a registered redirect URI origin of the emulator's web app
PUBLIC = "https://site.example"         # not registered
EMULATOR = {"EMULATOR": True}
ROOT = Path(__file__).resolve().parent.parent


def check(**options) -> dict:
    """Run the doctor; return its lines by key."""
    results = doctor.run(**options)
    assert len({r.key for r in results}) == len(results)
    return {r.key: r for r in results}


def proxied(settings) -> None:
    """Settings of a site behind a proxy that ends TLS, reached as site.example."""
    settings.ALLOWED_HOSTS = ["testserver", "site.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def failed(lines: dict) -> dict:
    return {key: line.status for key, line in lines.items() if line.status != doctor.PASS}


def test_a_healthy_site_passes_every_line(entra_emulator, client, entra_sign_in):
    assert entra_sign_in(client, "adele@contoso.onmicrosoft.com").status_code == 302   # a stored cache
    lines = check(tenant=TENANT, url=SITE)
    assert failed(lines) == {}
    assert list(lines) == ["settings", "discovery", "tenant", "probe_tenant", "keys", "clock", "credentials",
                           "graph", "redirect_uri", "sign_in", "token_caches"]
    assert lines["probe_tenant"].summary.endswith(CONTOSO_ID)
    assert lines["redirect_uri"].summary.startswith(f"{SITE}/auth/callback ")
    assert "1 newest" in lines["token_caches"].summary


def test_the_command_prints_a_line_per_check_and_a_count(entra_emulator):
    out = StringIO()
    call_command("graph_auth_doctor", "--tenant", TENANT, "--url", SITE, stdout=out)
    text = out.getvalue()
    assert "(the emulator in this process)" in text.splitlines()[0]
    assert "PASS  credentials" in text and text.rstrip().endswith("11 pass, 0 warn, 0 fail, 0 skip")


def test_without_a_tenant_or_url_the_probes_that_need_them_are_skipped(entra_emulator):
    lines = check()              # TENANT_ID "organizations"
    assert failed(lines) == {"credentials": doctor.SKIP, "redirect_uri": doctor.SKIP}
    assert "--tenant" in lines["credentials"].hint and "--url" in lines["redirect_uri"].hint
    assert "without a token" in lines["graph"].summary        # Graph asked for a token: reachable


def test_a_failure_exits_non_zero_with_the_fix(entra_emulator):
    out = StringIO()
    with override_settings(GRAPH_AUTH={**EMULATOR, "CLIENT_SECRET": "not-the-secret"}):
        with pytest.raises(CommandError, match="1 check"):
            call_command("graph_auth_doctor", "--tenant", TENANT, stdout=out)
    assert "FAIL  credentials" in out.getvalue() and "fix: CLIENT_SECRET must be the secret's Value" in out.getvalue()


def test_the_demo_passes_in_its_own_process(tmp_path):
    """As a user runs it: the demo's settings, a migrated database, the exit code."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_site.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    for name in ("GRAPH_AUTH_CLIENT_ID", "GRAPH_AUTH_CLIENT_SECRET", "GRAPH_AUTH_TENANT_ID", "GRAPH_AUTH_EMULATOR_URL"):
        env.pop(name, None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=tmp_path)
    ok = subprocess.run([*manage, "graph_auth_doctor", "--tenant", TENANT, "--url", "http://localhost:8000"],
                        env=env, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert " 0 fail" in ok.stdout
    env["GRAPH_AUTH_TENANT_ID"] = "nosuch.onmicrosoft.com"
    bad = subprocess.run([*manage, "graph_auth_doctor"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL  tenant" in bad.stdout and "AADSTS90002" in bad.stdout


# -- each fault names its line -----------------------------------------------------------------
def test_an_unreachable_identity_platform(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "EMULATOR_URL": "http://127.0.0.1:9"}):   # nothing listens
        lines = check(tenant=TENANT, url=SITE)
    assert lines["discovery"].status == doctor.FAIL and "could not be reached" in lines["discovery"].summary
    assert "python -m graph_auth.emulator" in lines["discovery"].hint
    assert {lines[k].status for k in ("keys", "clock", "credentials", "sign_in")} == {doctor.SKIP}
    assert lines["graph"].status == doctor.FAIL


def test_a_failing_discovery_endpoint(entra_emulator):
    entra_emulator.fail_next("openid-configuration", 503)
    lines = check(tenant=TENANT)
    assert lines["discovery"].status == doctor.FAIL and "answered 503" in lines["discovery"].summary


def test_signing_keys_missing(entra_emulator):
    entra_emulator.fail_next("jwks", 500)
    lines = check(tenant=TENANT)
    assert lines["keys"].status == doctor.FAIL and lines["discovery"].status == doctor.PASS


@pytest.mark.parametrize("setting", ["nosuch.onmicrosoft.com", "00000000-1111-2222-3333-444444444444"])
def test_an_unknown_tenant(entra_emulator, setting):
    with override_settings(GRAPH_AUTH={**EMULATOR, "TENANT_ID": setting}):
        lines = check()
    assert lines["tenant"].status == doctor.FAIL and lines["tenant"].code == 90002
    assert "Directory (tenant) ID" in lines["tenant"].hint
    assert lines["credentials"].status == doctor.FAIL


def test_an_unknown_probe_tenant(entra_emulator):
    lines = check(tenant="nosuch.onmicrosoft.com")
    assert lines["tenant"].status == doctor.PASS
    assert lines["probe_tenant"].status == doctor.FAIL and lines["probe_tenant"].code == 90002
    assert lines["credentials"].status == doctor.FAIL


def test_a_wrong_secret(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "CLIENT_SECRET": "not-the-secret"}):
        lines = check(tenant=TENANT)
    assert lines["credentials"].status == doctor.FAIL and lines["credentials"].code == 7000215
    assert "not-the-secret" not in lines["credentials"].summary + lines["credentials"].hint
    assert lines["graph"].status == doctor.PASS               # unauthenticated probe instead


def test_an_unregistered_certificate(entra_emulator, entra_certificate):
    with override_settings(GRAPH_AUTH={**EMULATOR, "CLIENT_CERTIFICATE": entra_certificate.msal_credential()}):
        lines = check(tenant=TENANT)
    assert lines["credentials"].status == doctor.FAIL and lines["credentials"].code == 700027
    assert "the certificate was refused" in lines["credentials"].summary


def test_a_registered_certificate(entra_emulator, entra_directory, entra_certificate):
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    with override_settings(GRAPH_AUTH={**EMULATOR, "CLIENT_CERTIFICATE": entra_certificate.msal_credential()}):
        lines = check(tenant=TENANT)
    assert lines["credentials"].status == doctor.PASS and "certificate accepted" in lines["credentials"].summary


@pytest.mark.parametrize(("seconds", "status"), [(0, doctor.PASS), (-5, doctor.PASS), (60, doctor.WARN),
                                                 (-90, doctor.WARN), (600, doctor.FAIL), (-600, doctor.FAIL)])
def test_clock_skew(entra_emulator, seconds, status):
    entra_emulator.clock.advance(seconds)
    line = check(tenant=TENANT)["clock"]
    assert line.status == status
    if status != doctor.PASS:            # the Date header counts whole seconds
        said = re.search(r"clock is (\d+) s (behind|ahead of) ", line.summary)
        assert abs(int(said[1]) - abs(seconds)) <= 1 and said[2] == ("behind" if seconds > 0 else "ahead of")


def test_clock_skew_counts_against_the_id_token_leeway(entra_emulator):
    entra_emulator.clock.advance(100)
    with override_settings(GRAPH_AUTH={**EMULATOR, "ID_TOKEN_LEEWAY": 60}):
        assert check()["clock"].status == doctor.FAIL


@pytest.mark.parametrize("tenant_id", ["common", "organizations"])
def test_a_single_tenant_app_on_a_multi_tenant_authority(entra_emulator, entra_directory, tenant_id):
    entra_directory.apps[WEB_APP_ID].sign_in_audience = "AzureADMyOrg"
    with override_settings(GRAPH_AUTH={**EMULATOR, "TENANT_ID": tenant_id}):
        lines = check(url=SITE)
    assert lines["sign_in"].status == doctor.FAIL and lines["sign_in"].code == 50194
    assert "single-tenant" in lines["sign_in"].summary and "TENANT_ID" in lines["sign_in"].hint
    with override_settings(GRAPH_AUTH={**EMULATOR, "TENANT_ID": CONTOSO_ID}):   # its own tenant: fine
        assert check(url=SITE)["sign_in"].status == doctor.PASS


def test_an_unregistered_redirect_uri(entra_emulator, settings):
    proxied(settings)
    lines = check(url=PUBLIC)
    assert lines["redirect_uri"].status == doctor.PASS
    assert lines["redirect_uri"].summary.startswith(f"{PUBLIC}/auth/callback ")
    assert lines["sign_in"].status == doctor.FAIL and lines["sign_in"].code == 50011


def test_https_behind_a_proxy_needs_secure_proxy_ssl_header(entra_emulator, settings):
    settings.ALLOWED_HOSTS = ["testserver", "site.example"]
    line = check(url=PUBLIC)["redirect_uri"]
    assert line.status == doctor.WARN and line.summary.startswith("http://site.example/auth/callback ")
    assert "SECURE_PROXY_SSL_HEADER" in line.hint


def test_forwarded_host(entra_emulator, settings):
    proxied(settings)
    settings.USE_X_FORWARDED_HOST = True
    assert check(url=PUBLIC)["redirect_uri"].summary.startswith(f"{PUBLIC}/auth/callback ")


def test_a_site_mounted_below_the_root(entra_emulator, settings):
    proxied(settings)
    assert check(url=f"{PUBLIC}/app")["redirect_uri"].summary.startswith(f"{PUBLIC}/app/auth/callback ")


def test_a_host_django_refuses(entra_emulator):
    line = check(url=PUBLIC)["redirect_uri"]
    assert line.status == doctor.FAIL and "ALLOWED_HOSTS" in line.hint


def test_a_configured_redirect_uri_that_is_not_the_callback(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "REDIRECT_URI": "https://site.example/oauth/done"}):
        line = check()["redirect_uri"]
    assert line.status == doctor.FAIL and "/auth/callback" in line.summary


def test_unknown_scopes(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "SCOPES": ["https://unknown.example/Do.Things"]}):
        line = check(url=SITE)["sign_in"]
    assert line.status == doctor.FAIL and line.code is not None


def test_graph_unavailable(entra_emulator):
    entra_emulator.fail_next("graph", 503)
    line = check(tenant=TENANT)["graph"]
    assert line.status == doctor.FAIL and "503" in line.summary


def test_an_app_without_application_permissions_still_reaches_graph(entra_emulator, entra_directory):
    entra_directory.apps[WEB_APP_ID].application_permissions = {}
    line = check(tenant=TENANT)["graph"]
    assert line.status == doctor.PASS and "403" in line.summary


def test_a_failing_system_check(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "SCOPES": ["openid", "User.Read"]}):
        line = check()["settings"]
    assert line.status == doctor.FAIL and "graph_auth.E005" in line.summary


@pytest.fixture
def user():
    return get_user_model().objects.create(username="someone")


def test_a_cache_written_with_another_key(entra_emulator, user):
    junk = Fernet(Fernet.generate_key()).encrypt(b"graph_auth:v2:user:1\n{}").decode()
    TokenCache.objects.create(user=user, data=junk)
    AppTokenCache.objects.create(key="k", data=crypto.encrypt("{}", AppTokenCache.context_for("k")))
    line = check()["token_caches"]
    assert line.status == doctor.FAIL and line.summary.startswith("1 of the 2 newest")
    assert "SECRET_KEY_FALLBACKS" in line.hint


def test_a_cache_bound_to_another_row(entra_emulator, user):
    TokenCache.objects.create(user=user, data=crypto.encrypt("{}", TokenCache.context_for(user.pk + 1)))
    line = check()["token_caches"]
    assert line.status == doctor.FAIL and "another row" in line.summary and "migrate" in line.hint


def test_a_bad_configured_key(entra_emulator):
    with override_settings(GRAPH_AUTH={**EMULATOR, "CACHE_ENCRYPTION_KEYS": ["not a key"]}):
        line = check()["token_caches"]
    assert line.status == doctor.FAIL and "CACHE_ENCRYPTION_KEYS" in line.summary
