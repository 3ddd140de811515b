"""Account kinds as directory data (guests, personal accounts, no mail, nested groups), optional
claims only when the app registration asks, and a UPN that changes between sign-ins."""
import pytest

from graph_auth.emulator import Directory, Emulator
from graph_auth.emulator.default_directory import (
    API_APP_ID,
    CONSUMERS_ID,
    CONTOSO,
    GUEST_HOME_UPN,
    GUEST_UPN,
    NO_EMAIL_UPN,
    WEB_APP_ID,
    default_directory,
)
from graph_auth.emulator.directory import DirectoryError

from .conftest import ADELE, REDIRECT_URI
from .graphing import MEGAN, Graph
from .token_asserts import auth_code_flow, claims_of

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
SMALL = {"tenants": [{"domain": "a.example"}, {"domain": "b.example"},
                     {"id": CONSUMERS_ID, "domain": "live.com"}],
         "users": [{"tenant": "a.example", "user_principal_name": "kim@a.example", "display_name": "Kim"},
                   {"tenant": "consumers", "user_principal_name": "lou@outlook.com", "display_name": "Lou"}]}


def _redeem(app, em, user, scopes=("User.Read",)):
    flow, response = auth_code_flow(app, em, user, scopes)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    return result


def _with_users(*users) -> dict:
    return {**SMALL, "users": [*SMALL["users"], *users]}


def test_guests_are_declared_by_naming_the_home_user():
    directory = Directory.from_dict(_with_users({"tenant": "b.example", "invited": "kim@a.example"},
                                                {"tenant": "b.example", "invited": "lou@outlook.com"}))
    kim, lou = directory.person_by_name("kim@a.example"), directory.person_by_name("lou@outlook.com")
    guest = directory.guest_of(kim, directory.tenant("b.example").id)
    assert guest.user_principal_name == "kim_a.example#EXT#@b.example" and guest.user_type == "Guest"
    assert directory.home_of(guest) is kim and directory.home_of(kim) is kim and not guest.password
    assert lou.id.startswith("00000000-0000-0000-") and lou.personal and lou.tenant_id == CONSUMERS_ID
    assert directory.guest_of(lou, directory.tenant("b.example").id).mail == "lou@outlook.com"


@pytest.mark.parametrize("guest, problem", [
    ({"tenant": "b.example", "invited": "nobody@a.example"}, "unknown invited user"),
    ({"tenant": "a.example", "invited": "kim@a.example"}, "cannot be a guest"),
    ({"tenant": "consumers", "invited": "kim@a.example"}, "cannot be a guest"),
])
def test_bad_guest_data(guest, problem):
    with pytest.raises(DirectoryError, match=problem):
        Directory.from_dict(_with_users(guest))


def test_an_app_may_only_ask_for_known_optional_claims():
    with pytest.raises(DirectoryError, match="optional claim"):
        Directory.from_dict({**SMALL, "apps": [{"client_id": "x", "tenant": "a.example", "display_name": "X",
                                                "optional_claims": {"id_token": ["shoe_size"]}}]})


def test_nested_groups_count_for_transitive_membership():
    data = default_directory()
    directory = Directory.from_dict(data)
    megan = directory.person_by_name(MEGAN)
    direct = directory.groups_of(megan)
    transitive = directory.groups_of(megan, transitive=True)
    assert len(direct) == 251 and len(transitive) == 252
    assert {g.display_name for g in transitive} - {g.display_name for g in direct} == {"All projects"}
    cycle = {**SMALL, "groups": [{"tenant": "a.example", "display_name": "A", "member_of": ["B"]},
                                 {"tenant": "a.example", "display_name": "B", "member_of": ["A"]}],
             "users": [{"tenant": "a.example", "user_principal_name": "kim@a.example", "display_name": "K",
                        "groups": ["A"]}]}
    looped = Directory.from_dict(cycle)
    assert len(looped.groups_of(looped.person_by_name("kim@a.example"), transitive=True)) == 2


