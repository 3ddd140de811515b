"""View decorators."""
from __future__ import annotations

import functools

from asgiref.sync import iscoroutinefunction


def graph_scopes_required(*scopes: str):
    """Make sure the signed-in user's Graph token covers ``scopes`` before the view runs; when the
    user has not consented yet, graph_auth's middleware sends them to consent and back. Works on
    ``async def`` views too.

        @login_required
        @graph_scopes_required("Mail.Read")
        def mail(request): ...
    """
    def decorate(view):
        if iscoroutinefunction(view):
            @functools.wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                await request.graph.arequire_scopes(scopes)
                return await view(request, *args, **kwargs)
            return async_wrapper

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.graph.require_scopes(scopes)
            return view(request, *args, **kwargs)
        return wrapper
    return decorate
