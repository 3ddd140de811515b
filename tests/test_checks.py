"""System checks about the emulator and credentials: each fires when it should, and only then."""
import pytest
from django.core.checks import run_checks
from django.test import override_settings


def ids(**graph_auth):
    with override_settings(GRAPH_AUTH=graph_auth.pop("GRAPH_AUTH"), **graph_auth):
        return {m.id for m in run_checks() if m.id and m.id.startswith("graph_auth.")}


@pytest.mark.parametrize("case, expected", [
    ({"GRAPH_AUTH": {}, "DEBUG": True}, {"graph_auth.W010"}),
    ({"GRAPH_AUTH": {}, "DEBUG": False}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"EMULATOR": True}, "DEBUG": False}, {"graph_auth.W011"}),
    ({"GRAPH_AUTH": {"EMULATOR": True, "CLIENT_ID": "id", "CLIENT_SECRET": "s"}, "DEBUG": True},
     {"graph_auth.E010"}),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id", "CLIENT_SECRET": "s"}, "DEBUG": False}, set()),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id"}, "DEBUG": False}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"EMULATOR": False}, "DEBUG": True}, {"graph_auth.E001"}),
    ({"GRAPH_AUTH": {"CLIENT_ID": "id", "CLIENT_SECRET": "s", "SCOPE": ["x"]}, "DEBUG": False},
     {"graph_auth.E002"}),
])
def test_checks(case, expected):
    assert ids(**case) == expected


def test_every_check_has_a_hint():
    with override_settings(GRAPH_AUTH={"EMULATOR": True, "CLIENT_ID": "id", "BOGUS": 1}, DEBUG=False):
        messages = [m for m in run_checks() if m.id and m.id.startswith("graph_auth.")]
    assert messages and all(m.hint for m in messages)


@pytest.mark.parametrize("graph_auth, debug, on", [
    ({}, True, True), ({}, False, False), ({"EMULATOR": True}, False, True),
    ({"EMULATOR": False}, True, False), ({"CLIENT_ID": "id"}, True, False),
    ({"CLIENT_ID": "id", "EMULATOR": True}, True, False),
])
def test_emulator_is_never_on_by_accident(graph_auth, debug, on):
    from graph_auth.app_settings import app_settings
    with override_settings(GRAPH_AUTH=graph_auth, DEBUG=debug):
        assert app_settings.emulator_enabled is on
