"""OData bits Graph uses: $select, $top, paging with @odata.nextLink, results and errors."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ..errors import GraphError

GRAPH_ROOT = "https://graph.microsoft.com"
JSON_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
             "IEEE754Compatible=false;charset=utf-8")


@dataclass
class Result:
    status: int = 200
    body: object = None                   # JSON-able, or bytes for media
    headers: dict = field(default_factory=dict)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def select(obj: dict, query: dict, allowed, type_name: str) -> tuple[dict, list[str] | None]:
    """Apply $select (case-insensitive property names); return (object, selected names)."""
    raw = query.get("$select")
    if not raw:
        return obj, None
    names = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        match = next((a for a in allowed if a.lower() == name.lower()), None)
        if match is None:
            raise bad_request(f"Could not find a property named '{name}' on type "
                              f"'microsoft.graph.{type_name}'.", "Request_BadRequest")
        names.append(match)
    return {k: v for k, v in obj.items() if k in names or k == "id"}, names


def top(query: dict, default: int, maximum: int) -> int:
    raw = query.get("$top")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} "
                          "inclusive.", "Request_UnsupportedQuery")
    return int(raw)


def encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise bad_request("Invalid $skiptoken value.", "Request_BadRequest")


def page(items: list, query: dict, path: str, *, default: int, maximum: int, context: str,
         skip_style: bool = False) -> Result:
    """Return one page of ``items`` with an absolute @odata.nextLink when more remain."""
    size = top(query, default, maximum)
    if skip_style:
        raw = query.get("$skip", "0")
        if not raw.isdigit():
            raise bad_request(f"Invalid $skip value '{raw}'.", "ErrorInvalidUrlQuery")
        offset = int(raw)
    else:
        offset = decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else 0
    body = {"@odata.context": f"{GRAPH_ROOT}/v1.0/$metadata#{context}"}
    if query.get("$count") == "true" and offset == 0:
        body["@odata.count"] = len(items)
    body["value"] = items[offset:offset + size]
    if offset + size < len(items):
        rest = {k: v for k, v in query.items() if k not in ("$skiptoken", "$skip")}
        rest.update({"$skip": str(offset + size)} if skip_style
                    else {"$skiptoken": encode_skiptoken(offset + size)})
        body["@odata.nextLink"] = f"{GRAPH_ROOT}{path}?{urlencode(rest, safe='$,()')}"
    return Result(200, body)
