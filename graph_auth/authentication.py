"""Authenticate validated ID-token claims with the site's AUTHENTICATION_BACKENDS.

It walks the backends as ``django.contrib.auth.authenticate`` does (a backend whose signature
doesn't take the credentials is skipped, ``PermissionDenied`` stops the chain, ``user_login_failed``
is sent on failure), with one difference: a refusal by graph_auth's backend or adapter
(``ClaimsRejected``) reaches the caller with its reason, instead of becoming None.
"""
from __future__ import annotations

import inspect

from django.conf import settings
from django.contrib.auth import load_backend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.views.decorators.debug import sensitive_variables

from .exceptions import ClaimsRejected

CLEANSED = "********************"         # what Django's authenticate() shows of a token credential


@sensitive_variables("claims")
def authenticate(request, claims: dict, graph=None):
    """Return the user the backends map ``claims`` to (with ``user.backend`` set, ready for
    ``login()``), or None; raise ``ClaimsRejected`` when the identity was refused."""
    credentials = {"id_token_claims": claims, "graph": graph}
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = load_backend(path)
        try:
            inspect.signature(backend.authenticate).bind(request, **credentials)
        except TypeError:
            continue                          # this backend does not take these credentials
        try:
            user = backend.authenticate(request, **credentials)
        except ClaimsRejected:
            _failed(request, graph)
            raise
        except PermissionDenied:
            break                             # this backend says stop: nobody may sign in
        if user is not None:
            user.backend = path
            return user
    _failed(request, graph)
    return None


def _failed(request, graph) -> None:
    user_login_failed.send(sender=__name__, credentials={"id_token_claims": CLEANSED, "graph": graph},
                           request=request)
