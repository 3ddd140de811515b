"""View decorators."""
from __future__ import annotations

import functools


def graph_scopes_required(*scopes: str):
    """Make sure the signed-in user's Graph token covers ``scopes`` before the view runs; when the
    user has not consented yet, graph_auth's middleware sends them to consent and back.

        @login_required
        @graph_scopes_required("Mail.Read")
        def mail(request): ...
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.graph.require_scopes(scopes)
            return view(request, *args, **kwargs)
        return wrapper
    return decorate
