"""The adapter: the one class a site subclasses to change what a sign-in decides and answers.

Name your subclass in ``GRAPH_AUTH["ADAPTER"]`` (a dotted path). On a sign-in, once the ID token is
validated, graph_auth calls ``pre_login`` (link an existing user, or refuse), then, for an identity
no user is linked to, ``is_open_for_signup`` and ``populate_user``, and finally ``login_success``
or ``login_failure``. The backend's hooks (``GraphAuthBackend``) still decide how users are found
and updated; the adapter decides around them, with the request at hand.
"""
from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.module_loading import import_string

from .app_settings import app_settings
from .exceptions import GraphAuthConfigError
from .failures import login_failed


class DefaultAdapter:
    """graph_auth's behaviour: sign-up when CREATE_USERS is on, users found by (tid, oid) only,
    a redirect to ``next`` on success and the failure page otherwise."""

    def pre_login(self, request, claims: dict):
        """Decide about a validated identity before its user is looked up: return an existing
        user to link the identity to, raise ``ClaimsRejected(reason)`` to refuse the sign-in, or
        return None to let the backend find (or create) the user linked to (tid, oid).

        Link only on a fact the identity platform vouches for *in a tenant you trust*: an email or
        UPN is not one (the nOAuth attack: in another tenant, anyone can set a mail address that is
        your user's). An identity already linked to another user is refused whatever this returns.
        ``request`` is None for a terminal sign-in (``graph_auth_device_login``).
        """
        return None

    def is_open_for_signup(self, request, claims: dict) -> bool:
        """Return whether the first sign-in of this identity may create a user (CREATE_USERS)."""
        return bool(app_settings.CREATE_USERS)

    def populate_user(self, request, user, claims: dict) -> None:
        """Fill in a new user before it is first saved (CLAIM_MAPPING is already applied)."""

    def login_success(self, request, user, next_url: str) -> HttpResponse:
        """Answer a completed sign-in (the user is logged in, their tokens stored)."""
        return HttpResponseRedirect(next_url)

    def login_failure(self, request, reason: str, detail: str, next_url: str | None) -> HttpResponse:
        """Answer a failed sign-in; ``reason`` is a key of ``graph_auth.failures.FAILURES``,
        ``detail`` what went wrong (for logs: it may carry what the caller sent)."""
        return login_failed(request, reason, detail, next_url)


def get_adapter() -> DefaultAdapter:
    """Return an instance of the configured adapter class."""
    path = app_settings.ADAPTER
    try:
        adapter_class = import_string(path) if isinstance(path, str) else path
    except ImportError as exc:
        raise GraphAuthConfigError(f"GRAPH_AUTH['ADAPTER'] = {path!r} can't be imported ({exc}); give the "
                                   "dotted path of a graph_auth.adapter.DefaultAdapter subclass.") from exc
    return adapter_class()
