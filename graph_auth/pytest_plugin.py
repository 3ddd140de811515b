"""pytest fixtures for testing code that signs in with Microsoft or calls Graph, fully offline.

Installed with graph_auth (a ``pytest11`` entry point), so any project that installs graph_auth
gets them. Each test gets a fresh emulator; in a Django project with graph_auth installed and the
emulator enabled, graph_auth's HTTP seam talks to that emulator for the test's duration.
"""
from __future__ import annotations

import pytest

# msal warns whenever a sign-in URL is not built for response_mode=form_post; graph_auth's default is
# query (README, "Callback mode"), so every sign-in in a user's tests printed a warning they can't act
# on. graph_auth.msal_client filters it at import, but under pytest that import happens inside one of
# pytest's warning-capture blocks (Django starts in one), which restore the filters on exit: the
# filter goes in pytest's own list instead, after the project's, so it holds in every test.
FORM_POST_WARNING = "ignore:response_mode='form_post' is recommended:UserWarning"


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", FORM_POST_WARNING)


def _django_ready() -> bool:
    try:
        from django.apps import apps
        from django.conf import settings
    except ImportError:
        return False
    return settings.configured and apps.ready and apps.is_installed("graph_auth")


@pytest.fixture
def entra_directory_data():
    """The directory the emulator starts from; override this fixture to define your own."""
    from graph_auth.emulator.default_directory import default_directory
    return default_directory()


@pytest.fixture
def entra_emulator(entra_directory_data):
    """A fresh emulator of Microsoft Entra ID and Graph, made current for graph_auth."""
    from graph_auth.emulator import Emulator
    if not _django_ready():
        emulator = Emulator(entra_directory_data)
        yield emulator
        _fail_on_errors(emulator)
        return
    from graph_auth.emulator.mount import browser_url, use_emulator
    emulator = Emulator(entra_directory_data, browser_url=browser_url())
    _clear_graph_auth_caches()
    with use_emulator(emulator):
        yield emulator
    _clear_graph_auth_caches()
    _fail_on_errors(emulator)


def _clear_graph_auth_caches() -> None:
    """Forget what graph_auth cached from the previous test's emulator (discovery, keys, the
    circuit breaker's records)."""
    from graph_auth import app_tokens, breaker, id_tokens, msal_client
    msal_client.clear_caches()
    id_tokens.clear_caches()
    app_tokens.clear_caches()
    breaker.forget()


def _fail_on_errors(emulator) -> None:
    if emulator.errors:
        pytest.fail(f"the emulator hit internal errors: {emulator.errors!r}", pytrace=False)


@pytest.fixture
def entra_directory(entra_emulator):
    """The emulator's directory (tenants, users, groups, apps); change it freely in a test."""
    return entra_emulator.directory


@pytest.fixture
def entra_session(entra_emulator):
    """A ``requests.Session`` on which login.microsoftonline.com and graph.microsoft.com are the
    emulator; any other host raises ``NetworkBlocked``."""
    session = entra_emulator.session(timeout=10)
    yield session
    session.close()


@pytest.fixture
def entra_async_client(entra_emulator):
    """An ``httpx.AsyncClient`` on which login.microsoftonline.com and graph.microsoft.com are the
    emulator (served in a worker thread, no sockets); any other host raises
    ``AsyncNetworkBlocked``. Use it on one event loop (httpx clients are loop-bound)."""
    from graph_auth.emulator import async_emulator_client
    return async_emulator_client(entra_emulator, timeout=10)


@pytest.fixture
def entra_certificate():
    """A fresh key pair and self-signed certificate (``Certificate``) for certificate credentials."""
    from graph_auth.emulator import create_certificate
    return create_certificate()


@pytest.fixture
def entra_sign_in(entra_emulator):
    """Sign a user in to your Django site through graph_auth's real views and the emulator.

    ``entra_sign_in(client, "adele@contoso.onmicrosoft.com", next="/profile/")`` runs login →
    authorize (as the user, consenting) → callback with a Django test client and returns the
    callback's response (a redirect to ``next`` on success, the failure page otherwise).

    ``user`` is the name the person signs in with: a member, a personal account
    (``default_directory.PERSONAL_UPN``) or a guest's *home* account (``GUEST_HOME_UPN``). Who that
    makes them depends on your ``TENANT_ID``, as in Entra: with the inviting tenant the guest
    object there; with ``organizations``/``common`` the home account. A refusal (a personal account
    on ``organizations``, someone not invited to your tenant) comes back as the callback's failure.
    """
    from django.urls import reverse

    def sign_in(client, user="adele@contoso.onmicrosoft.com", *, next=None, consent=True,
                password=None, **login_params):
        params = {k: v for k, v in {"next": next, **login_params}.items() if v}
        login = client.get(reverse("graph_auth:login"), params)
        if login.status_code != 302:
            return login
        result = entra_emulator.sign_in(login["Location"], user, password, consent=consent)
        return client.get(reverse("graph_auth:callback"), result)

    return sign_in
