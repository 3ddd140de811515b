"""Everything graph_auth raises derives from GraphAuthError."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class GraphAuthError(Exception):
    """The root of graph_auth's exceptions."""


class GraphAuthConfigError(GraphAuthError, ImproperlyConfigured):
    """graph_auth is not configured correctly; the message says how to fix it."""
