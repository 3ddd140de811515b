"""GraphAuthBackend and groups: the groups claim, group overage read from Graph (one
getMemberObjects request), GROUP_MAP / ROLE_MAP to Django groups, and the STAFF_* / SUPERUSER_* flags."""
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings

from graph_auth.backends import GraphAuthBackend
from tests.builders import MEGAN, build_claims, graph_auth, group_ids, overage_claims, real_sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_get_groups_from_the_claim():
    assert GraphAuthBackend().get_groups(build_claims(groups=["g1", "g2"])) == ["g1", "g2"]
    assert GraphAuthBackend().get_groups({"tid": "t", "oid": "o"}) == []
    assert GraphAuthBackend().get_groups({"tid": "t", "oid": "o", "hasgroups": True}) is None


def test_group_overage_costs_one_graph_request(entra_emulator, entra_directory):
    claims, graph = real_sign_in(entra_emulator, MEGAN)
    assert "groups" not in claims and "groups" in claims["_claim_names"]        # 251 > 200
    groups = GraphAuthBackend().get_groups(claims, graph)
    assert sorted(groups) == sorted(group_ids(entra_directory, MEGAN).values())      # transitive
    assert len(groups) > len(group_ids(entra_directory, MEGAN, transitive=False)) == 251
    (request,) = entra_emulator.requests("graph")
    assert (request.method, request.path) == ("POST", "/v1.0/me/getMemberObjects")
    assert request.body and b'"securityEnabledOnly": true' in request.body


def test_group_overage_can_read_every_kind_of_group(entra_emulator, entra_directory):
    claims, graph = real_sign_in(entra_emulator, MEGAN)
    megan = entra_emulator.user(MEGAN)
    marketing = next(g for g in entra_directory.groups.values() if g.display_name == "Marketing")
    megan.groups.append(marketing.id)                       # not security-enabled
    assert marketing.id not in GraphAuthBackend().get_groups(claims, graph)
    with override_settings(GRAPH_AUTH=graph_auth(GROUPS_SECURITY_ENABLED_ONLY=False)):
        assert marketing.id in GraphAuthBackend().get_groups(claims, graph)


def test_group_overage_without_graph_or_with_graph_failing_is_unknown(entra_emulator, caplog):
    claims, graph = real_sign_in(entra_emulator, MEGAN)
    assert GraphAuthBackend().get_groups(claims) is None
    entra_emulator.fail_next("graph", 403)
    assert GraphAuthBackend().get_groups(claims, graph) is None
    assert "groups left unchanged" in caplog.text


def test_staff_and_superuser_flags_follow_groups_and_roles():
    user = User.objects.create_user("u")
    config = graph_auth(STAFF_GROUPS=["g-staff"], SUPERUSER_ROLES=["Admin"])
    backend = GraphAuthBackend()
    with override_settings(GRAPH_AUTH=config):
        backend.apply_claims(user, build_claims(groups=["g-staff"], roles=["Admin"]))
        assert user.is_staff and user.is_superuser
        backend.apply_claims(user, build_claims(groups=[], roles=[]))
        assert not user.is_staff and not user.is_superuser
        user.is_staff = True                                  # overage, groups unknown: kept
        backend.apply_claims(user, overage_claims(roles=[]))
        assert user.is_staff and not user.is_superuser
    user.is_staff = user.is_superuser = True                  # not configured: not managed
    assert not backend.apply_claims(user, build_claims())
    assert user.is_staff and user.is_superuser


def test_sync_groups_adds_and_removes_mapped_groups_only():
    user = User.objects.create_user("u")
    unmanaged = Group.objects.create(name="Hand-made")
    user.groups.add(unmanaged)
    config = graph_auth(GROUP_MAP={"g1": "Editors", "g2": "Viewers"}, ROLE_MAP={"Admin": "Admins"})
    backend = GraphAuthBackend()

    def names():
        return sorted(user.groups.values_list("name", flat=True))
    with override_settings(GRAPH_AUTH=config):
        backend.sync_groups(user, build_claims(groups=["g1", "g2", "g3"], roles=["Admin"]))
        assert names() == ["Admins", "Editors", "Hand-made", "Viewers"]
        backend.sync_groups(user, build_claims(groups=["g2"], roles=[]))
        assert names() == ["Hand-made", "Viewers"]
        backend.sync_groups(user, overage_claims(roles=["Admin"]))
        assert names() == ["Admins", "Hand-made", "Viewers"]         # group-mapped ones kept
    backend.sync_groups(user, build_claims())                          # no maps: nothing managed
    assert names() == ["Admins", "Hand-made", "Viewers"]
def test_overage_sign_in_maps_groups_read_from_graph(client, entra_emulator, entra_sign_in, entra_directory):
    ids = group_ids(entra_directory, MEGAN)
    Group.objects.create(name="Hand-made").user_set.add(User.objects.create_user("placeholder"))
    config = graph_auth(GROUP_MAP={ids["Project 250"]: "P250", ids["Staff"]: "Staff", "gone": "Old"},
                        ROLE_MAP={"Admin": "Admins"}, STAFF_GROUPS=[ids["Project 250"]])
    with override_settings(GRAPH_AUTH=config):
        assert entra_sign_in(client, MEGAN).status_code == 302
        megan = User.objects.get(microsoft_accounts__isnull=False)
        assert sorted(megan.groups.values_list("name", flat=True)) == ["P250", "Staff"]
        assert megan.is_staff and not megan.is_superuser
        assert len(entra_emulator.requests("graph")) == 1              # groups in one request
        megan.groups.add(Group.objects.create(name="Old"), Group.objects.get(name="Hand-made"))
        claims, _ = real_sign_in(entra_emulator, MEGAN)       # no Graph client: groups unknown
        assert authenticate(None, id_token_claims=claims) == megan
        assert sorted(megan.groups.values_list("name", flat=True)) == ["Hand-made", "Old", "P250", "Staff"]
        claims, graph = real_sign_in(entra_emulator, MEGAN)
        assert authenticate(None, id_token_claims=claims, graph=graph) == megan
        assert sorted(megan.groups.values_list("name", flat=True)) == ["Hand-made", "P250", "Staff"]
        assert User.objects.get(pk=megan.pk).is_staff
