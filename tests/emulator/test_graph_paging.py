"""Graph collections: $top, $select, $count and @odata.nextLink paging (users, messages, memberOf)."""
import base64
import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from graph_auth.emulator.default_directory import GUEST_UPN, NO_EMAIL_UPN, PERSONAL_GUEST_UPN

from .conftest import ADELE
from .graphing import MEGAN, V1, as_user, assert_graph_error, daemon

CONTOSO_USERS = {*(f"{n}@contoso.onmicrosoft.com" for n in
                   ("adele", "alex", "megan", "lee", "nestor", "isaiah")),
                 NO_EMAIL_UPN, GUEST_UPN, PERSONAL_GUEST_UPN}           # members and guests
EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def reader(as_user):
    return as_user(ADELE, ["User.Read", "User.ReadBasic.All", "Mail.Read"])


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("who", ["reader", "daemon"])
def test_users_paged_to_the_end(request, who):
    graph = request.getfixturevalue(who)
    pages = graph.follow("/users?$top=2&$select=displayName,userPrincipalName")
    assert [len(p["value"]) for p in pages] == [2, 2, 2, 2, 1]
    upns = [u["userPrincipalName"] for p in pages for u in p["value"]]
    assert sorted(upns) == sorted(CONTOSO_USERS)                 # each once, Contoso only
    assert all(set(u) == {"displayName", "userPrincipalName"} for p in pages for u in p["value"])
    assert pages[0]["@odata.context"] == f"{V1}/$metadata#users"
    for page in pages[:-1]:
        link = page["@odata.nextLink"]
        assert link.startswith(f"{V1}/users?")                  # absolute
        assert query_of(link)["$top"] == "2"                    # original options carried on
        assert query_of(link)["$select"] == "displayName,userPrincipalName"
        assert "$skiptoken" in query_of(link)
    assert "@odata.nextLink" not in pages[-1]


def test_users_default_page_holds_everyone(reader):
    (page,) = reader.follow("/users")
    assert {u["userPrincipalName"] for u in page["value"]} == CONTOSO_USERS
    assert set(page["value"][0]) >= {"id", "displayName", "mail", "jobTitle"}


def test_messages_paged_to_the_end(reader):
    pages = reader.follow("/me/messages?$top=5")
    assert [len(p["value"]) for p in pages] == [5, 5, 5, 5, 5, 2]
    messages = [m for p in pages for m in p["value"]]
    assert len({m["id"] for m in messages}) == 27
    received = [m["receivedDateTime"] for m in messages]
    assert received == sorted(received, reverse=True)          # newest first, across pages
    oid = reader.result["id_token_claims"]["oid"]
    assert pages[0]["@odata.context"] == f"{V1}/$metadata#users('{oid}')/messages"
    assert query_of(pages[0]["@odata.nextLink"]) == {"$top": "5", "$skip": "5"}
    assert pages[0]["@odata.nextLink"].startswith(f"{V1}/me/messages?")


def test_messages_default_page_and_select(reader, daemon):
    first = reader.get("/me/messages").json()
    assert len(first["value"]) == 10 and "@odata.nextLink" in first
    selected = reader.get("/me/messages?$select=subject&$top=3").json()
    assert all(set(m) == {"id", "subject"} for m in selected["value"])   # Outlook keeps the id
    assert_graph_error(reader.get("/me/messages?$select=nope"), 400)
    pages = daemon.follow(f"/users/{MEGAN}/messages?$top=7")
    assert sum(len(p["value"]) for p in pages) == 12


def test_count(reader):
    body = reader.get("/users?$count=true&$top=2", EVENTUAL).json()
    assert body["@odata.count"] == 9 and len(body["value"]) == 2
    second = reader.get(body["@odata.nextLink"], EVENTUAL).json()
    assert "@odata.count" not in second                        # first page only
    error = assert_graph_error(reader.get("/users?$count=true"), 400)
    assert "ConsistencyLevel" in error["message"]
    assert reader.get("/users?$count=false").status_code == 200
    assert_graph_error(reader.get("/users?$count=maybe", EVENTUAL), 400)
    # Outlook counts without the advanced-query header.
    assert reader.get("/me/messages?$count=true&$top=1").json()["@odata.count"] == 27


@pytest.mark.parametrize("top", ["0", "-1", "abc", "1000", "", "2.5", "²", "٣", " 2", "1e2",
                                 "99999999999999999999999"])
def test_bad_top(reader, entra_emulator, top):
    assert_graph_error(reader.get(f"/users?$top={quote(top)}"), 400)
    assert entra_emulator.errors == []


@pytest.mark.parametrize("skip", ["-1", "x", "²", ""])
def test_bad_skip_on_messages(reader, skip):
    assert_graph_error(reader.get(f"/me/messages?$skip={quote(skip)}"), 400)


