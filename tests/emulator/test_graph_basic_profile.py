"""User.ReadBasic.All reads only the basic profile of other users; User.Read.All and app-only
User.Read.All read it all, and everyone reads their own full profile."""
import pytest

from .conftest import ADELE
from .graphing import MEGAN, V1, as_user, daemon

BASIC_PROFILE = {"displayName", "givenName", "surname", "mail", "userPrincipalName", "id"}
DEFAULT_PROPERTIES = BASIC_PROFILE | {"businessPhones", "jobTitle", "mobilePhone", "officeLocation",
                                      "preferredLanguage"}


@pytest.fixture
def basic(as_user):
    return as_user(ADELE, ["User.Read", "User.ReadBasic.All"])


def _props(body: dict) -> set:
    return {k for k in body if not k.startswith("@odata.")}


def test_other_users_basic_profile_only(basic):
    body = basic.get(f"/users/{MEGAN}").json()
    assert _props(body) == BASIC_PROFILE
    assert body["displayName"] == "Megan Bowen" and body["mail"] == MEGAN
    assert body["@odata.context"] == f"{V1}/$metadata#users/$entity"


def test_select_outside_the_basic_profile_is_absent(basic):
    response = basic.get(f"/users/{MEGAN}?$select=displayName,jobTitle,accountEnabled")
    assert response.status_code == 200
    assert response.json() == {
        "@odata.context": f"{V1}/$metadata#users(displayName,jobTitle,accountEnabled)/$entity",
        "displayName": "Megan Bowen"}
    assert basic.get(f"/users/{MEGAN}?$select=nope").status_code == 400     # unknown: still an error


def test_listing_shows_others_basic_profiles(basic):
    people = basic.get("/users?$select=displayName,jobTitle").json()["value"]
    assert {p.get("jobTitle") for p in people if p["displayName"] != "Adele Vance"} == {None}
    assert all(set(p) <= {"displayName"} for p in people if p["displayName"] != "Adele Vance")
    default = basic.get("/users").json()["value"]
    assert all(_props(p) == BASIC_PROFILE for p in default if p["userPrincipalName"] != ADELE)


def test_own_full_profile(basic):
    me = basic.get("/me").json()
    assert _props(me) == DEFAULT_PROPERTIES and me["jobTitle"] == "Product Manager"
    assert basic.get(f"/users/{ADELE}?$select=jobTitle").json()["jobTitle"] == "Product Manager"


def test_user_read_all_reads_full_profiles(as_user):
    reader = as_user(ADELE, ["User.Read", "User.ReadBasic.All", "User.Read.All"])
    assert _props(reader.get(f"/users/{MEGAN}").json()) == DEFAULT_PROPERTIES
    assert reader.get(f"/users/{MEGAN}?$select=jobTitle").json()["jobTitle"] == "Auditor"


def test_app_only_reads_full_profiles(daemon):
    assert _props(daemon.get(f"/users/{MEGAN}").json()) == DEFAULT_PROPERTIES
    people = daemon.get("/users?$select=jobTitle,accountEnabled").json()["value"]
    assert all(set(p) == {"jobTitle", "accountEnabled"} for p in people)
