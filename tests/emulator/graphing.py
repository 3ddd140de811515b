"""Helpers for the Graph-slice tests: tokens from real msal, and a thin Graph client on the
emulator's ``requests.Session`` that calls the production URLs as any client would."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from graph_auth.emulator.default_directory import DAEMON_APP_ID, DAEMON_APP_SECRET

from .conftest import REDIRECT_URI

GRAPH = "https://graph.microsoft.com"
V1 = f"{GRAPH}/v1.0"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
MEGAN = "megan@contoso.onmicrosoft.com"
ALEX = "alex@contoso.onmicrosoft.com"
FABRICE = "fabrice@fabrikam.onmicrosoft.com"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Graph:
    """Calls Graph with one access token; ``path`` is relative to /v1.0 or an absolute URL."""
    session: object
    token: str | None
    app: object = None
    result: dict | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{V1}{path}"

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, headers=None, **kwargs):
        return self.session.get(self.url(path), headers=self.headers(headers), **kwargs)

    def post(self, path: str, headers=None, **kwargs):
        return self.session.post(self.url(path), headers=self.headers(headers), **kwargs)

    def batch(self, requests: list[dict]):
        return self.post("/$batch", json={"requests": requests})

    def follow(self, path: str, headers=None) -> list[dict]:
        """Return every page of a collection, following @odata.nextLink verbatim."""
        pages, url = [], path
        while url:
            response = self.get(url, headers)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(body)
            url = body.get("@odata.nextLink")
            assert len(pages) < 50, "paging does not end"
        return pages

    @property
    def account(self):
        return self.app.get_accounts()[0]


@pytest.fixture
def as_user(entra_emulator, entra_session, make_app):
    """``as_user(upn, scopes, cp1=False)``: sign in with the auth-code flow; return a ``Graph``."""
    def sign_in(user, scopes=("User.Read",), *, cp1=False):
        app = make_app(**({"client_capabilities": ["cp1"]} if cp1 else {}))
        flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI)
        result = app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], user))
        assert "access_token" in result, result
        return Graph(entra_session, result["access_token"], app, result)
    return sign_in


@pytest.fixture
def daemon(entra_session, make_app) -> Graph:
    """App-only Graph access for the daemon app (User.Read.All, Mail.Read, User.RevokeSessions.All)."""
    app = make_app(DAEMON_APP_ID, DAEMON_APP_SECRET)
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in result, result
    return Graph(entra_session, result["access_token"], app, result)


def assert_graph_error(response, status: int, code: str | None = None) -> dict:
    """Check Graph's error shape (and the request ids on the response); return the error."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    inner = error["innerError"]
    assert set(inner) >= {"date", "request-id", "client-request-id"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert GUID.match(inner["request-id"])
    assert response.headers["request-id"] == inner["request-id"]
    assert response.headers["client-request-id"] == inner["client-request-id"]
    return error


def new_id() -> str:
    return str(uuid.uuid4())
