"""What graph_auth's management commands share: ``--user`` lookup, and the emulator they talk to.

In emulator mode a command must use the emulator of the running site, not one of its own: the
site's emulator issued the tokens stored for its users, and it serves the device-code page a person
opens in a browser. So, in order: ``--emulator-url``, ``GRAPH_AUTH["EMULATOR_URL"]``, the
``GRAPH_AUTH_EMULATOR_URL`` environment variable, the emulator mount of the site at ``--site-url``,
the emulator already running in this process (a test's ``entra_emulator``), an absolute
``EMULATOR_BROWSER_URL``, and last the emulator mount of the site at the origin of ``REDIRECT_URI``,
else at runserver's http://127.0.0.1:8000.
"""
from __future__ import annotations

import contextlib
import os
from urllib.parse import urljoin, urlsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import CommandError
from django.db.models import Q
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from graph_auth.app_settings import app_settings

EMULATOR_URL_ENV = "GRAPH_AUTH_EMULATOR_URL"
RUNSERVER_URL = "http://127.0.0.1:8000"          # where ``manage.py runserver`` listens by default
SHOWN_MATCHES = 10


# -- --user ------------------------------------------------------------------------------------
def find_users(name: str) -> list:
    """Return the users ``name`` names: the one with that username, else those whose email or
    Microsoft sign-in name (UPN, as of their last sign-in) is ``name``, ignoring case."""
    model = get_user_model()
    users = model._default_manager
    exact = users.filter(**{model.USERNAME_FIELD: name}).first()
    if exact is not None:
        return [exact]
    query = Q(microsoft_accounts__username__iexact=name)
    try:
        email = model._meta.get_field(model.get_email_field_name()).name
        query |= Q(**{f"{email}__iexact": name})
    except FieldDoesNotExist:                    # a custom user model without an email field
        pass
    return list(users.filter(query).distinct().order_by("pk")[:SHOWN_MATCHES + 1])


def find_user(name: str):
    """Return the one user ``name`` names, or raise CommandError (none, or several: listed)."""
    found = find_users(name)
    if not found:
        raise CommandError(_("No user matches %(name)r (a username, an email or a Microsoft sign-in name).")
                           % {"name": name})
    if len(found) > 1:
        raise CommandError(_("%(name)r matches several users: %(users)s. Give one's username.")
                           % {"name": name, "users": describe_users(found)})
    return found[0]


def describe_users(users: list) -> str:
    shown = ", ".join(_describe(user) for user in users[:SHOWN_MATCHES])
    return shown + (", ..." if len(users) > SHOWN_MATCHES else "")


def _describe(user) -> str:
    names = [getattr(user, user.get_email_field_name(), "") or "",
             *user.microsoft_accounts.values_list("username", flat=True)]
    others = sorted({n for n in names if n and n != user.get_username()}, key=str.lower)
    return repr(user.get_username()) + (f" ({', '.join(others)})" if others else "")


# -- the emulator ------------------------------------------------------------------------------
def add_emulator_arguments(parser) -> None:
    parser.add_argument("--emulator-url", help="on the emulator: the one to use, served over HTTP (python -m "
                                               "graph_auth.emulator) or a site's mount "
                                               "(http://127.0.0.1:8000/_emulator); default: see the README")
    parser.add_argument("--site-url", help="on the emulator: the running site whose emulator to use "
                                           f"(default: REDIRECT_URI's origin, else {RUNSERVER_URL})")


def default_site_url() -> str:
    """The running site's origin: REDIRECT_URI's when it is set, else runserver's default."""
    parts = urlsplit(app_settings.REDIRECT_URI or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else RUNSERVER_URL


def emulator_url(option: str | None = None, site_url: str | None = None) -> str | None:
    """Return the URL of the emulator a command uses (see the module docstring), or None for this
    process's own emulator (or the real identity platform when the emulator is off)."""
    if not app_settings.emulator_enabled:
        return None
    url = option or app_settings.EMULATOR_URL or os.environ.get(EMULATOR_URL_ENV)
    if url:
        return url.rstrip("/")
    mount = _mount_path()
    if site_url and mount:                               # the site named on the command line
        return urljoin(site_url, mount).rstrip("/")
    from graph_auth.emulator import mount as emulator_mount
    if getattr(emulator_mount, "_current", None) is not None:      # tests: the entra_emulator fixture's
        return None
    browser = app_settings.EMULATOR_BROWSER_URL or ""
    if urlsplit(browser).scheme in ("http", "https"):
        return browser.rstrip("/")
    return urljoin(default_site_url(), mount).rstrip("/") if mount else None


def _mount_path() -> str | None:
    """The path of this site's emulator mount (``graph_auth.emulator_urls``), if it has one."""
    try:
        return reverse("graph_auth_emulator:page", kwargs={"path": ""})
    except NoReverseMatch:
        return None


@contextlib.contextmanager
def using_emulator(url: str | None):
    """Send graph_auth's requests to the emulator at ``url`` inside the block (None: as configured)."""
    if url is None or url == app_settings.EMULATOR_URL:
        yield
        return
    from graph_auth import app_tokens, id_tokens, msal_client
    with override_settings(GRAPH_AUTH={**app_settings.user_settings, "EMULATOR_URL": url}):
        for module in (msal_client, id_tokens, app_tokens):     # discovery and keys of another emulator
            module.clear_caches()
        try:
            yield
        finally:
            for module in (msal_client, id_tokens, app_tokens):
                module.clear_caches()


def unreachable_hint(url: str | None) -> str:
    """A hint to add to an error when the emulator at ``url`` may not be running."""
    if not url:
        return ""
    return " " + _("(The emulator at %(url)s: is the site running there? Give its address with --site-url, "
                   "or another emulator with --emulator-url.)") % {"url": url}
