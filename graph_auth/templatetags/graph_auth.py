"""``{% load graph_auth %}{% graph_auth_login_button %}``: the "Sign in with Microsoft" button
(template ``graph_auth/login_button.html``, class ``graph-auth-button``, styled by the static
``graph_auth/graph_auth.css``)."""
from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("graph_auth/login_button.html", takes_context=True)
def graph_auth_login_button(context, next=None, label=None, prompt=None):
    """Render the button; ``next`` defaults to the current page, ``label`` to "Sign in with
    Microsoft" in the active language."""
    request = context.get("request")
    params = {"next": next or (request.get_full_path() if request else "/")}
    if prompt:
        params["prompt"] = prompt
    return {"login_url": f"{reverse('graph_auth:login')}?{urlencode(params)}", "label": label}


@register.simple_tag
def graph_auth_login_url(next=None):
    """The login URL (for a link of your own)."""
    url = reverse("graph_auth:login")
    return f"{url}?{urlencode({'next': next})}" if next else url
