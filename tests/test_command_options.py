"""The commands' shared options: methods in any case, ``--user`` as username, email or UPN in both
commands, and the same emulator for both (an emulator URL, or the running site's emulator)."""
import io
from wsgiref.simple_server import make_server

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.test import override_settings

from graph_auth.emulator import mount
from graph_auth.emulator.__main__ import _QuietHandler, _Server
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.management import shared
from graph_auth.management.commands.graph_auth_device_login import Command as DeviceLogin
from graph_auth.models import MicrosoftAccount, TokenCache

from .emulator.serving import running, served
from .test_commands import pending_code
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")]
User = get_user_model()
ADELE = "adele@contoso.onmicrosoft.com"


def device_login(emulator, *args, approve=ADELE):
    """Run graph_auth_device_login; the user approves the code while the command waits."""
    command, out = DeviceLogin(), io.StringIO()
    command.sleep = lambda seconds: emulator.approve_device_code(pending_code(emulator), approve)
    call_command(command, *args, stdout=out)
    return out.getvalue()


def graph(*args) -> str:
    out = io.StringIO()
    call_command("graph_auth_graph", *args, stdout=out)
    return out.getvalue()


def over_http(emulator) -> bool:
    """Whether every token request the emulator got came over HTTP (not in-process)."""
    token_requests = emulator.requests("token")
    return bool(token_requests) and all("x-emulated-host" in r.headers for r in token_requests)


# -- methods ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "get", "Get"])
def test_methods_in_any_case(method, entra_emulator):
    assert '"value"' in graph(method, "/users?$top=1", "--app", "--tenant", CONTOSO_ID)


def test_an_unknown_method_is_refused(entra_emulator):
    with pytest.raises(CommandError, match="invalid choice: 'fetch'"):
        graph("FETCH", "/me", "--app")


# -- --user ----------------------------------------------------------------------------------
@pytest.fixture
def adele(entra_emulator):
    """Adele's Django user (its username is her object id), with tokens and an email."""
    device_login(entra_emulator)
    user = User.objects.get()
    user.email = "adele.vance@example.com"
    user.save()
    return user


@pytest.mark.parametrize("name", ["username", ADELE, ADELE.upper(), "adele.vance@example.com"])
def test_graph_user_by_username_email_or_upn(name, adele, entra_emulator):
    name = adele.username if name == "username" else name
    assert '"displayName": "Adele Vance"' in graph("get", "/me", "--user", name)


def test_several_matches_are_listed(adele, entra_emulator):
    User.objects.create_user("adele-local", email="ADELE.VANCE@example.com")
    with pytest.raises(CommandError) as error:
        graph("get", "/me", "--user", "adele.vance@example.com")
    message = str(error.value)
    assert "matches several users" in message and "'adele-local'" in message
    assert repr(adele.username) in message and ADELE in message          # how to tell them apart


def test_a_username_wins_over_another_users_email(adele, entra_emulator):
    User.objects.create_user(ADELE)                       # a local user named like Adele's UPN
    with pytest.raises(CommandError, match="No usable tokens for 'adele@contoso"):
        graph("get", "/me", "--user", ADELE)


@pytest.mark.parametrize("name", [ADELE, "adele.vance@example.com"])
def test_device_login_user_by_email_or_upn(name, entra_emulator):
    if "example.com" in name:                            # an existing user found by email
        device_login(entra_emulator)
        User.objects.update(email=name)
        TokenCache.objects.all().delete()
    output = device_login(entra_emulator, "--user", name)
    assert "Signed in as Adele Vance" in output and TokenCache.objects.get().user == User.objects.get()


def test_device_login_user_must_match(adele, entra_emulator):
    with pytest.raises(CommandError, match=r"not 'alex@contoso\.onmicrosoft\.com'"):
        device_login(entra_emulator, "--user", "alex@contoso.onmicrosoft.com")


def test_device_login_refuses_an_ambiguous_user_before_asking_for_a_code(entra_emulator):
    User.objects.create_user("one", email="shared@example.com")
    User.objects.create_user("two", email="shared@example.com")
    with pytest.raises(CommandError, match=r"matches several users: 'one' .*, 'two' "):
        device_login(entra_emulator, "--user", "shared@example.com")
    assert entra_emulator.requests("devicecode") == []


