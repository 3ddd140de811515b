"""GraphAuthBackend: each hook alone, then the pipeline, with real ID tokens from the emulator.
Users are found by (tid, oid) only, never by email or UPN (the nOAuth case). Groups, roles and
flags: test_backend_groups.py."""
import threading
import uuid

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from graph_auth.backends import GraphAuthBackend
from graph_auth.emulator.default_directory import CONTOSO_ID, FABRIKAM_ID
from graph_auth.exceptions import ClaimsRejected
from graph_auth.models import MicrosoftAccount
from graph_auth.signals import graph_user_authenticated
from tests.builders import ADELE, OID, build_claims, graph_auth, real_sign_in
from tests.concurrency import run_threads, threaded_db

pytestmark = pytest.mark.django_db
User = get_user_model()


# -- hooks, one at a time ------------------------------------------------------------------------
def test_not_our_credentials_pass_to_the_next_backend():
    User.objects.create_user("bob", password="pw")
    assert GraphAuthBackend().authenticate(None) is None
    assert GraphAuthBackend().authenticate(None, username="bob", password="pw") is None
    assert authenticate(None, username="bob", password="pw").username == "bob"   # ModelBackend


@pytest.mark.parametrize("claims, ok", [
    (build_claims(), True), (build_claims(tid=""), False), ({"tid": CONTOSO_ID}, False),
])
def test_verify_claims_needs_tid_and_oid(claims, ok):
    assert GraphAuthBackend().verify_claims(claims) is ok


def test_verify_claims_checks_allowed_tenants():
    with override_settings(GRAPH_AUTH=graph_auth(ALLOWED_TENANTS=[FABRIKAM_ID])):
        assert not GraphAuthBackend().verify_claims(build_claims())
        with pytest.raises(ClaimsRejected, match=OID):
            GraphAuthBackend().authenticate(None, id_token_claims=build_claims())
        failed = []
        user_login_failed.connect(lambda **kw: failed.append(kw), weak=False, dispatch_uid="t")
        try:                                         # PermissionDenied stops Django's backend chain
            assert authenticate(None, id_token_claims=build_claims()) is None
        finally:
            user_login_failed.disconnect(dispatch_uid="t")
        assert len(failed) == 1 and not User.objects.exists()


def test_get_username_and_describe_use_ids_only():
    assert GraphAuthBackend().get_username(build_claims()) == OID
    description = GraphAuthBackend().describe_user_by_claims(build_claims())
    assert OID in description and CONTOSO_ID in description and "Adele" not in description


def test_filter_users_by_claims_matches_tid_and_oid_never_email_or_upn():
    """nOAuth: the same email or UPN must never find another identity's user."""
    local = User.objects.create_user(ADELE, email=ADELE)                     # a local account
    other = User.objects.create_user("other", email=ADELE)
    MicrosoftAccount.objects.create(user=other, tenant_id=FABRIKAM_ID, object_id=OID)   # same oid!
    backend = GraphAuthBackend()
    assert list(backend.filter_users_by_claims(build_claims())) == []
    mine = User.objects.create_user("mine")
    MicrosoftAccount.objects.create(user=mine, tenant_id=CONTOSO_ID, object_id=OID)
    assert list(backend.filter_users_by_claims(build_claims())) == [mine] and local != mine


def test_create_user():
    user = GraphAuthBackend().create_user(build_claims())
    user.refresh_from_db()
    assert (user.username, user.first_name, user.last_name, user.email) == (OID, "Adele", "Vance", ADELE)
    assert not user.has_usable_password() and not user.is_staff


def test_update_user_saves_only_changes():
    backend = GraphAuthBackend()
    user = backend.create_user(build_claims())
    with CaptureQueriesContext(connection) as queries:
        backend.update_user(user, build_claims())
    assert len(queries) == 0
    backend.update_user(user, build_claims(family_name="Vance-Smith"))
    assert User.objects.get().last_name == "Vance-Smith"


def test_apply_claims_with_callables_the_name_fallback_and_field_lengths():
    mapping = {"first_name": "given_name", "last_name": "family_name", "email": "email",
               "username": lambda claims: "u-" + claims["oid"][-4:], "nickname": "name"}
    user = User(username="x")
    with override_settings(GRAPH_AUTH=graph_auth(CLAIM_MAPPING=mapping)):
        assert GraphAuthBackend().apply_claims(user, build_claims(
            given_name=None, family_name=None, name="Jean Claude Van Damme", email="e" * 300))
        assert not GraphAuthBackend().apply_claims(user, build_claims(
            given_name=None, family_name=None, name="Jean Claude Van Damme", email="e" * 300))
    assert (user.username, user.first_name, user.last_name) == ("u-00a1", "Jean", "Claude Van Damme")
    assert user.email == "e" * 254 and not hasattr(user, "nickname")    # unknown fields are skipped
    single = User(username="y")
    GraphAuthBackend().apply_claims(single, {"tid": "t", "oid": "o", "name": "Cher"})
    assert (single.first_name, single.last_name, single.email) == ("Cher", "", "")




