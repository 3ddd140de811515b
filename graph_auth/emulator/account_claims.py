"""The claims that say who signed in, by account kind, and how msal's account id is made.

A member's tokens name the member. A B2B guest's tokens are issued by the inviting (resource)
tenant for the guest object there, with the home sign-in name, ``email`` and ``idp`` naming the home
identity provider. A personal account's tokens name the consumers tenant. ``client_info`` always
names the *home* account (msal's home_account_id), and the opaque ``login_hint`` optional claim
stands for the person (their home account), whatever tenant the token came from.
"""
from __future__ import annotations

import json
import secrets

from .keys import b64url
from .objects import AppRegistration, User

LIVE_IDP = "live.com"      # the idp of a personal account invited as a guest


def client_info(em, user: User) -> str:
    """Return Entra's client_info for tokens issued to ``user``: base64url of {"uid", "utid"} of
    the *home* account, which msal uses as its home_account_id (not the token's oid/tid)."""
    home = em.directory.home_of(user)
    return b64url(json.dumps({"uid": home.id, "utid": home.tenant_id}, separators=(",", ":")).encode())


def sign_in_name(em, user: User) -> str:
    """The name the person signs in with (a guest's home UPN or email, not the #EXT# UPN)."""
    return em.directory.home_of(user).user_principal_name


def identity_provider(em, user: User) -> str | None:
    """The ``idp`` claim: the home issuer of a guest; absent (= the issuer) for anyone else."""
    if not user.guest:
        return None
    home = em.directory.home_of(user)
    return LIVE_IDP if home.personal else f"https://sts.windows.net/{home.tenant_id}/"


def login_hint(em, user: User) -> str:
    """Return the opaque login_hint for the person behind ``user`` (random, mapped in the emulator)."""
    person = em.directory.home_of(user)
    hint = next((h for h, pid in em.login_hints.items() if pid == person.id), None)
    if hint is None:
        hint = "O." + secrets.token_urlsafe(32)
        em.login_hints[hint] = person.id
    return hint


def hinted_person(em, hint: str | None) -> User | None:
    """The person a login_hint/logout_hint names: an opaque hint this emulator issued, or a sign-in
    name (UPN or email, case-insensitive)."""
    if not hint:
        return None
    person_id = em.login_hints.get(hint.strip())
    if person_id is not None:
        return em.directory.user(person_id)
    return em.directory.person_by_name(hint)


def id_token_claims(em, user: User, app: AppRegistration, oidc, auth_time: float | None) -> dict:
    """The ID token's claims about the account (beyond aud/iss/oid/tid, which the caller sets)."""
    claims = {}
    if "profile" in oidc:
        claims.update(name=user.display_name, preferred_username=sign_in_name(em, user))
    if user.mail and ("email" in oidc or user.guest):       # guests get email by default
        claims["email"] = user.mail
    idp = identity_provider(em, user)
    if idp:
        claims["idp"] = idp
    claims.update(optional_claims(em, user, app, "id_token", oidc, auth_time))
    return claims


def access_token_claims(em, user: User, resource_app: AppRegistration | None, version: int,
                        auth_time: float | None = None) -> dict:
    """A delegated access token's claims about the account, for a v1 or v2 token."""
    claims = {}
    if version == 1:
        if user.guest:       # no upn for guests: unique_name carries the home sign-in name
            home = em.directory.home_of(user)
            claims["unique_name"] = (f"{LIVE_IDP}#" if home.personal else "") + home.user_principal_name
            if user.mail:
                claims["email"] = user.mail
        else:
            claims.update(upn=user.user_principal_name, unique_name=user.user_principal_name)
    else:
        claims["preferred_username"] = sign_in_name(em, user)
    idp = identity_provider(em, user)
    if idp:
        claims["idp"] = idp
    if resource_app is not None:
        claims.update(optional_claims(em, user, resource_app, "access_token", {"profile"}, auth_time))
    return claims


def optional_claims(em, user: User, app: AppRegistration, token_type: str, oidc,
                    auth_time: float | None) -> dict:
    """The optional claims ``app`` asks for in this token type (only those; none by default)."""
    claims = {}
    for name in app.optional_claims.get(token_type, ()):
        if name == "acct":
            claims["acct"] = 1 if user.guest else 0
        elif name == "login_hint":
            claims["login_hint"] = login_hint(em, user)
        elif name == "email" and user.mail:
            claims["email"] = user.mail
        elif name == "auth_time" and auth_time is not None:
            claims["auth_time"] = int(auth_time)
        elif "profile" in oidc and name == "given_name" and user.given_name:
            claims["given_name"] = user.given_name
        elif "profile" in oidc and name == "family_name" and user.surname:
            claims["family_name"] = user.surname
        elif "profile" in oidc and name == "upn" and not (user.guest or user.personal):
            claims["upn"] = user.user_principal_name    # guests: only with additional properties
    return claims