# -- the emulator both commands use -------------------------------------------------------------
def test_both_commands_honour_the_emulator_url_variable(entra_emulator, monkeypatch):
    with served(entra_emulator) as url:
        monkeypatch.setenv("GRAPH_AUTH_EMULATOR_URL", url)
        output = device_login(entra_emulator)
        assert f"enter the code at {url}/devicelogin instead" in output and over_http(entra_emulator)
        leave_only(240)                                              # due for refresh
        assert "Adele Vance" in graph("get", "/me", "--user", ADELE)
    assert len(entra_emulator.requests("token", grant_type="refresh_token")) == 1 and over_http(entra_emulator)
    assert all("x-emulated-host" in r.headers for r in entra_emulator.requests("graph"))


def test_both_commands_take_an_emulator_url_option(entra_emulator):
    with served(entra_emulator) as url:
        device_login(entra_emulator, "--emulator-url", url)
        graph("get", "/me", "--user", ADELE, "--emulator-url", url)
    assert over_http(entra_emulator) and all("x-emulated-host" in r.headers for r in entra_emulator.requests("graph"))


def served_site():
    """This Django site (with its /_emulator/ mount) served over HTTP on a free local port."""
    return running(make_server("127.0.0.1", 0, WSGIHandler(), server_class=_Server, handler_class=_QuietHandler))


def test_both_commands_use_the_running_sites_emulator(entra_emulator):
    """As with ``runserver`` on the emulator in one terminal and the commands in another."""
    with served_site() as site:
        output = device_login(entra_emulator, "--site-url", site)
        page = f"{site}/_emulator/devicelogin"
        assert f"enter the code at {page} instead" in output                  # that site's port
        session = requests.Session()
        session.trust_env = False
        assert 'name="otc"' in session.get(page, timeout=5).text              # a browser can open it
        me = graph("get", "/me", "--user", ADELE, "--site-url", site)
    assert '"displayName": "Adele Vance"' in me and over_http(entra_emulator)
    assert MicrosoftAccount.objects.get().username == ADELE


def test_a_site_that_is_not_running_is_named(adele, entra_emulator):
    with served_site() as site:
        pass                                                                  # stopped: its port is free
    named = f"The emulator at {site}/_emulator: is the site running there"
    with pytest.raises(CommandError, match=named):
        device_login(entra_emulator, "--site-url", site)
    with pytest.raises(CommandError, match=named):                            # a token in hand, no Graph
        graph("get", "/me", "--user", ADELE, "--site-url", site)


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a new ``manage.py`` process: no emulator running in it yet."""
    monkeypatch.setattr(mount, "_current", None)
    monkeypatch.delenv("GRAPH_AUTH_EMULATOR_URL", raising=False)


@pytest.mark.parametrize("graph_auth, expected", [
    ({}, "http://127.0.0.1:8000/_emulator"),                                  # runserver's default
    ({"REDIRECT_URI": "http://localhost:8001/auth/callback"}, "http://localhost:8001/_emulator"),
    ({"EMULATOR_BROWSER_URL": "http://127.0.0.1:9000/login"}, "http://127.0.0.1:9000/login"),
    ({"EMULATOR_URL": "http://127.0.0.1:8400/"}, "http://127.0.0.1:8400"),
    ({"EMULATOR": False, "CLIENT_ID": "id", "CLIENT_SECRET": "s"}, None),     # the real identity platform
])
def test_which_emulator_a_new_process_uses(fresh_process, graph_auth, expected):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, **graph_auth}):
        assert shared.emulator_url() == expected


def test_without_an_emulator_mount_a_process_uses_its_own(fresh_process):
    with override_settings(ROOT_URLCONF="graph_auth.urls"):
        assert shared.emulator_url() is None
    assert shared.emulator_url(site_url="http://127.0.0.1:8123") == "http://127.0.0.1:8123/_emulator"


def test_the_environment_variable_and_the_option(fresh_process, monkeypatch):
    monkeypatch.setenv("GRAPH_AUTH_EMULATOR_URL", "http://127.0.0.1:8400")
    assert shared.emulator_url() == "http://127.0.0.1:8400"
    assert shared.emulator_url("http://127.0.0.1:8500/") == "http://127.0.0.1:8500"
