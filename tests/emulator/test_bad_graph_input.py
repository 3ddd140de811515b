"""Hostile input to Graph gets Graph's 400 answer, never a server error (and a logout_hint too)."""
import base64
from urllib.parse import quote

import pytest

from .browsing import browser, interactive_sign_in
from .conftest import ADELE
from .graphing import as_user, assert_graph_error

DEEP = ["[" * 100000, '{"a":' * 50000 + "1" + "}" * 50000]
UNREADABLE = ("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is "
              "of valid JSON format.")


@pytest.fixture
def reader(as_user):
    return as_user(ADELE, ["User.Read", "User.ReadBasic.All", "Mail.Read"])


@pytest.fixture(autouse=True)
def _no_internal_errors(entra_emulator):
    yield
    assert entra_emulator.errors == []


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
def test_deeply_nested_batch_body(reader, body):
    response = reader.post("/$batch", data=body, headers={"Content-Type": "application/json"})
    assert assert_graph_error(response, 400, "BadRequest")["message"] == UNREADABLE


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
def test_deeply_nested_get_member_objects_body(reader, body):
    response = reader.post("/me/getMemberObjects", data=body, headers={"Content-Type": "application/json"})
    assert assert_graph_error(response, 400, "BadRequest")["message"] == UNREADABLE


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
def test_deeply_nested_skiptoken(reader, body):
    token = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    assert_graph_error(reader.get(f"/users?$top=2&$skiptoken={quote(token)}"), 400, "Request_BadRequest")


def test_huge_numbers_in_top_and_skip(reader):
    huge = "9" * 5000                    # more digits than Python's int() accepts from a string
    assert_graph_error(reader.get(f"/users?$top={huge}"), 400, "Request_UnsupportedQuery")
    assert_graph_error(reader.get(f"/me/messages?$top={huge}"), 400)
    assert_graph_error(reader.get(f"/me/messages?$skip={huge}"), 400, "ErrorInvalidUrlQuery")
    assert_graph_error(reader.get("/me/messages?$skip=2147483648"), 400)            # beyond Int32
    assert reader.get("/me/messages?$skip=2147483647").json()["value"] == []


def test_deeply_nested_logout_hint(browser, web_app):
    interactive_sign_in(browser, web_app)                 # a session for the hint to be matched with
    hint = base64.urlsafe_b64encode(DEEP[0].encode()).decode()
    response = browser.get("https://login.microsoftonline.com/common/oauth2/v2.0/logout", logout_hint=hint)
    assert response.status_code == 200 and "You signed out" in response.text
