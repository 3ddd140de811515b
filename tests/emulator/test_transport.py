"""The in-process transport: production URLs served by the emulator, every other host refused."""
import pytest
import requests

from graph_auth.emulator import NetworkBlocked
from graph_auth.emulator.default_directory import CONTOSO_ID


def test_production_urls_are_served_in_process(entra_emulator, entra_session):
    url = f"https://login.microsoftonline.com/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"
    response = entra_session.get(url)
    assert response.status_code == 200
    assert response.json()["token_endpoint"].startswith(f"https://login.microsoftonline.com/{CONTOSO_ID}/")
    assert [e.endpoint for e in entra_emulator.requests()] == ["openid-configuration"]


@pytest.mark.parametrize("url", ["https://example.com/", "http://login.microsoftonline.com/common",
                                 "https://graph.microsoft.com.evil.test/v1.0/me",
                                 "http://127.0.0.1:9/"])
def test_unrouted_hosts_raise(entra_session, url):
    with pytest.raises(NetworkBlocked) as info:
        entra_session.get(url)
    assert isinstance(info.value, requests.exceptions.ConnectionError)


def test_hosts_match_case_insensitively(entra_session):
    response = entra_session.get(f"https://LOGIN.microsoftonline.com/{CONTOSO_ID}/discovery/v2.0/keys")
    assert response.status_code == 200 and response.json()["keys"]


def test_forced_delay_longer_than_timeout_is_a_read_timeout(entra_emulator, entra_session):
    entra_emulator.fail_next("jwks", delay=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        entra_session.get(f"https://login.microsoftonline.com/{CONTOSO_ID}/discovery/v2.0/keys",
                          timeout=0.1)


def test_forced_delay_shorter_than_timeout_answers(entra_emulator, entra_session):
    entra_emulator.fail_next("jwks", delay=0.05)
    response = entra_session.get(f"https://login.microsoftonline.com/{CONTOSO_ID}/discovery/v2.0/keys",
                                 timeout=2)
    assert response.status_code == 200
