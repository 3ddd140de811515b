"""Names the whole emulator shares: the served hosts, well-known ids and the fault answers.

A leaf module: it imports nothing of the emulator, so any module may import it.
"""
from __future__ import annotations

LOGIN_HOST = "login.microsoftonline.com"
GRAPH_HOST = "graph.microsoft.com"
ROUTED_HOSTS = (LOGIN_HOST, GRAPH_HOST)

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_URI = "https://graph.microsoft.com"
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"   # personal Microsoft accounts

# What a forced fault (``Emulator.fail_next``) answers when the test gives no body of its own.
GRAPH_FAULT_CODES = {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "accessDenied",
                     404: "itemNotFound", 429: "TooManyRequests", 500: "generalException",
                     503: "serviceNotAvailable", 504: "gatewayTimeout"}
GRAPH_FAULT_MESSAGES = {"TooManyRequests": "Please retry again later.",
                        "serviceNotAvailable": "The service is temporarily unavailable. Please retry later.",
                        "gatewayTimeout": "The gateway timed out."}
IDENTITY_FAULTS = {         # status -> (error, AADSTS code, description)
    400: ("invalid_request", 900144, "The request is not valid."),
    429: ("temporarily_unavailable", 50196,
          "The server terminated an operation because it encountered a client request loop. "
          "Please contact your app vendor."),
    500: ("server_error", 50000, "There was an error issuing a token or an issue with our sign-in service."),
    503: ("temporarily_unavailable", 50089, "The service is temporarily unavailable."),
}