# -- the pipeline --------------------------------------------------------------------------------
@pytest.fixture
def signals():
    sent = []
    graph_user_authenticated.connect(lambda **kw: sent.append(kw), weak=False, dispatch_uid="test")
    yield sent
    graph_user_authenticated.disconnect(dispatch_uid="test")


def test_first_sign_in_creates_and_links_the_user_later_ones_update_it(entra_emulator, entra_directory,
                                                                       signals, rf):
    claims, _ = real_sign_in(entra_emulator, ADELE)
    request = rf.get("/auth/callback")
    user = authenticate(request, id_token_claims=claims)
    adele = entra_directory.user_by_name(ADELE)
    assert (user.username, user.first_name, user.last_name) == (adele.id, "Adele", "Vance")
    account = MicrosoftAccount.objects.get()
    assert (account.user, account.tenant_id, account.object_id, account.username) == \
        (user, CONTOSO_ID, adele.id, ADELE)
    first_login = account.last_login_at
    assert [(s["sender"], s["user"], s["request"], s["claims"]["oid"]) for s in signals] == \
        [(GraphAuthBackend, user, request, adele.id)]
    adele.display_name = "Adele Vance-Smith"
    claims, _ = real_sign_in(entra_emulator, ADELE)
    assert authenticate(request, id_token_claims=claims) == user
    assert User.objects.get().last_name == "Vance-Smith" and len(signals) == 2
    assert MicrosoftAccount.objects.get().last_login_at > first_login


def test_same_email_or_upn_never_signs_in_as_another_user(entra_emulator, entra_directory):
    """nOAuth: a local user and a second tenant's identity share Adele's email and UPN."""
    local = User.objects.create_user(ADELE, email=ADELE, password="pw")
    entra_directory.add_user(tenant=FABRIKAM_ID, user_principal_name="adele@fabrikam.onmicrosoft.com",
                             display_name="Adele Impostor", mail=ADELE)
    impostor = authenticate(None, id_token_claims=build_claims(
        tid=FABRIKAM_ID, oid=entra_directory.user_by_name("adele@fabrikam.onmicrosoft.com").id))
    real = authenticate(None, id_token_claims=real_sign_in(entra_emulator, ADELE)[0])
    assert len({local.pk, impostor.pk, real.pk}) == 3
    assert not local.microsoft_accounts.exists()
    assert MicrosoftAccount.objects.get(user=real).tenant_id == CONTOSO_ID


def test_inactive_user_gets_none_and_no_signal(signals):
    user = authenticate(None, id_token_claims=build_claims())
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert authenticate(None, id_token_claims=build_claims()) is None
    assert len(signals) == 1


def test_create_users_off_lets_only_linked_users_in():
    linked = authenticate(None, id_token_claims=build_claims())
    with override_settings(GRAPH_AUTH=graph_auth(CREATE_USERS=False)):
        assert authenticate(None, id_token_claims=build_claims(oid=str(uuid.uuid4()))) is None
        assert authenticate(None, id_token_claims=build_claims()) == linked
    assert User.objects.count() == 1


def test_a_username_taken_by_an_unlinked_user_is_refused_not_taken_over():
    squatter = User.objects.create_user(OID, password="pw")      # e.g. a self-chosen username
    with pytest.raises(ClaimsRejected, match="taken"):
        GraphAuthBackend().authenticate(None, id_token_claims=build_claims())
    assert not MicrosoftAccount.objects.exists() and list(User.objects.all()) == [squatter]


class PreProvisioned(GraphAuthBackend):
    """Users created ahead of time (e.g. by SCIM) with their oid as username get linked."""

    def filter_users_by_claims(self, claims):
        return User.objects.filter(username=claims["oid"])


def test_a_subclass_filter_links_the_user_it_finds():
    provisioned = User.objects.create_user(OID)
    assert PreProvisioned().authenticate(None, id_token_claims=build_claims()) == provisioned
    assert MicrosoftAccount.objects.get().user == provisioned
    MicrosoftAccount.objects.update(user=User.objects.create_user("someone else"))
    with pytest.raises(ClaimsRejected, match="linked to another user"):
        PreProvisioned().authenticate(None, id_token_claims=build_claims())


