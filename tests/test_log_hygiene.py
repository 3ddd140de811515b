"""Log lines: request-supplied text is cut and escaped; msal's DEBUG records carry no secrets."""
import json
import logging
import logging.config

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from graph_auth.app_tokens import AppTokens, app_graph
from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID
from graph_auth.log import clean, redact
from graph_auth.user_tokens import UserTokens
from tests.secret_support import known_secrets, leaked
from tests.test_api import spa_token

pytestmark = pytest.mark.django_db
ADELE = "adele@contoso.onmicrosoft.com"
FORGED = "\n2026-12-01 12:00:00 CRITICAL django.security admin password reset for root\r\n"


# -- clean() ---------------------------------------------------------------------------------------
def test_clean_escapes_control_characters_and_cuts():
    assert clean("a\nb\r\tc\x1b[31m\u2028\u202e\\") == "a\\x0ab\\x0d\\x09c\\x1b[31m\\u2028\\u202e\\\\"
    long = clean("x" * 50_000)
    assert long.startswith("x" * 200) and long.endswith("...[49800 more characters]")
    assert clean("\n" * 100, limit=10) == "\\x0a" * 2 + "...[98 more characters]"
    assert clean(42) == "42"


def test_redact_masks_secret_fields_headers_and_jwts():
    text = redact('{"code": "abc", "code_verifier": "v\\"x", \'refresh_token\': \'r\', "scope": "s"} '
                  "code=xyz&state=1 Authorization: Bearer t0k.en eyJh.eyJi.c2ln error_code=7")
    assert text == ('{"code": "********", "code_verifier": "********", \'refresh_token\': \'********\', '
                    '"scope": "s"} code=********&state=1 Authorization: Bearer ******** ******** error_code=7')


# -- item 7: the callback's error parameters ------------------------------------------------------
def test_a_huge_error_with_a_forged_log_line_is_one_short_escaped_record(client, entra_emulator, caplog):
    location = client.get("/auth/login/")["Location"]
    state = location.split("state=", 1)[1].split("&", 1)[0]
    error = "access_denied_" + FORGED + "x" * 50_000
    with caplog.at_level(logging.INFO, logger="graph_auth"):
        response = client.get("/auth/callback", {"state": state, "error": error,
                                                 "error_description": "Denied." + FORGED * 3})
    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name.startswith("graph_auth")]
    message = record.getMessage()
    assert len(message) < 600
    assert "\n" not in message and "\r" not in message
    assert "access_denied_\\x0a2026-12-01 12:00:00 CRITICAL" in message
    assert "\n2026-12-01" not in caplog.text


# -- item 8: msal's own DEBUG logging -------------------------------------------------------------
def _record_texts(records) -> list[str]:
    texts = []
    for record in records:
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        texts.append("\n".join([record.getMessage(), str(record.msg), repr(record.args),
                                record.exc_text or "", exc, record.stack_info or ""]))
    return texts


def test_msal_debug_logging_carries_no_code_verifier_assertion_or_token(
        client, entra_emulator, entra_directory, entra_sign_in, entra_session, entra_certificate, caplog):
    caplog.set_level(logging.DEBUG, logger="msal")
    secrets = set()
    assert entra_sign_in(client, ADELE).status_code == 302                      # code + PKCE
    secrets |= known_secrets(entra_emulator)
    UserTokens.for_user(get_user_model().objects.get()).get_token(force_refresh=True)   # refresh
    secrets |= known_secrets(entra_emulator)
    bearer = spa_token(entra_emulator, entra_session)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code == 200   # OBO
    secrets |= known_secrets(entra_emulator)
    app_graph(tenant=CONTOSO_ID).get("/users")                                  # client secret
    entra_directory.apps[WEB_APP_ID].certificates.append(entra_certificate.certificate_pem)
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": CONTOSO_ID,
                                       "CLIENT_CERTIFICATE": entra_certificate.msal_credential()}):
        AppTokens().get_token(force_refresh=True)                               # certificate
    secrets |= known_secrets(entra_emulator) | {bearer}
    grants = {r.grant_type for r in entra_emulator.requests("token")}
    assert grants >= {"authorization_code", "refresh_token", "client_credentials",
                      "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    assert any(r.form.get("client_assertion") for r in entra_emulator.requests("token"))
    assert any(r.form.get("code_verifier") for r in entra_emulator.requests("token"))

    msal_records = [r for r in caplog.records if r.name.startswith("msal")]
    texts = _record_texts(msal_records)
    assert not leaked(secrets, [*texts, caplog.text])
    assert any('"code": "********"' in t for t in texts)       # the records are there, redacted


def test_the_filter_survives_a_sites_logging_config(entra_emulator, caplog):
    """A LOGGING dictConfig (run again, e.g. by a worker's setup) replaces handlers, not the filter."""
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "handlers": {"plain": {"class": "logging.StreamHandler", "level": "DEBUG"}},
        "loggers": {"msal": {"handlers": ["plain"], "level": "DEBUG"},
                    "msal.token_cache": {"handlers": ["plain"], "level": "DEBUG"}},
    })
    try:
        caplog.set_level(logging.DEBUG, logger="msal")
        logging.getLogger("msal.token_cache").debug("event=%s", json.dumps(
            {"data": {"code": "the-code-value", "code_verifier": "the-verifier-value"}}))
        logging.getLogger("msal.application").debug("Got auth response: %s", {"code": "the-code-value"})
    finally:
        for name in ("msal", "msal.token_cache"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    assert "the-code-value" not in caplog.text and "the-verifier-value" not in caplog.text
    assert '"code": "********"' in caplog.text and "'code': '********'" in caplog.text
