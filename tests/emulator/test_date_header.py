"""Every answer carries an HTTP Date header, as every Entra and Graph answer does, read from the
emulator's clock (so a test can make the service's clock differ from this machine's)."""
import time
from email.utils import parsedate_to_datetime

import pytest

from graph_auth.emulator.default_directory import CONTOSO_ID

LOGIN = "https://login.microsoftonline.com"


def served_at(response) -> float:
    return parsedate_to_datetime(response.headers["Date"]).timestamp()


@pytest.mark.parametrize("url", [f"{LOGIN}/{CONTOSO_ID}/v2.0/.well-known/openid-configuration",
                                 f"{LOGIN}/nosuch.example/v2.0/.well-known/openid-configuration",
                                 "https://graph.microsoft.com/v1.0/me"])
def test_answers_are_dated_by_the_emulators_clock(entra_emulator, entra_session, url):
    assert abs(served_at(entra_session.get(url)) - time.time()) <= 2
    entra_emulator.clock.advance(3600)
    assert abs(served_at(entra_session.get(url)) - (time.time() + 3600)) <= 2


def test_forced_faults_are_dated_too(entra_emulator, entra_session):
    entra_emulator.fail_next("openid-configuration", 503)
    response = entra_session.get(f"{LOGIN}/{CONTOSO_ID}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 503 and abs(served_at(response) - time.time()) <= 2
