"""Graph's user endpoints: /me, /users/{id|upn}, photos, group membership (getMemberObjects)."""
from importlib import resources

import jwt
import pytest

from graph_auth.emulator import NetworkBlocked
from graph_auth.emulator.default_directory import CONTOSO_ID

from .conftest import ADELE
from .graphing import ALEX, FABRICE, MEGAN, V1, as_user, assert_graph_error, daemon

DEFAULT_PROPERTIES = {"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
                      "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                      "userPrincipalName"}
BASIC = ["User.Read", "User.ReadBasic.All"]


def asset(name: str) -> bytes:
    return resources.files("graph_auth.emulator").joinpath("assets", name).read_bytes()


@pytest.fixture
def adele(as_user):
    return as_user(ADELE, BASIC)


def test_me_default_properties(adele):
    response = adele.get("/me")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("@odata.context") == f"{V1}/$metadata#users/$entity"
    assert set(body) == DEFAULT_PROPERTIES
    assert body["id"] == adele.result["id_token_claims"]["oid"]
    assert body["userPrincipalName"] == ADELE and body["displayName"] == "Adele Vance"
    assert body["businessPhones"] == ["+1 425 555 0109"] and body["mobilePhone"] is None


def test_me_select(adele):
    body = adele.get("/me?$select=displayName,jobTitle").json()
    assert body == {"@odata.context": f"{V1}/$metadata#users(displayName,jobTitle)/$entity",
                    "displayName": "Adele Vance", "jobTitle": "Product Manager"}
    # Names are case-insensitive and come back in their canonical spelling; extra properties too.
    body = adele.get("/me?$select=ID,accountenabled,displayName,displayName").json()
    assert body == {"@odata.context": f"{V1}/$metadata#users(id,accountEnabled,displayName)/$entity",
                    "id": body["id"], "accountEnabled": True, "displayName": "Adele Vance"}
    extra = adele.get("/me?$select=signInSessionsValidFromDateTime").json()
    assert set(extra) == {"@odata.context", "signInSessionsValidFromDateTime"}


@pytest.mark.parametrize("select", ["nope", "displayName,nope", ",", "displayName,,"])
def test_me_select_unknown_property(adele, select):
    response = adele.get(f"/me?$select={select}")
    if select == "displayName,,":        # empty items between commas are ignored
        assert response.status_code == 200
        return
    error = assert_graph_error(response, 400)
    if "nope" in select:
        assert error["code"] == "Request_BadRequest"
        assert error["message"] == "Could not find a property named 'nope' on type 'microsoft.graph.user'."


def test_users_by_id_and_upn_same_tenant(adele, entra_emulator):
    me = adele.get("/me").json()
    megan = entra_emulator.user(MEGAN)
    for key in (megan.id, megan.id.upper(), MEGAN, MEGAN.upper()):
        body = adele.get(f"/users/{key}").json()
        assert body["id"] == megan.id and body["displayName"] == "Megan Bowen", key
        assert body["@odata.context"] == f"{V1}/$metadata#users/$entity"
    assert adele.get(f"/users/{me['id']}").json() == me
    selected = adele.get(f"/users/{MEGAN}?$select=mail").json()
    assert selected == {"@odata.context": f"{V1}/$metadata#users(mail)/$entity", "mail": MEGAN}


@pytest.mark.parametrize("key", ["other-tenant-id", FABRICE, "nobody@contoso.onmicrosoft.com",
                                 CONTOSO_ID, "00000000-0000-0000-0000-000000000000"])
def test_users_not_found(adele, entra_emulator, key):
    if key == "other-tenant-id":
        key = entra_emulator.user(FABRICE).id
    error = assert_graph_error(adele.get(f"/users/{key}"), 404, "Request_ResourceNotFound")
    assert key in error["message"]


def test_reading_other_users_needs_more_than_user_read(as_user):
    graph = as_user(ADELE)
    assert graph.get(f"/users/{ADELE}").status_code == 200          # oneself: User.Read is enough
    assert_graph_error(graph.get(f"/users/{MEGAN}"), 403, "Authorization_RequestDenied")
    assert_graph_error(graph.get(f"/users/{MEGAN}/photo/$value"), 403, "Authorization_RequestDenied")


def test_app_only(daemon, entra_emulator):
    error = assert_graph_error(daemon.get("/me"), 400, "BadRequest")
    assert error["message"] == "/me request is only valid with delegated authentication flow."
    assert_graph_error(daemon.get("/me/photo/$value"), 400, "BadRequest")
    body = daemon.get(f"/users/{ADELE}").json()
    assert body["userPrincipalName"] == ADELE
    assert_graph_error(daemon.get(f"/users/{FABRICE}"), 404)           # the daemon is in Contoso
    photo = daemon.get(f"/users/{ADELE}/photo/$value")
    assert photo.status_code == 200 and photo.content == asset("adele.jpg")


def test_photo_value(adele):
    response = adele.get("/me/photo/$value")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8" and response.content[-2:] == b"\xff\xd9"
    assert response.content == asset("adele.jpg")
    assert response.headers["request-id"]
    assert adele.get(f"/users/{MEGAN}/photo/$value").content == asset("megan.jpg")


def test_photo_metadata(adele):
    response = adele.get("/me/photo")
    assert response.status_code == 200
    body = response.json()
    oid = adele.result["id_token_claims"]["oid"]
    assert body["@odata.context"] == f"{V1}/$metadata#users('{oid}')/photo/$entity"
    assert body["@odata.id"] == f"{V1}/users('{oid}')/photo"
    assert body["@odata.mediaContentType"] == "image/jpeg"
    assert body["@odata.mediaEtag"] == adele.get("/me/photo/$value").headers["ETag"]
    assert (body["id"], body["width"], body["height"]) == ("96X96", 96, 96)


def test_no_photo(as_user):
    alex = as_user(ALEX)
    for path in ("/me/photo/$value", "/me/photo"):
        error = assert_graph_error(alex.get(path), 404, "ImageNotFound")
        assert error["message"] == ("Exception of type 'Microsoft.Fast.Profile.Core.Exception."
                                    "ImageNotFoundException' was thrown.")


def test_photo_case_insensitive_segments(adele):
    assert adele.get("/ME/Photo/$VALUE").content == asset("adele.jpg")


# -- group membership ------------------------------------------------------------------------------
@pytest.mark.parametrize("security_only,expected", [(True, {"Staff", "Site admins"}),
                                                    (False, {"Staff", "Site admins", "Marketing"})])
def test_get_member_objects(adele, entra_emulator, security_only, expected):
    response = adele.post("/me/getMemberObjects", json={"securityEnabledOnly": security_only})
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{V1}/$metadata#Collection(Edm.String)"
    groups = entra_emulator.directory.groups
    assert {groups[g].display_name for g in body["value"]} == expected
    assert adele.post("/me/getMemberGroups", json={"securityEnabledOnly": security_only}).json() == body


@pytest.mark.parametrize("kwargs", [{}, {"data": b"{not json"}, {"json": {}}, {"json": []},
                                    {"json": {"securityEnabledOnly": "yes"}}, {"data": b"\xff\xfe"},
                                    {"json": {"securityEnabledOnly": None}}])
def test_get_member_objects_bad_body(adele, kwargs):
    assert_graph_error(adele.post("/me/getMemberObjects", **kwargs), 400)


def test_id_token_groups_match_get_member_objects(adele):
    """The web app asks for security groups in its tokens: the same list getMemberObjects gives."""
    claims = adele.result["id_token_claims"]
    body = adele.post(f"/users/{claims['oid']}/getMemberObjects", json={"securityEnabledOnly": True}).json()
    assert sorted(claims["groups"]) == sorted(body["value"])


def test_beta_endpoint(adele):
    body = adele.get(f"{V1[:-4]}beta/me?$select=displayName").json()
    assert body["@odata.context"] == f"{V1[:-4]}beta/$metadata#users(displayName)/$entity"


def test_group_overage_points_at_the_retired_graph_and_one_call_gets_the_groups(as_user, entra_emulator,
                                                                               entra_session):
    megan = as_user(MEGAN)
    claims = megan.result["id_token_claims"]
    assert "groups" not in claims and claims["_claim_names"] == {"groups": "src1"}
    endpoint = claims["_claim_sources"]["src1"]["endpoint"]
    assert endpoint == f"https://graph.windows.net/{CONTOSO_ID}/users/{claims['oid']}/getMemberObjects"
    with pytest.raises(NetworkBlocked):           # Azure AD Graph is retired: never call it
        entra_session.post(endpoint, json={"securityEnabledOnly": True})
    # One Microsoft Graph call with the app's User.Read token gets them all, nested ones included.
    response = megan.post("/me/getMemberObjects", json={"securityEnabledOnly": True})
    assert response.status_code == 200
    ids = response.json()["value"]
    assert len(ids) == len(set(ids)) == 252            # 251 direct + "All projects" through nesting
    person = entra_emulator.user(MEGAN)
    assert set(ids) == {g.id for g in entra_emulator.directory.groups_of(person, True, transitive=True)}
    # The access token carries no group claims for Graph either.
    assert "groups" not in jwt.decode(megan.token, options={"verify_signature": False})


def test_get_member_objects_for_others(as_user, daemon):
    graph = as_user(ADELE)                                               # User.Read only
    body = {"securityEnabledOnly": False}
    assert_graph_error(graph.post(f"/users/{MEGAN}/getMemberObjects", json=body), 403)
    assert_graph_error(graph.get(f"/users/{MEGAN}/memberOf"), 403)
    response = daemon.post(f"/users/{MEGAN}/getMemberObjects", json={"securityEnabledOnly": False})
    assert response.status_code == 200 and len(response.json()["value"]) == 252       # transitive
    assert_graph_error(daemon.post(f"/users/{FABRICE}/getMemberObjects", json=body), 404)


def test_percent_encoded_upn(adele):
    """A client that quotes the UPN in the path (as SDKs do) reaches the same user."""
    assert adele.get("/users/megan%40contoso.onmicrosoft.com").json()["userPrincipalName"] == MEGAN
