"""Log hygiene: request-supplied text made safe for a log line, and msal's records kept free of secrets.

``clean(value)`` is for every value from a request or an identity-platform answer that graph_auth
puts in a log line. ``install_msal_filter()`` (called by the app's ``ready()``) puts
``MsalSecretsFilter`` on msal's loggers: msal masks refresh tokens in its DEBUG records but not
the authorization ``code`` or the PKCE ``code_verifier``.
"""
from __future__ import annotations

import logging
import re
import unicodedata

LIMIT = 200                       # characters of one value in a log line, after escaping

# Names under which secrets travel: token-endpoint fields, token responses, msal cache entries.
SECRET_FIELDS = ("code", "code_verifier", "client_secret", "client_assertion", "assertion", "access_token",
                 "refresh_token", "id_token", "secret", "password", "device_code", "client_claims")
# SECRET_FIELDS plus the names of graph_auth's own locals that hold token values: what an error
# reporter that ignores Django's sensitive_variables (Sentry and the like) should scrub.
SENSITIVE_NAMES = (*SECRET_FIELDS, "token", "hit", "result", "flow", "params", "serialized", "plaintext",
                   "authorization", "headers", "private_key")

# msal modules that log (some are imported only on demand, after ready(): name them up front).
MSAL_LOGGERS = ("msal", "msal.application", "msal.token_cache", "msal.authority", "msal.telemetry",
                "msal.region", "msal.managed_identity", "msal.wstrust_request", "msal.mex",
                "msal.cloudshell", "msal.broker", "msal.throttled_http_client", "msal.oauth2cli.oauth2",
                "msal.oauth2cli.oidc", "msal.oauth2cli.authcode", "msal.oauth2cli.assertion",
                "msal.oauth2cli.http")
MASK = "********"

_FIELDS = "|".join(SECRET_FIELDS)
_SECRETS = [
    # "field": "value" (JSON) and 'field': 'value' (a dict's repr)
    (re.compile(rf'(["\'])({_FIELDS})\1(\s*:\s*)(["\'])(?:\\.|(?!\4).)*\4'), rf"\1\2\1\3\4{MASK}\4"),
    # field=value (form bodies, query strings)
    (re.compile(rf"\b({_FIELDS})=[^&\s\"',;)]+"), rf"\1={MASK}"),
    # Authorization header values
    (re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE), rf"\1 {MASK}"),
    # any JWT (ID tokens, access tokens, client assertions), whatever carries it
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), MASK),
]


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):      # line breaks, bidi overrides, ...
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def clean(value, limit: int = LIMIT) -> str:
    """Return ``value`` as one log-safe line: control characters escaped, at most ``limit``
    characters (plus a note of how much was cut)."""
    text = value if isinstance(value, str) else str(value)
    out, size = [], 0
    for index, char in enumerate(text):
        piece = _escape(char)
        if size + len(piece) > limit:
            return "".join(out) + f"...[{len(text) - index} more characters]"
        out.append(piece)
        size += len(piece)
    return "".join(out)


def redact(text: str) -> str:
    """Return ``text`` with the values of secret fields, Authorization values and JWTs masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class MsalSecretsFilter(logging.Filter):
    """Redact codes, verifiers, assertions and tokens from a record before any handler sees it.

    The record keeps its level and logger; its message becomes the redacted text with no ``args``
    left (handlers such as Sentry's read ``args`` separately), and an exception's text is
    redacted likewise (``exc_info`` is dropped: its frames and values are not logged).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — msal's own formatting mistake: keep what can be kept
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = MsalSecretsFilter()


def install_msal_filter() -> None:
    """Put the filter on every msal logger, known or already created.

    On the loggers, not on handlers: a site's LOGGING replaces handlers, never loggers' filters.
    On each logger, not just ``msal``: a logger's filters only see records logged on that very
    logger, not those its children propagate to it.
    """
    import msal  # noqa: F401  (creates msal's loggers)
    names = set(MSAL_LOGGERS) | {name for name in logging.root.manager.loggerDict
                                 if name == "msal" or name.startswith("msal.")}
    for name in sorted(names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