def test_messages_top_limits(reader):
    assert reader.get("/me/messages?$top=1000").status_code == 200
    assert_graph_error(reader.get("/me/messages?$top=1001"), 400)
    assert reader.get("/me/messages?$skip=500").json()["value"] == []    # past the end: empty


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_tampered_skiptoken(reader, entra_emulator):
    link = reader.get("/users?$top=2").json()["@odata.nextLink"]
    token = query_of(link)["$skiptoken"]
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    forged = [dict(data, o=data["o"] + 1), dict(data, o=-1), dict(data, o="2"), dict(data, o=True),
              {"o": data["o"]}, [data], "x", None, dict(data, m=1)]
    tampered = ["garbage", "", "%%%", token[:-2], token + "A", "X%27abc%27", "٣", _b64(b"\xff\xfe"),
                _b64(b"not json"), *(_b64(json.dumps(f).encode()) for f in forged)]
    for value in tampered:
        response = reader.get(f"/users?$top=2&$skiptoken={quote(value)}")
        assert_graph_error(response, 400, "Request_BadRequest")
    assert entra_emulator.errors == []
    assert reader.get(link).status_code == 200                  # the real one still works


def test_skiptoken_of_another_collection(reader, as_user):
    megan = as_user(MEGAN)
    link = megan.get("/me/memberOf?$top=2").json()["@odata.nextLink"]
    token = query_of(link)["$skiptoken"]
    assert_graph_error(reader.get(f"/users?$top=2&$skiptoken={quote(token)}"), 400)


def test_member_of_paging_for_megan(as_user, entra_emulator):
    megan = as_user(MEGAN)
    pages = megan.follow("/me/memberOf")
    assert [len(p["value"]) for p in pages] == [100, 100, 51]
    groups = [g for p in pages for g in p["value"]]
    assert len({g["id"] for g in groups}) == 251
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in groups)
    assert pages[0]["@odata.context"] == f"{V1}/$metadata#directoryObjects"
    assert pages[0]["@odata.nextLink"].startswith(f"{V1}/me/memberOf?")
    # getMemberObjects (where the overage claim sends apps) counts nested groups, as
    # transitiveMemberOf does: memberOf lists direct memberships only.
    (transitive,) = megan.follow("/me/transitiveMemberOf?$top=999")
    nested = {g["id"] for g in transitive["value"]} - {g["id"] for g in groups}
    assert [g["displayName"] for g in transitive["value"] if g["id"] in nested] == ["All projects"]
    objects = megan.post("/me/getMemberObjects", json={"securityEnabledOnly": False}).json()["value"]
    assert set(objects) == {g["id"] for g in transitive["value"]}
    security = megan.post("/me/getMemberObjects", json={"securityEnabledOnly": True}).json()["value"]
    assert set(security) == {g["id"] for g in transitive["value"] if g["securityEnabled"]}


def test_member_of_options(as_user):
    megan = as_user(MEGAN)
    (page,) = megan.follow("/me/memberOf?$top=999")
    assert len(page["value"]) == 251
    selected = megan.get("/me/memberOf?$top=1&$select=displayName").json()["value"][0]
    assert selected == {"@odata.type": "#microsoft.graph.group", "displayName": "Staff"}
    assert_graph_error(megan.get("/me/memberOf?$select=nope"), 400)
    assert_graph_error(megan.get("/me/memberOf?$count=true"), 400)
    assert megan.get("/me/memberOf?$count=true&$top=1", EVENTUAL).json()["@odata.count"] == 251
    assert_graph_error(megan.get("/me/memberOf?$top=1000"), 400)


def test_transitive_member_of_options(as_user, daemon):
    megan = as_user(MEGAN)
    pages = megan.follow("/me/transitiveMemberOf")
    assert [len(p["value"]) for p in pages] == [100, 100, 52]
    assert pages[0]["@odata.nextLink"].startswith(f"{V1}/me/transitiveMemberOf?")
    (page,) = megan.follow("/me/transitiveMemberOf?$top=999&$select=displayName")
    assert len(page["value"]) == 252
    assert all(set(g) == {"@odata.type", "displayName"} for g in page["value"])
    assert megan.get("/me/transitiveMemberOf?$count=true&$top=1", EVENTUAL).json()["@odata.count"] == 252
    assert_graph_error(megan.get("/me/transitiveMemberOf?$top=1000"), 400)
    assert_graph_error(megan.get("/me/transitiveMemberOf?$select=nope"), 400)
    assert_graph_error(megan.post("/me/transitiveMemberOf"), 405)
    # Another user's: like memberOf, it needs more than User.Read (the daemon has User.Read.All).
    assert_graph_error(as_user(ADELE).get(f"/users/{MEGAN}/transitiveMemberOf"), 403)
    (theirs,) = daemon.follow(f"/users/{MEGAN}/transitiveMemberOf?$top=999")
    assert len(theirs["value"]) == 252


def test_member_of_for_adele(as_user):
    adele = as_user(ADELE)
    (page,) = adele.follow("/me/memberOf")
    assert {g["displayName"]: g["securityEnabled"] for g in page["value"]} == {
        "Staff": True, "Site admins": True, "Marketing": False}


def test_unsupported_query_options(reader):
    for option in ("$skip=2", "$filter=startswith(displayName,'A')", "$search=%22displayName:A%22",
                   "$orderby=displayName"):
        assert_graph_error(reader.get(f"/users?{option}"), 400)
