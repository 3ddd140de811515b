"""The README's "Add it to your site" and "Testing your own views" blocks, applied verbatim to a fresh
``django-admin startproject`` site, work: the site passes its checks, signs in through the emulator
and calls Graph; with the three GRAPH_AUTH_* variables it is set up for that tenant; the README's
tests pass in it, without msal's warnings. Each step runs in a subprocess with the site's settings
(its own SQLite file), as a user would run it; nothing reaches the network.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DRIVER = Path(__file__).with_name("readme_drive.py")
BIN = Path(sys.executable).parent
# <!-- readme-site: append mysite/settings.py --> right before a fenced block: what to do with it.
SNIPPET = re.compile(r"<!-- (readme-[a-z]+): (append|write) (\S+) -->\n```[\w-]*\n(.*?)^```", re.S | re.M)
TENANT = {"GRAPH_AUTH_TENANT_ID": "contoso.onmicrosoft.com",
          "GRAPH_AUTH_CLIENT_ID": "00000000-1111-2222-3333-444444444444",
          "GRAPH_AUTH_CLIENT_SECRET": "a-secret"}


def snippets(readme: str, group: str) -> list[tuple[str, str, str]]:
    """The README's blocks of ``group`` as (operation, path in the site, code)."""
    found = [(op, path, code) for name, op, path, code in SNIPPET.findall(readme) if name == group]
    for _, path, code in found:      # the label a reader sees names the same file
        assert path in code.splitlines()[0], f"the block for {path} starts {code.splitlines()[0]!r}"
    return found


def site_env(**extra) -> dict:
    """The environment of a user's shell: none of this test run's settings, database or credentials;
    and a proxy that answers nobody, so a broken snippet that leaves the emulator can't go online."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GRAPH_AUTH_", "PYTEST_", "DJANGO_")) and k not in ("DATABASE_URL", "PYTHONPATH")
           and not k.lower().endswith("_proxy")}
    offline = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    return {**env, **offline, "DJANGO_SETTINGS_MODULE": "mysite.settings", **extra}


def run(site: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=site, env=env or site_env(), capture_output=True, text=True, timeout=120)


def apply(site: Path, blocks) -> None:
    for op, path, code in blocks:
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if op == "append":
            target.write_text(target.read_text() + "\n" + code)
        else:
            target.write_text(code)


def build_site(directory: Path, readme: str) -> Path:
    """A fresh ``startproject`` site with the README's "Add it to your site" blocks, migrated."""
    blocks = snippets(readme, "readme-site")
    assert {(op, path) for op, path, _ in blocks} >= {
        ("append", "mysite/settings.py"), ("write", "mysite/urls.py"), ("write", "mysite/views.py")}, blocks
    site = directory / "site"
    site.mkdir()
    done = run(site, sys.executable, "-m", "django", "startproject", "mysite", ".")   # django-admin's
    assert done.returncode == 0, done.stderr
    apply(site, blocks)
    done = run(site, sys.executable, "manage.py", "migrate", "--no-input")
    assert done.returncode == 0, f"manage.py migrate failed:\n{done.stdout}\n{done.stderr}"
    return site


def check_ids(done: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"\(([\w.]+\.[EWC]\d+)\)", done.stdout + done.stderr))


def assert_checks_pass(site: Path) -> None:
    done = run(site, sys.executable, "manage.py", "check")
    assert done.returncode == 0 and check_ids(done) == {"graph_auth.W010"}, \
        f"manage.py check on the emulator:\n{done.stdout}\n{done.stderr}"


def drive(site: Path, mode: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run readme_drive.py in the site's process; with ``-c`` the site, not tests/, is on sys.path."""
    return run(site, sys.executable, "-c", "import runpy, sys; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')", str(DRIVER), mode, env=env)


def assert_signs_in(site: Path) -> None:
    done = drive(site, "emulator")
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), \
        f"signing in to the README's site failed:\n{done.stdout}\n{done.stderr[-6000:]}"


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory, readme) -> Path:
    return build_site(tmp_path_factory.mktemp("readme"), readme)


def test_the_site_passes_its_checks_on_the_emulator(site):
    assert_checks_pass(site)


def test_the_site_signs_in_through_the_emulator_and_calls_graph(site):
    assert_signs_in(site)


def test_with_the_three_variables_the_site_uses_the_tenant(site):
    done = run(site, sys.executable, "manage.py", "check", env=site_env(**TENANT))
    assert done.returncode == 0 and not check_ids(done), f"{done.stdout}\n{done.stderr}"
    done = drive(site, "tenant", env=site_env(**TENANT))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
    without_secret = {k: v for k, v in TENANT.items() if k != "GRAPH_AUTH_CLIENT_SECRET"}
    done = run(site, sys.executable, "manage.py", "check", env=site_env(**without_secret))
    assert done.returncode != 0 and check_ids(done) == {"graph_auth.E001"}, f"{done.stdout}\n{done.stderr}"


def test_the_testing_example_passes_without_warnings(site, readme):
    blocks = snippets(readme, "readme-tests")
    assert {path for _, path, _ in blocks} >= {"pytest.ini"} and any("entra_sign_in" in c for *_, c in blocks)
    apply(site, blocks)
    pytest_command = [str(BIN / "pytest")] if (BIN / "pytest").exists() else [sys.executable, "-m", "pytest"]
    done = run(site, *pytest_command, "-p", "no:cacheprovider", "-rA",
               env=site_env(**TENANT))       # its conftest keeps the tests on the emulator anyway
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0 and re.fullmatch(r"=+ \d+ passed in [\d.]+s( \(.*\))? =+", summary), \
        f"the README's tests in a user's site:\n{done.stdout}\n{done.stderr}"
    assert "form_post" not in done.stdout and "Warning" not in done.stdout, done.stdout


@pytest.mark.parametrize("old, new, failure", [
    ('    "EMULATOR": not CLIENT_ID,', "", "graph_auth.E001"),
    ('    path("_emulator/", include("graph_auth.emulator_urls")),', "", "not to the emulator mounted"),
], ids=["no-emulator-setting", "no-emulator-mount"])
def test_a_broken_snippet_fails(tmp_path, readme, old, new, failure):
    """A README whose "Add it to your site" no longer works as written fails the tests above."""
    assert old in readme
    with pytest.raises(AssertionError, match=failure):
        site = build_site(tmp_path, readme.replace(old, new))
        assert_checks_pass(site)
        assert_signs_in(site)
