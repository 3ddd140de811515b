"""Render graph_auth's pages inside the site's look: every page template starts with
``{% extends graph_auth_base %}``, and ``graph_auth_base`` is GRAPH_AUTH["BASE_TEMPLATE"].

The base template provides the blocks ``title``, ``extra_head`` and ``content`` (see
``graph_auth/standalone.html``, the default). Every view or middleware of graph_auth that renders
a page goes through ``render_page`` (or puts ``page_context()`` into its context).
"""
from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from .app_settings import app_settings

BASE_VARIABLE = "graph_auth_base"       # the context variable graph_auth's page templates extend


def page_context(context: dict | None = None) -> dict:
    """Return ``context`` with the base template graph_auth's pages extend."""
    return {BASE_VARIABLE: app_settings.BASE_TEMPLATE, **(context or {})}


def render_page(request, template_name: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    """Render one of graph_auth's pages (a template extending ``graph_auth_base``)."""
    return render(request, template_name, page_context(context), status=status)
