"""The sign-in failure page: each reason's status and texts, rendered in the site's look.

Never a 500, never a token: what went wrong goes to the log (cut short), the person gets the page.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .app_settings import app_settings
from .exceptions import GraphAuthConfigError
from .log import clean
from .pages import render_page

logger = logging.getLogger(__name__)

FAILURES = {
    "expired_flow": (400, _("Your sign-in expired"),
                     _("This sign-in was already completed, expired, or was started in another browser.")),
    "declined": (403, _("Sign-in cancelled"),
                 _("You cancelled the sign-in or declined the permissions the site asked for.")),
    "identity_error": (400, _("Microsoft could not sign you in"),
                       _("The Microsoft sign-in service returned an error.")),
    "token_error": (400, _("Sign-in failed"), _("The sign-in could not be completed.")),
    "invalid_id_token": (403, _("Sign-in rejected"),
                         _("The identity returned by Microsoft could not be verified for this site.")),
    "rejected": (403, _("Access denied"), _("Your account is not allowed to sign in to this site.")),
    "no_user": (403, _("Access denied"),
                _("There is no active account on this site for your Microsoft identity.")),
    "unavailable": (503, _("Microsoft sign-in is unavailable"),
                    _("The Microsoft identity platform could not be reached. Please try again in a moment.")),
    "not_configured": (503, _("Sign-in is not available"),
                       _("Sign-in with Microsoft is not set up on this site yet.")),
}


def login_failed(request, reason: str, detail: str = "", next_url: str | None = None):
    """Render the failure page for ``reason`` with a "Try again" link, and log why (one line, cut
    short: ``detail`` may carry what the callback's caller sent)."""
    status, title, message = FAILURES[reason]
    logger.warning("sign-in failed (%s): %s", reason, clean(detail or reason, 400))
    retry = reverse("graph_auth:login")
    if next_url:
        retry += "?" + urlencode({"next": next_url})
    return render_page(request, app_settings.LOGIN_FAILED_TEMPLATE,
                       {"reason": reason, "title": title, "message": message, "detail": detail,
                        "retry_url": retry}, status=status)


def not_configured(request, error: Exception):
    """Render "sign-in is not available" (503) for a configuration error found at run time (under a
    server that ran no system checks): the fix is logged, and shown on the page only with DEBUG on."""
    status, title, message = FAILURES["not_configured"]
    logger.error("graph_auth is not configured: %s", error)
    context = {"reason": "not_configured", "title": title, "message": message,
               "hint": str(error) if settings.DEBUG else "", "retry_url": ""}
    try:
        return render_page(request, app_settings.LOGIN_FAILED_TEMPLATE, context, status=status)
    except GraphAuthConfigError:             # the site's base template itself is what's wrong
        return render_page(request, app_settings.LOGIN_FAILED_TEMPLATE, context, status=status, standalone=True)
