"""The demo site: its home page works on the emulator and on a real tenant's settings."""
from django.test import override_settings


def test_home_on_the_emulator(client, entra_emulator):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="emulator-note"' in body and "adele@contoso.onmicrosoft.com" in body
    assert "Isaiah Langer" not in body                    # disabled accounts are not offered


def test_home_with_a_real_app_registration(client):
    with override_settings(GRAPH_AUTH={"CLIENT_ID": "id", "CLIENT_SECRET": "s", "TENANT_ID": "contoso.com"}):
        body = client.get("/").content.decode()
    assert "emulator-note" not in body and "contoso.com" in body
