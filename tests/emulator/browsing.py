"""A tiny stdlib "browser" for the emulator's pages: parse forms out of HTML and submit them.

``Browser`` drives the requests transport (production URLs, cookies in the session's jar);
``DjangoBrowser`` drives the Django mount with pytest-django's test client. Both follow no
redirects by themselves: each step returns the raw response so a test can look at it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest

LOGIN = "https://login.microsoftonline.com"


@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)      # name -> value of <input>s (hidden, text...)
    buttons: list = field(default_factory=list)     # [{"name", "value", "id", "type"}]
    id: str | None = None

    def action_value(self) -> str | None:
        return self.fields.get("action")

    def button(self, value: str) -> dict | None:
        return next((b for b in self.buttons if b.get("value") == value or b.get("id") == value), None)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.iframes: list[str] = []
        self._form: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower(), id=a.get("id"))
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            if a.get("type") not in ("submit", "button"):
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self._form is not None:
            self._form.buttons.append({k: a.get(k) for k in ("name", "value", "id", "type")})
        elif tag == "iframe":
            self.iframes.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    return parser


def forms(html: str) -> list[Form]:
    return parse(html).forms


def form_for(html: str, action: str) -> Form:
    """The form that posts ``action`` (a hidden action field, or a button with that value)."""
    for form in forms(html):
        if form.action_value() == action or form.button(action):
            return form
    raise AssertionError(f"no form for action {action!r} in page:\n{text(html)[:2000]}")


def text(html: str) -> str:
    """The page's visible text, whitespace collapsed (scripts and styles dropped)."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def error_text(html: str) -> str:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', html, re.S)
    return unescape(match.group(1)) if match else ""


def data_for(form: Form, action: str | None = None, **values) -> dict:
    data = dict(form.fields)
    button = form.button(action) if action else None
    if button and button.get("name"):
        data[button["name"]] = button["value"]
    data.update(values)
    return data


def redirect_params(location: str) -> dict:
    """Query or fragment parameters of a redirect (first value of each)."""
    parts = urlsplit(location)
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def form_post_params(html: str) -> tuple[str, dict]:
    form = forms(html)[0]
    return form.action, form.fields


class Browser:
    """Play a browser on the requests transport: ``session`` holds the emulator's cookies."""

    def __init__(self, session) -> None:
        self.session = session
        self.last_url = LOGIN + "/"

    def get(self, url: str, **params):
        self.last_url = url
        return self.session.get(url, params=params or None, allow_redirects=False)

    def post(self, url: str, data: dict):
        self.last_url = urljoin(self.last_url, url)
        return self.session.post(self.last_url, data=data, allow_redirects=False)

    def submit(self, page, action: str, **values):
        """Submit the form of ``page`` (a response) that carries ``action``."""
        form = form_for(page.text, action)
        return self.post(urljoin(page.url, form.action), data_for(form, action, **values))

    def cookie(self, name: str):
        return self.session.cookies.get(name)


class DjangoBrowser:
    """The same on the Django mount, with pytest-django's test client (its own cookie jar)."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, url: str, **params):
        return self.client.get(url, params)

    def post(self, url: str, data: dict):
        return self.client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")

    def submit(self, page, action: str, **values):
        form = form_for(page.content.decode(), action)
        return self.post(form.action, data_for(form, action, **values))


# -- fixtures (import them into a test module) -----------------------------------------------------


@pytest.fixture
def browser(entra_emulator, entra_session):
    """A browser on the requests transport; the emulator's pages live at production URLs."""
    entra_emulator.settings.browser_url = LOGIN
    return Browser(entra_session)


def interactive_sign_in(browser, app, scopes=("User.Read",), user="adele@contoso.onmicrosoft.com",
                        password="Passw0rd!", **flow_kwargs):
    """Run the pages as a user would (sign in, consent when asked); return (flow, redirect params)."""
    from .conftest import REDIRECT_URI
    flow_kwargs.setdefault("redirect_uri", REDIRECT_URI)
    flow = app.initiate_auth_code_flow(list(scopes), **flow_kwargs)
    page = browser.get(flow["auth_uri"])
    if page.status_code == 200 and 'value="signin"' in page.text:
        page = browser.submit(page, "signin", username=user, password=password)
    if page.status_code == 200 and 'id="permissions"' in page.text:
        page = browser.submit(page, "consent")
    assert page.status_code == 302, text(page.text)
    return flow, redirect_params(page.headers["Location"])
