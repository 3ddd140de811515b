"""Graph user endpoints: /me, /users, photos, group memberships, revokeSignInSessions, userinfo."""
from __future__ import annotations

import hashlib
import time
from importlib import resources

from .. import tokens
from ..errors import GraphError
from ..objects import User
from ..wsgi_io import load_json
from .context import require, unauthorized
from .odata import GRAPH_ROOT, Result, bad_request, metadata, page, require_eventual_count, root, select

USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
USER_EXTRA = ("accountEnabled", "signInSessionsValidFromDateTime", "userType")
READ_SELF = {"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All",
             "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
             "Directory.AccessAsUser.All"}
READ_OTHERS = READ_SELF - {"User.Read", "User.ReadWrite"}
READ_OTHERS_FULL = READ_OTHERS - {"User.ReadBasic.All"}
# What User.ReadBasic.All reads of other users (the photo has its own endpoints); the rest is absent.
BASIC_PROFILE = ("displayName", "givenName", "surname", "mail", "userPrincipalName", "id")
READ_OTHERS_APP = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
GROUPS_OTHERS = READ_OTHERS | {"GroupMember.Read.All", "Group.Read.All"}
GROUPS_APP = READ_OTHERS_APP | {"GroupMember.Read.All", "Group.Read.All"}
REVOKE = {"User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def user_json(user: User) -> dict:
    if user.personal:
        return personal_json(user)
    return {"businessPhones": list(user.business_phones), "displayName": user.display_name,
            "givenName": user.given_name, "jobTitle": user.job_title, "mail": user.mail,
            "mobilePhone": user.mobile_phone, "officeLocation": user.office_location,
            "preferredLanguage": user.preferred_language, "surname": user.surname,
            "userPrincipalName": user.user_principal_name, "id": user.id}


def personal_json(user: User) -> dict:
    """The profile Graph returns for a personal Microsoft account: a short hex id, no mail."""
    return {"displayName": user.display_name, "surname": user.surname, "givenName": user.given_name,
            "id": personal_graph_id(user), "userPrincipalName": user.user_principal_name,
            "businessPhones": [], "jobTitle": None, "mail": None, "mobilePhone": None,
            "officeLocation": None, "preferredLanguage": None}


def personal_graph_id(user: User) -> str:
    """Graph's id of a personal account: the 16 hex digits its token oid ends with."""
    return user.id.replace("-", "")[-16:]


def _full_json(user: User) -> dict:
    if user.personal:
        return personal_json(user)
    return {**user_json(user), "accountEnabled": user.enabled,
            "signInSessionsValidFromDateTime": _iso(user.sessions_valid_from),
            "userType": user.user_type}


def not_for_personal_accounts(user: User, path: str) -> GraphError:
    """What Graph answers a personal account on an API that only exists for work accounts."""
    cid = personal_graph_id(user)
    return GraphError(404, "", "No HTTP resource was found that matches the request URI "
                               f"'https://outlook.office365.com:444/profile/v1.0/users('CID:{cid}')/profile"
                               f"/{path}?api-version=AGSV1-internal'.")


def find(em, ctx, key: str) -> User:
    user = em.directory.user(key.lower()) or next(        # an id or a UPN; a mail is no key
        (u for u in em.directory.users_in(ctx.tenant_id) if u.user_principal_name.lower() == key.lower()),
        None)
    if user is not None and user.personal and not _is_self(ctx, user):
        user = None                      # the consumers "tenant" is no directory to browse
    if user is None or user.tenant_id != ctx.tenant_id:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{key}' does not exist or one of its queried reference-property "
                         "objects are not present.")
    return user


def _is_self(ctx, user: User) -> bool:
    return ctx.user is not None and ctx.user.id == user.id


def _readable(ctx, user: User, query) -> tuple[dict, list[str] | None]:
    """Return (the user as the caller may read it, the $select names). With User.ReadBasic.All
    alone, another user's properties outside the basic profile are absent, selected or not."""
    extra = () if user.personal else USER_EXTRA
    obj, names = select(_full_json(user), query, USER_DEFAULT + extra, "user")
    if names is None:
        obj = user_json(user)
    if not (ctx.app_only or _is_self(ctx, user) or ctx.scopes & READ_OTHERS_FULL):
        obj = {k: v for k, v in obj.items() if k in BASIC_PROFILE}
    return obj, names


def get_user(em, ctx, user: User, *, query, path, **_) -> Result:
    require(ctx, READ_SELF if _is_self(ctx, user) else READ_OTHERS, READ_OTHERS_APP)
    obj, names = _readable(ctx, user, query)
    context = f"users({','.join(names)})/$entity" if names else "users/$entity"
    return Result(200, {"@odata.context": metadata(path, context), **obj})


def list_users(em, ctx, query, path, headers=None) -> Result:
    if ctx.user is not None and ctx.user.personal:
        raise not_for_personal_accounts(ctx.user, "users")
    require(ctx, READ_OTHERS, READ_OTHERS_APP)
    if "$filter" in query or "$search" in query or "$orderby" in query:
        raise bad_request("The emulator does not support $filter, $search or $orderby on /users.",
                          "Request_UnsupportedQuery")
    require_eventual_count(query, headers)
    people = sorted(em.directory.users_in(ctx.tenant_id), key=lambda u: u.user_principal_name)
    items = [_readable(ctx, u, query)[0] for u in people]
    return page(items, query, path, default=100, maximum=999, context="users")


