"""The emulator signs tokens for anyone: it is on only when a setting asks for it, its pages answer
this machine only, and a site with it off never even imports it."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client, override_settings

from graph_auth.emulator.default_directory import CONTOSO_ID

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/_emulator/"
LOGIN_PAGE = f"/_emulator/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"


def run(tmp_path, settings_body: str, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with a settings module made of ``settings_body``."""
    (tmp_path / "mode_settings.py").write_text(textwrap.dedent(settings_body))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mode_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    for name in [n for n in env if n.startswith("GRAPH_AUTH_")]:
        del env[name]
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


DEMO = ("from demo_site.settings import *  # noqa\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n")


def test_debug_without_a_client_id_does_not_turn_the_emulator_on(tmp_path):
    result = run(tmp_path, DEMO + "DEBUG = True\nGRAPH_AUTH = {}\n", """
        import django; django.setup()
        from graph_auth.app_settings import app_settings
        print("emulator", app_settings.emulator_enabled)
        from django.core.management import call_command
        call_command("check", "--deploy")
    """)
    assert "emulator False" in result.stdout
    assert result.returncode != 0 and "graph_auth.E001" in result.stderr and "no client id is set" in result.stderr


def test_check_deploy_refuses_the_emulator_on_a_public_host(tmp_path):
    result = run(tmp_path, DEMO + "DEBUG = True\nALLOWED_HOSTS = ['example.com']\nGRAPH_AUTH = {'EMULATOR': True}\n",
                 "import django; django.setup()\nfrom django.core.management import call_command\n"
                 "call_command('check', '--deploy')\n")
    assert result.returncode != 0
    assert "graph_auth.E011" in result.stderr and "emulator is on" in result.stderr


def test_production_modules_never_import_the_emulator(tmp_path):
    configured = "ALLOWED_HOSTS = ['testserver']\nGRAPH_AUTH = {'CLIENT_ID': 'id', 'CLIENT_SECRET': 's'}\n"
    result = run(tmp_path, DEMO + configured, """
        import importlib, pkgutil, sys
        import django; django.setup()

        def walk(package):                  # not pkgutil.walk_packages: it imports every package
            names = []
            for info in pkgutil.iter_modules(importlib.import_module(package).__path__, package + "."):
                if info.name in ("graph_auth.emulator", "graph_auth.pytest_plugin"):
                    continue                # the emulator itself, and the test tooling
                names.append(info.name)
                importlib.import_module(info.name)
                if info.ispkg:
                    names += walk(info.name)
            return names
        names = walk("graph_auth")
        from django.urls import resolve, reverse
        from django.core.management import call_command
        call_command("check")
        call_command("migrate", verbosity=0)
        from django.test import Client
        assert Client().get("/_emulator/").status_code == 404
        assert Client().get("/").status_code == 200
        print(len(names), "modules")
        print("emulator imported:", sorted(m for m in sys.modules
                                           if m == "graph_auth.emulator" or m.startswith("graph_auth.emulator.")))
    """)
    assert result.returncode == 0, result.stderr
    assert "emulator imported: []" in result.stdout
    assert int(result.stdout.split(" modules")[0].split()[-1]) > 30


@pytest.mark.django_db
@pytest.mark.parametrize("meta, answers", [
    ({}, True),                                                     # Django's test client: 127.0.0.1
    ({"REMOTE_ADDR": "::1", "HTTP_HOST": "localhost:8000"}, True),
    ({"REMOTE_ADDR": "203.0.113.9"}, False),                       # another machine
    ({"HTTP_HOST": "example.com"}, False),                          # a public name, even from here
    ({"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, False),               # a proxy on this host
    ({"HTTP_FORWARDED": "for=203.0.113.9"}, False),
    ({"REMOTE_ADDR": "not an address"}, False),
])
def test_the_pages_answer_this_machine_only(entra_emulator, meta, answers):
    with override_settings(ALLOWED_HOSTS=["*"]):
        response = Client().get(LOGIN_PAGE, **meta)
    assert (response.status_code == 200) is answers
    if not answers:
        assert response.status_code == 404


@pytest.mark.django_db
def test_a_demo_host_on_a_private_network_can_allow_other_machines(entra_emulator):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "EMULATOR_ALLOW_REMOTE": True}, ALLOWED_HOSTS=["*"]):
        assert Client().get(LOGIN_PAGE, REMOTE_ADDR="192.0.2.7", HTTP_HOST="demo.lan").status_code == 200


@pytest.mark.django_db
def test_only_this_machine_chooses_the_emulated_host(entra_emulator):
    """X-Emulated-Host lets a local process reach Graph through the mount; from elsewhere it is ignored."""
    graph = {"HTTP_X_EMULATED_HOST": "graph.microsoft.com"}
    local = Client().get("/_emulator/v1.0/me", **graph)
    assert local.status_code == 401 and local.json()["error"]["code"] == "InvalidAuthenticationToken"
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "EMULATOR_ALLOW_REMOTE": True}, ALLOWED_HOSTS=["*"]):
        remote = Client().get("/_emulator/v1.0/me", REMOTE_ADDR="192.0.2.7", HTTP_HOST="demo.lan", **graph)
    assert remote.status_code == 404 and "graph" not in remote.content.decode().lower()


@pytest.mark.django_db
def test_the_pages_are_gone_when_the_emulator_is_off():
    with override_settings(GRAPH_AUTH={"CLIENT_ID": "id", "CLIENT_SECRET": "s"}):
        assert Client().get(PAGE).status_code == 404
