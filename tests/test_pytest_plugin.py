"""The pytest plugin ships with graph_auth (entry point) and works in a project without Django."""
import pytest
from django.test import override_settings

from graph_auth.emulator.default_directory import CONTOSO_ID, GUEST_HOME_UPN, GUEST_UPN, PERSONAL_UPN

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester):
    pytester.makeini("[pytest]\naddopts = -p no:django -p no:cacheprovider\n")
    return pytester


def test_fixtures_are_available_to_a_project_that_installs_graph_auth(project):
    project.makepyfile(test_user_project="""
        import msal
        from graph_auth.emulator.default_directory import CONTOSO_ID, DAEMON_APP_ID, DAEMON_APP_SECRET

        def test_app_only_graph(entra_emulator, entra_session):
            app = msal.ConfidentialClientApplication(
                DAEMON_APP_ID, client_credential=DAEMON_APP_SECRET,
                authority=f"https://login.microsoftonline.com/{CONTOSO_ID}", http_client=entra_session)
            token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
            users = entra_session.get("https://graph.microsoft.com/v1.0/users",
                                      headers={"Authorization": "Bearer " + token}).json()["value"]
            assert "Adele Vance" in [u["displayName"] for u in users]
            assert len(entra_emulator.requests("token")) == 1

        def test_directory_fixture(entra_directory):
            assert entra_directory.user_by_name("alex@contoso.onmicrosoft.com").display_name == "Alex Wilber"
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_directory_data_fixture_can_be_overridden(project):
    project.makeconftest("""
        import pytest

        @pytest.fixture
        def entra_directory_data():
            return {"tenants": [{"domain": "example.onmicrosoft.com"}],
                    "users": [{"user_principal_name": "sam@example.onmicrosoft.com", "display_name": "Sam"}],
                    "apps": [{"client_id": "11111111-2222-3333-4444-555555555555",
                              "display_name": "Mine", "secrets": ["s"]}]}
    """)
    project.makepyfile(test_custom="""
        def test_custom_directory(entra_emulator):
            assert [u.display_name for u in entra_emulator.directory.users.values()] == ["Sam"]
    """)
    project.runpytest_subprocess().assert_outcomes(passed=1)


def test_internal_emulator_errors_fail_the_test(project):
    project.makepyfile(test_broken="""
        def test_records_an_error(entra_emulator):
            entra_emulator.errors.append(RuntimeError("emulator bug"))
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the emulator hit internal errors*"])


def test_msal_form_post_warning_is_filtered_even_where_warnings_are_errors(project):
    """msal warns on every query-mode sign-in URL (graph_auth's default); the plugin silences that
    one warning in users' runs, after their own filters, so `filterwarnings = error` doesn't fail sign-ins."""
    project.makeini("[pytest]\naddopts = -p no:django -p no:cacheprovider\nfilterwarnings = error\n")
    project.makepyfile(test_query_mode="""
        import msal
        from graph_auth.emulator.default_directory import CONTOSO_ID, WEB_APP_ID, WEB_APP_SECRET

        def test_query_mode_sign_in_url(entra_session):
            app = msal.ConfidentialClientApplication(
                WEB_APP_ID, client_credential=WEB_APP_SECRET,
                authority=f"https://login.microsoftonline.com/{CONTOSO_ID}", http_client=entra_session)
            flow = app.initiate_auth_code_flow(
                ["User.Read"], redirect_uri="http://localhost:8000/auth/callback", response_mode="query")
            assert "response_mode=query" in flow["auth_uri"]
    """)
    project.runpytest_subprocess().assert_outcomes(passed=1, warnings=0)


@pytest.mark.django_db
@pytest.mark.parametrize("tenant, who, principal", [
    (CONTOSO_ID, GUEST_HOME_UPN, GUEST_UPN),                 # the inviting tenant: the guest object
    ("organizations", GUEST_HOME_UPN, GUEST_HOME_UPN),       # anywhere: the home account
    ("common", PERSONAL_UPN, PERSONAL_UPN),
])
def test_entra_sign_in_takes_guests_and_personal_accounts(client, entra_emulator, entra_sign_in,
                                                          tenant, who, principal):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": tenant, "SCOPES": ["User.Read"]}):
        response = entra_sign_in(client, who)
    assert response.status_code == 302
    (code,) = entra_emulator.codes.values()
    assert code.redeemed and code.user_id == entra_emulator.user(principal).id


@pytest.mark.django_db
def test_entra_sign_in_refuses_a_personal_account_on_organizations(client, entra_emulator, entra_sign_in):
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "TENANT_ID": "organizations"}):
        response = entra_sign_in(client, PERSONAL_UPN)
    assert response.status_code != 302 and not entra_emulator.codes
