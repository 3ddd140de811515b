"""Builders shared by the backend tests: ID-token claims, settings, a real sign-in at the emulator."""
from __future__ import annotations

from graph_auth import id_tokens, msal_client
from graph_auth.emulator.default_directory import CONTOSO_ID
from graph_auth.graph import GraphClient
from graph_auth.views import StaticToken

ADELE, MEGAN = "adele@contoso.onmicrosoft.com", "megan@contoso.onmicrosoft.com"
OID = "00000000-0000-0000-0000-0000000000a1"


def build_claims(**overrides) -> dict:
    """Validated ID-token claims as graph_auth's callback hands them to the backend."""
    claims = {"tid": CONTOSO_ID, "oid": OID, "sub": "pairwise", "name": "Adele Vance",
              "preferred_username": ADELE, "email": ADELE, "given_name": "Adele",
              "family_name": "Vance", "groups": [], "roles": []}
    return {**claims, **overrides}


def overage_claims(**overrides) -> dict:
    """Claims whose groups claim overflowed (Graph not asked: the groups are unknown)."""
    claims = build_claims(**overrides, _claim_names={"groups": "src1"})
    del claims["groups"]
    return claims


def graph_auth(**values) -> dict:
    return {"EMULATOR": True, **values}


def real_sign_in(emulator, user):
    """Sign ``user`` in with msal against the emulator; return (validated claims, Graph client)."""
    flow = msal_client.start_flow(["User.Read"], "http://testserver/auth/callback")
    result = msal_client.finish_flow(flow, emulator.sign_in(flow["auth_uri"], user), msal_client.new_cache())
    return id_tokens.validate(result["id_token"]), GraphClient(StaticToken(result["access_token"]))


def group_ids(directory, upn, *, transitive=True) -> dict:
    return {g.display_name: g.id for g in directory.groups_of(directory.user_by_name(upn), transitive=transitive)}