def _photo_bytes(user: User) -> bytes:
    if not user.photo:
        raise GraphError(404, "ImageNotFound",
                         "Exception of type 'Microsoft.Fast.Profile.Core.Exception."
                         "ImageNotFoundException' was thrown.")
    return resources.files("graph_auth.emulator").joinpath("assets", user.photo).read_bytes()


def photo_value(em, ctx, user: User, **_) -> Result:
    require(ctx, READ_SELF if _is_self(ctx, user) else READ_OTHERS, READ_OTHERS_APP)
    data = _photo_bytes(user)
    return Result(200, data, {"Content-Type": "image/jpeg",
                              "ETag": f'"{hashlib.sha1(data).hexdigest()}"'})


def photo_metadata(em, ctx, user: User, *, path, **_) -> Result:
    require(ctx, READ_SELF if _is_self(ctx, user) else READ_OTHERS, READ_OTHERS_APP)
    data = _photo_bytes(user)
    width, height = _jpeg_size(data)
    return Result(200, {
        "@odata.context": metadata(path, f"users('{user.id}')/photo/$entity"),
        "@odata.id": f"{root(path)}/users('{user.id}')/photo",
        "@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": f'"{hashlib.sha1(data).hexdigest()}"',
        "id": f"{width}X{height}", "height": height, "width": width})


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Read width and height from a JPEG's SOF marker."""
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xC3:
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return 0, 0


_GROUP_FIELDS = ("id", "displayName", "securityEnabled", "mailEnabled", "groupTypes")


def _group_json(group) -> dict:
    return {"@odata.type": "#microsoft.graph.group", "id": group.id,
            "displayName": group.display_name, "securityEnabled": group.security_enabled,
            "mailEnabled": not group.security_enabled, "groupTypes": []}


def member_of(em, ctx, user: User, *, query, path, headers=None, transitive=False, **_) -> Result:
    require(ctx, READ_SELF if _is_self(ctx, user) else GROUPS_OTHERS, GROUPS_APP)
    require_eventual_count(query, headers)
    groups = [_group_json(g) for g in em.directory.groups_of(user, transitive=transitive)]
    select({}, query, _GROUP_FIELDS, "group")          # unknown names: 400 even with no groups
    items = [select(g, query, _GROUP_FIELDS, "group", keep=("@odata.type",))[0] for g in groups]
    return page(items, query, path, default=100, maximum=999, context="directoryObjects")


def transitive_member_of(em, ctx, user: User, **kwargs) -> Result:
    """The user's groups, direct and through nested groups (memberOf lists direct ones only)."""
    return member_of(em, ctx, user, transitive=True, **kwargs)


def get_member_objects(em, ctx, user: User, *, body, path, **_) -> Result:
    require(ctx, READ_SELF if _is_self(ctx, user) else GROUPS_OTHERS, GROUPS_APP)
    data = _json_body(body)
    if not isinstance(data, dict) or not isinstance(data.get("securityEnabledOnly"), bool):
        raise bad_request("The parameter 'securityEnabledOnly' is required and must be a boolean.",
                          "Request_BadRequest")
    ids = [g.id for g in em.directory.groups_of(user, security_only=data["securityEnabledOnly"],
                                                transitive=True)]
    return Result(200, {"@odata.context": metadata(path, "Collection(Edm.String)"),
                        "value": ids})


def revoke_sign_in_sessions(em, ctx, user: User, *, path, **_) -> Result:
    if user.personal:
        raise not_for_personal_accounts(user, "revokeSignInSessions")
    require(ctx, REVOKE, REVOKE)
    if not user.guest:      # guests sign in at home: Graph says true but their sessions go on
        em.revoke_sessions(user)
    return Result(200, {"@odata.context": metadata(path, "Edm.Boolean"), "value": True})


def userinfo(em, ctx) -> Result:
    """OIDC UserInfo: ``sub`` is the ID token's (pairwise for the calling app, OIDC Core 5.3.2),
    not the access token's, and claims the user lacks are left out."""
    if ctx.app_only:
        raise unauthorized("The UserInfo endpoint needs a delegated (user) access token.")
    u = ctx.user
    client_id = ctx.claims.get("appid") or ctx.claims.get("azp") or ""
    info = {"sub": tokens.pairwise_sub(u, client_id), "name": u.display_name,
            "family_name": u.surname, "given_name": u.given_name,
            "picture": f"{GRAPH_ROOT}/v1.0/me/photo/$value", "email": u.mail}
    return Result(200, {k: v for k, v in info.items() if v is not None})


def _json_body(body):
    """Parse a request body: bytes (top level), or what a $batch request carried (JSON value)."""
    if body is None or isinstance(body, (dict, list, bool, int, float)):
        return body
    try:
        return load_json(body or "null")
    except ValueError:
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header "
                          "is set and payload is of valid JSON format.", "BadRequest") from None
