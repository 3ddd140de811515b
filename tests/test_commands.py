"""Management commands: device-code sign-in from a terminal, and Graph calls as a user or the app."""
import io
import json
import threading

import pytest
import requests
from django.core.management import CommandError, call_command

from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.management.commands.graph_auth_device_login import Command as DeviceLogin
from graph_auth.models import MicrosoftAccount, TokenCache

from .emulator.serving import served
from .token_aging import leave_only

pytestmark = [pytest.mark.django_db,
              # the tests play the waiting user without really sleeping between polls
              pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")]
ADELE = "adele@contoso.onmicrosoft.com"


def pending_code(emulator) -> str:
    (grant,) = [g for g in emulator.device_codes.values() if not g.redeemed]
    return grant.user_code


def device_login(emulator, *, on_sleep=None, **options):
    """Run the command; ``on_sleep(n, seconds)`` plays the user while the command waits."""
    command, out, sleeps = DeviceLogin(), io.StringIO(), []

    def sleep(seconds):
        sleeps.append(seconds)
        if on_sleep:
            on_sleep(len(sleeps), seconds)

    command.sleep = sleep
    call_command(command, stdout=out, **options)
    return out.getvalue(), sleeps


def test_device_login_stores_the_users_tokens(entra_emulator):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)  # noqa: E731
    output, sleeps = device_login(entra_emulator, on_sleep=approve)
    assert "open the page https://microsoft.com/devicelogin" in output        # Entra's message
    assert "http://127.0.0.1:8000/_emulator/devicelogin" in output      # the emulator's page, absolute
    assert "Signed in as Adele Vance" in output and sleeps == [5]
    account = MicrosoftAccount.objects.get()
    assert account.username == ADELE and TokenCache.objects.get(user=account.user).has_refresh_token


def test_device_login_with_an_emulator_served_over_http(entra_emulator, settings):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)  # noqa: E731
    with served(entra_emulator) as url:
        settings.GRAPH_AUTH = {**settings.GRAPH_AUTH, "EMULATOR_URL": url}
        output, _ = device_login(entra_emulator, on_sleep=approve, site_url="http://ignored")
        session = requests.Session()
        session.trust_env = False
        page = session.get(f"{url}/devicelogin", timeout=5)
    assert f"enter the code at {url}/devicelogin instead" in output      # that server's own page
    assert page.status_code == 200 and 'name="otc"' in page.text
    assert "Signed in as Adele Vance" in output
    assert all("x-emulated-host" in r.headers for r in entra_emulator.requests("token"))   # over HTTP


def test_slow_down_lengthens_the_wait(entra_emulator):
    entra_emulator.settings.device_code_interval = 2

    def user(n, seconds):            # polls come faster than the interval (no real sleep here)
        if n == 3:
            entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)

    output, sleeps = device_login(entra_emulator, on_sleep=user)
    assert sleeps == [2, 7, 12] and "Signed in" in output


def test_declined(entra_emulator):
    decline = lambda n, s: entra_emulator.decline_device_code(pending_code(entra_emulator))  # noqa: E731
    with pytest.raises(CommandError, match="declined"):
        device_login(entra_emulator, on_sleep=decline)
    assert not TokenCache.objects.exists()


def test_expired(entra_emulator):
    expire = lambda n, s: entra_emulator.clock.advance(entra_emulator.settings.device_code_lifetime + 1)  # noqa: E731
    with pytest.raises(CommandError, match="expired"):
        device_login(entra_emulator, on_sleep=expire)


def test_identity_must_match_the_expected_user(entra_emulator):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)  # noqa: E731
    with pytest.raises(CommandError, match="not 'someone-else'"):
        device_login(entra_emulator, on_sleep=approve, user="someone-else")
    assert not TokenCache.objects.exists()


def test_real_waiting_with_a_user_in_another_thread(entra_emulator):
    entra_emulator.settings.device_code_interval = 1
    out = io.StringIO()
    timer = threading.Timer(0.3, lambda: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE))
    timer.start()
    call_command("graph_auth_device_login", stdout=out)
    timer.join()
    assert "Signed in as Adele Vance" in out.getvalue()


@pytest.fixture
def adele_tokens(entra_emulator):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)  # noqa: E731
    device_login(entra_emulator, on_sleep=approve)


def graph(*args) -> str:
    out = io.StringIO()
    call_command("graph_auth_graph", *args, stdout=out)
    return out.getvalue()


def test_graph_as_a_user(adele_tokens, entra_emulator):
    me = json.loads(graph("get", "/me", "--user", ADELE))
    assert me["displayName"] == "Adele Vance"
    assert entra_emulator.requests("graph")[-1].path == "/v1.0/me"


def test_graph_as_the_app_following_pages(entra_emulator):
    users = json.loads(graph("get", "/users?$top=2", "--app", "--tenant", CONTOSO_ID, "--all"))
    assert len(users["value"]) == 9                     # Contoso's 7 members and 2 guests


def test_graph_binary_answers_need_an_output_file(adele_tokens, tmp_path):
    with pytest.raises(CommandError, match="--output"):
        graph("get", "/me/photo/$value", "--user", ADELE)
    target = tmp_path / "adele.jpg"
    graph("get", "/me/photo/$value", "--user", ADELE, "--output", str(target))
    assert target.read_bytes()[:2] == b"\xff\xd8"


def test_graph_errors_are_command_errors(adele_tokens, entra_emulator):
    with pytest.raises(CommandError, match="404 Request_ResourceNotFound"):
        graph("get", "/users/nobody@contoso.onmicrosoft.com", "--user", ADELE)
    with pytest.raises(CommandError, match="No user matches"):
        graph("get", "/me", "--user", "nobody")


def test_graph_for_a_user_without_tokens(entra_emulator, django_user_model):
    django_user_model.objects.create_user("local")
    with pytest.raises(CommandError, match="graph_auth_device_login"):
        graph("get", "/me", "--user", "local")


def test_tokens_from_the_terminal_are_refreshed_by_the_web_app(entra_emulator):
    approve = lambda n, s: entra_emulator.approve_device_code(pending_code(entra_emulator), ADELE)  # noqa: E731
    device_login(entra_emulator, on_sleep=approve)
    leave_only(240)                                              # due for refresh
    assert json.loads(graph("get", "/me", "--user", ADELE))["displayName"] == "Adele Vance"
    (refresh,) = entra_emulator.requests("token", grant_type="refresh_token")
    assert refresh.status == 200 and "client_secret" in refresh.form      # the confidential client
