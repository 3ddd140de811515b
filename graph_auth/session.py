"""What graph_auth keeps in the Django session (keys prefixed ``graph_auth_``), in one place."""
from __future__ import annotations

import time

FLOWS_KEY = "graph_auth_flows"          # state -> {"flow": msal flow, "next": url, "at": epoch}
TOKEN_KEY = "graph_auth_token"          # {"account", "refresh_at", "expires_at", "scopes"}
LOGIN_HINT_KEY = "graph_auth_login_hint"
SID_KEY = "graph_auth_sid"
REAUTH_KEY = "graph_auth_reauth"        # what the next sign-in must ask for: {"scopes", "claims"}
CONSENT_ASKED_KEY = "graph_auth_consent_asked"   # a Graph 403 sent the user to consent: {"next", "at"}
MAX_FLOWS = 5                           # sign-ins started in several tabs at once
FLOW_LIFETIME = 3600


def save_flow(session, flow: dict, next_url: str) -> None:
    flows = {s: f for s, f in session.get(FLOWS_KEY, {}).items()
             if time.time() - f.get("at", 0) < FLOW_LIFETIME}
    flows[flow["state"]] = {"flow": flow, "next": next_url, "at": time.time()}
    session[FLOWS_KEY] = dict(sorted(flows.items(), key=lambda kv: kv[1]["at"])[-MAX_FLOWS:])


def pop_flow(session, state: str | None) -> dict | None:
    """Take the flow started for ``state`` out of the session (a callback is used once)."""
    flows = dict(session.get(FLOWS_KEY, {}))
    entry = flows.pop(state, None) if state else None
    if entry is not None:
        session[FLOWS_KEY] = flows
        if time.time() - entry.get("at", 0) >= FLOW_LIFETIME:
            return None
    return entry


def set_token_status(session, account_id: str, status: dict) -> None:
    value = {"account": account_id, "refresh_at": status.get("refresh_at"),
             "expires_at": status.get("expires_at"), "scopes": status.get("scopes", [])}
    if session.get(TOKEN_KEY) != value:        # unchanged: the session is not saved again
        session[TOKEN_KEY] = value


def token_status(session) -> dict | None:
    return session.get(TOKEN_KEY)
