"""OData bits Graph uses: $select, $top, paging with @odata.nextLink, results and errors."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ..errors import GraphError
from ..wsgi_io import load_json

GRAPH_ROOT = "https://graph.microsoft.com"
JSON_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
             "IEEE754Compatible=false;charset=utf-8")


@dataclass
class Result:
    status: int = 200
    body: object = None                   # JSON-able, or bytes for media
    headers: dict = field(default_factory=dict)


def root(path: str) -> str:
    """The service root a request was made against: .../v1.0 or .../beta (from its path)."""
    version = path.lstrip("/").split("/", 1)[0]
    return f"{GRAPH_ROOT}/{version if version in ('v1.0', 'beta') else 'v1.0'}"


def metadata(path: str, fragment: str) -> str:
    return f"{root(path)}/$metadata#{fragment}"


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def select(obj: dict, query: dict, allowed, type_name: str,
           keep=()) -> tuple[dict, list[str] | None]:
    """Apply $select (case-insensitive property names); return (object, selected names).

    Directory objects return only what was selected; ``keep`` names what comes back anyway
    (Outlook items always carry their ``id``, directory collections their ``@odata.type``).
    """
    raw = query.get("$select")
    if raw is None or not raw.strip():
        return obj, None
    names = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        match = next((a for a in allowed if a.lower() == name.lower()), None)
        if match is None:
            raise bad_request(f"Could not find a property named '{name}' on type "
                              f"'microsoft.graph.{type_name}'.", "Request_BadRequest")
        if match not in names:
            names.append(match)
    if not names:
        raise bad_request(f"Syntax error: '{raw}' is not a valid $select.", "BadRequest")
    return {k: v for k, v in obj.items() if k in names or k in keep}, names


_INT32_MAX = 2 ** 31 - 1                # $top and $skip are Edm.Int32 in Graph's model


def _whole_number(raw: str) -> int | None:
    """``raw`` as a whole number that fits Graph's Int32, else None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:   # "²".isdigit() is True
        return None
    value = int(raw)
    return value if value <= _INT32_MAX else None


def top(query: dict, default: int, maximum: int) -> int:
    raw = query.get("$top")
    if raw is None:
        return default
    value = _whole_number(raw)
    if value is None or not 1 <= value <= maximum:
        raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} "
                          "inclusive.", "Request_UnsupportedQuery")
    return value


def count_requested(query: dict) -> bool:
    raw = query.get("$count")
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise bad_request(f"Invalid value '{raw}' for $count: expected true or false.", "BadRequest")
    return raw.lower() == "true"


def require_eventual_count(query: dict, headers: dict | None) -> None:
    """Directory objects only count with the advanced-query header ``ConsistencyLevel: eventual``."""
    if count_requested(query) and (headers or {}).get("consistencylevel", "").lower() != "eventual":
        raise bad_request("$count on directory objects needs the header ConsistencyLevel: eventual.",
                          "Request_BadRequest")


# Skip tokens are opaque to clients: the emulator's carry the offset and a MAC over it and the
# collection, so a tampered token, or one taken from another collection, is a 400 (never a 500).
_SKIPTOKEN_KEY = secrets.token_bytes(32)


def _mac(collection: str, offset: int) -> str:
    digest = hmac.new(_SKIPTOKEN_KEY, f"{collection.lower()}|{offset}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def encode_skiptoken(offset: int, collection: str = "") -> str:
    data = json.dumps({"o": offset, "m": _mac(collection, offset)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_skiptoken(token: str, collection: str = "") -> int:
    try:
        data = load_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
        if (type(offset) is int and offset >= 0 and isinstance(data.get("m"), str)
                and hmac.compare_digest(data["m"], _mac(collection, offset))):
            return offset
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise bad_request(f"Invalid $skiptoken value '{token}'.", "Request_BadRequest")


def page(items: list, query: dict, path: str, *, default: int, maximum: int, context: str,
         skip_style: bool = False) -> Result:
    """Return one page of ``items`` with an absolute @odata.nextLink when more remain."""
    size = top(query, default, maximum)
    if skip_style:
        raw = query.get("$skip", "0")
        offset = _whole_number(raw)
        if offset is None:
            raise bad_request(f"Invalid $skip value '{raw}'.", "ErrorInvalidUrlQuery")
    else:
        if "$skip" in query:
            raise bad_request("'$skip' is not supported by the service.", "Request_BadRequest")
        offset = decode_skiptoken(query["$skiptoken"], path) if "$skiptoken" in query else 0
    body = {"@odata.context": metadata(path, context)}
    if count_requested(query) and offset == 0:
        body["@odata.count"] = len(items)
    body["value"] = items[offset:offset + size]
    if offset + size < len(items):
        rest = {k: v for k, v in query.items() if k not in ("$skiptoken", "$skip")}
        rest.update({"$skip": str(offset + size)} if skip_style
                    else {"$skiptoken": encode_skiptoken(offset + size, path)})
        body["@odata.nextLink"] = f"{GRAPH_ROOT}{path}?{urlencode(rest, safe='$,()')}"
    return Result(200, body)
