"""System checks for graph_auth's configuration (ids graph_auth.E0xx / W0xx, each with a hint)."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .app_settings import DEFAULTS, app_settings


@register(Tags.security, deploy=False)
def check_emulator(app_configs=None, **kwargs):
    """The emulator signs tokens for anyone: it must never be on by accident."""
    user = app_settings.user_settings
    problems = []
    if user.get("EMULATOR") is True and user.get("CLIENT_ID"):
        problems.append(Error(
            "GRAPH_AUTH['EMULATOR'] is True but a CLIENT_ID is configured; the emulator stays off.",
            hint="Remove EMULATOR (or CLIENT_ID): the emulator only runs with no app registration.",
            id="graph_auth.E010"))
    if app_settings.emulator_enabled:
        if not settings.DEBUG:
            problems.append(Warning(
                "graph_auth's emulator is on with DEBUG off: anyone can sign in as any test user.",
                hint="Only for demos and CI. In production set GRAPH_AUTH['CLIENT_ID'] (and remove "
                     "EMULATOR=True).",
                id="graph_auth.W011"))
        else:
            problems.append(Warning(
                "graph_auth is running on its emulator: sign-ins and Graph data are simulated.",
                hint="Set GRAPH_AUTH['CLIENT_ID'], CLIENT_SECRET and TENANT_ID to use Microsoft Entra ID.",
                id="graph_auth.W010"))
    elif not user.get("CLIENT_ID") or not (user.get("CLIENT_SECRET") or user.get("CLIENT_CERTIFICATE")):
        problems.append(Error(
            "GRAPH_AUTH needs CLIENT_ID and CLIENT_SECRET (or CLIENT_CERTIFICATE); the emulator is "
            "off (DEBUG is off, or EMULATOR is False).",
            hint="Set CLIENT_ID and CLIENT_SECRET (or CLIENT_CERTIFICATE) from your app "
                 "registration, or EMULATOR=True for a demo.",
            id="graph_auth.E001"))
    return problems


@register(Tags.compatibility)
def check_unknown_keys(app_configs=None, **kwargs):
    unknown = sorted(set(app_settings.user_settings) - set(DEFAULTS))
    return [Error(f"GRAPH_AUTH has an unknown key {key!r}.",
                  hint=f"Valid keys: {', '.join(sorted(DEFAULTS))}.", id="graph_auth.E002")
            for key in unknown]
