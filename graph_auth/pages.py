"""Render graph_auth's pages inside the site's look: every page template starts with
``{% extends graph_auth_base %}``, and ``graph_auth_base`` is GRAPH_AUTH["BASE_TEMPLATE"].

The base template provides the blocks ``title``, ``extra_head`` and ``content`` (see
``graph_auth/standalone.html``, the default). Every view or middleware of graph_auth that renders
a page goes through ``render_page`` (or puts ``page_context()`` into its context).
"""
from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist

from .app_settings import DEFAULTS, app_settings
from .exceptions import GraphAuthConfigError

BASE_VARIABLE = "graph_auth_base"       # the context variable graph_auth's page templates extend
STANDALONE = DEFAULTS["BASE_TEMPLATE"]


def page_context(context: dict | None = None) -> dict:
    """Return ``context`` with the base template graph_auth's pages extend."""
    return {BASE_VARIABLE: app_settings.BASE_TEMPLATE, **(context or {})}


def render_page(request, template_name: str, context: dict | None = None, *, status: int = 200,
                standalone: bool = False) -> HttpResponse:
    """Render one of graph_auth's pages (a template extending ``graph_auth_base``); ``standalone``
    uses graph_auth's own base instead of the site's."""
    context = page_context(context)
    if standalone:
        context[BASE_VARIABLE] = STANDALONE
    try:
        return render(request, template_name, context, status=status)
    except TemplateDoesNotExist as exc:
        if exc.args and exc.args[0] == context[BASE_VARIABLE] != STANDALONE:
            raise GraphAuthConfigError(
                f"GRAPH_AUTH['BASE_TEMPLATE'] = {context[BASE_VARIABLE]!r}: no such template. Name a template "
                "your TEMPLATES settings can load (check graph_auth.E041).") from exc
        raise