class Loose(PreProvisioned):
    def filter_users_by_claims(self, claims):
        return super().filter_users_by_claims(claims) | User.objects.filter(email=claims["oid"])


def test_several_matching_users_are_refused():
    User.objects.create_user(OID), User.objects.create_user("x", email=OID)
    with pytest.raises(ClaimsRejected, match="several users"):
        Loose().authenticate(None, id_token_claims=build_claims())


def test_losing_the_first_sign_in_race_uses_the_winners_user():
    """The IntegrityError path: the identity got linked between the look-up and the insert."""
    winner = User.objects.create_user("winner")

    class Late(GraphAuthBackend):
        calls = 0

        def filter_users_by_claims(self, claims):
            Late.calls += 1
            if Late.calls == 1:
                MicrosoftAccount.objects.create(user=winner, tenant_id=claims["tid"], object_id=claims["oid"])
                return User.objects.none()
            return super().filter_users_by_claims(claims)
    winner.username = OID                 # the concurrent request created the same username
    winner.save()
    assert Late().authenticate(None, id_token_claims=build_claims()) == winner
    assert User.objects.count() == 1 and Late.calls == 2


class LinkedMeanwhile:
    """A concurrent first sign-in links the identity (to ``winner``) between the look-up and the insert."""
    lookups = calls = 0

    def __init__(self, winner):
        self.winner = winner

    def filter_users_by_claims(self, claims):
        self.lookups += 1
        if self.lookups == 1:
            MicrosoftAccount.objects.create(user=self.winner, tenant_id=claims["tid"], object_id=claims["oid"])
            return User.objects.none()
        return super().filter_users_by_claims(claims)


class OldPositional(LinkedMeanwhile, GraphAuthBackend):
    def get_or_create_user(self, claims):             # written before the adapter: no request
        self.calls += 1
        return super().get_or_create_user(claims)


class OldKeywords(LinkedMeanwhile, GraphAuthBackend):
    def get_or_create_user(self, claims, **kwargs):
        self.calls += 1
        return super().get_or_create_user(claims, **kwargs)


@pytest.mark.parametrize("backend", [OldPositional, OldKeywords])
def test_an_older_subclass_losing_the_first_sign_in_race_uses_the_winners_user(backend):
    """The retry stays in the base class: the override's signature is never called with more."""
    winner = User.objects.create_user(OID)            # the concurrent request created the same username
    chosen = backend(winner)
    assert chosen.authenticate(None, id_token_claims=build_claims()) == winner
    assert (chosen.calls, chosen.lookups) == (1, 2)                   # the override ran once
    assert User.objects.count() == 1 and MicrosoftAccount.objects.get().user == winner


class Racing(GraphAuthBackend):
    """Every thread looks the identity up (and finds nobody) before any of them creates it."""

    def __init__(self, barrier):
        self.barrier, self.lookups = barrier, 0

    def filter_users_by_claims(self, claims):
        users = list(super().filter_users_by_claims(claims))
        self.lookups += 1
        if self.lookups == 1:
            self.barrier.wait(timeout=30)
        return users


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_make_one_user(threaded_db):
    barrier = threading.Barrier(6)
    backends = [Racing(barrier) for _ in range(6)]
    results = run_threads(6, lambda i: backends[i].authenticate(None, id_token_claims=build_claims()))
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len({r.pk for r in results}) == 1
    assert User.objects.count() == 1 and MicrosoftAccount.objects.count() == 1
    assert sorted(b.lookups for b in backends) == [1, 2, 2, 2, 2, 2]     # five lost the race, retried


class OnlyAdmins(GraphAuthBackend):
    """A subclass as a project would write one: admins only, readable usernames."""

    def verify_claims(self, claims):
        return super().verify_claims(claims) and "Admin" in claims.get("roles", [])

    def get_username(self, claims):
        return "ms-" + claims["oid"][:8]


@override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.OnlyAdmins"])
def test_a_subclass_in_authentication_backends_drives_the_real_sign_in(entra_emulator, entra_sign_in,
                                                                      entra_directory):
    assert entra_sign_in(Client(), ADELE).status_code == 302               # Adele has the Admin role
    assert User.objects.get().username == "ms-" + entra_directory.user_by_name(ADELE).id[:8]
    # Django's authenticate() turns ClaimsRejected (PermissionDenied) into None: a 403 page.
    assert entra_sign_in(Client(), "alex@contoso.onmicrosoft.com").status_code == 403
    assert User.objects.count() == 1