def test_a_member_without_mail(entra_emulator, entra_session, web_app):
    result = _redeem(web_app, entra_emulator, NO_EMAIL_UPN, ("User.Read", "email"))
    assert "email" not in result["id_token_claims"]
    assert result["id_token_claims"]["preferred_username"] == NO_EMAIL_UPN
    assert Graph(entra_session, result["access_token"]).get("/me").json()["mail"] is None


def test_optional_claims_only_when_the_registration_asks(entra_emulator, entra_directory, make_app):
    app = entra_directory.add_app(client_id="claims-app", tenant=CONTOSO, display_name="Claims",
                                  sign_in_audience="AzureADMultipleOrgs", secrets=["s"],
                                  redirect_uris=[REDIRECT_URI], admin_consent=True,
                                  api_permissions={"graph": ["User.Read"]})
    plain = _redeem(make_app("claims-app", "s"), entra_emulator, ADELE)["id_token_claims"]
    assert not {"acct", "login_hint", "upn", "given_name", "family_name"} & set(plain)
    app.optional_claims = {"id_token": ["acct", "upn", "given_name", "family_name", "email", "login_hint"]}
    member = _redeem(make_app("claims-app", "s"), entra_emulator, ADELE)["id_token_claims"]
    assert (member["acct"], member["upn"], member["given_name"], member["family_name"]) == (
        0, ADELE, "Adele", "Vance")
    assert member["email"] == ADELE and member["login_hint"]
    guest = _redeem(make_app("claims-app", "s"), entra_emulator, GUEST_HOME_UPN)["id_token_claims"]
    assert guest["acct"] == 1 and "upn" not in guest
    # Access-token optional claims belong to the API the token is for.
    entra_directory.apps[API_APP_ID].optional_claims = {"access_token": ["acct"]}
    web = make_app(WEB_APP_ID, tenant=CONTOSO)
    token = _redeem(web, entra_emulator, GUEST_HOME_UPN, [f"api://{API_APP_ID}/access_as_user"])
    at = claims_of(token["access_token"])
    assert at["acct"] == 1 and at["idp"].startswith("https://sts.windows.net/")
    assert at["preferred_username"] == GUEST_HOME_UPN and at["oid"] == entra_emulator.user(GUEST_UPN).id


def test_upn_changed_since_the_last_sign_in(entra_emulator, entra_directory, web_app):
    alex = entra_emulator.user("alex@contoso.onmicrosoft.com")
    before = _redeem(web_app, entra_emulator, alex)
    entra_directory.change_upn(alex, "alex.wilber@contoso.onmicrosoft.com")
    assert alex.mail == "alex.wilber@contoso.onmicrosoft.com"          # the mail followed the UPN
    after = _redeem(web_app, entra_emulator, "alex.wilber@contoso.onmicrosoft.com")
    old, new = before["id_token_claims"], after["id_token_claims"]
    assert (new["tid"], new["oid"], new["sub"]) == (old["tid"], old["oid"], old["sub"])
    assert new["preferred_username"] == "alex.wilber@contoso.onmicrosoft.com" != old["preferred_username"]
    assert new["login_hint"] == old["login_hint"]                     # the hint names the person
    refreshed = web_app.acquire_token_silent(["User.Read"], web_app.get_accounts()[0], force_refresh=True)
    assert refreshed["id_token_claims"]["preferred_username"] == "alex.wilber@contoso.onmicrosoft.com"
    with pytest.raises(DirectoryError):
        entra_directory.change_upn(alex, ADELE)


def test_guests_of_a_custom_directory_sign_in():
    emulator = Emulator(_with_users({"tenant": "b.example", "invited": "kim@a.example"}))
    emulator.directory.add_app(client_id="app", tenant="b.example", display_name="B app",
                               secrets=["s"], redirect_uris=["http://localhost/cb"], admin_consent=True,
                               api_permissions={"graph": ["User.Read"]})
    flow = {"auth_uri": "https://login.microsoftonline.com/b.example/oauth2/v2.0/authorize?client_id=app"
                        "&response_type=code&redirect_uri=http://localhost/cb&scope=openid+User.Read"}
    params = emulator.sign_in(flow["auth_uri"], "kim@a.example")
    assert "code" in params, params
    assert emulator.codes[params["code"]].user_id == emulator.user("kim_a.example#EXT#@b.example").id
