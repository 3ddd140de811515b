"""Encryption at rest for token caches: Fernet, with key rotation through MultiFernet.

Keys come from GRAPH_AUTH["CACHE_ENCRYPTION_KEYS"] (Fernet keys, newest first). By default they are
derived from SECRET_KEY and SECRET_KEY_FALLBACKS with HKDF, so rotating SECRET_KEY the Django way
(new key first, old one in the fallbacks) keeps existing caches readable.
"""
from __future__ import annotations

import base64
import functools
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .app_settings import app_settings
from .exceptions import GraphAuthConfigError

logger = logging.getLogger(__name__)


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"graph_auth", info=b"token-cache-v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret if isinstance(secret, bytes) else secret.encode()))


def _keys() -> tuple[bytes, ...]:
    configured = app_settings.CACHE_ENCRYPTION_KEYS
    if configured:
        return tuple(k.encode() if isinstance(k, str) else k for k in configured)
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(_derive(s) for s in secrets)


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:   # not 32 url-safe base64-encoded bytes
        raise GraphAuthConfigError(
            "GRAPH_AUTH['CACHE_ENCRYPTION_KEYS'] must be a list of Fernet keys, newest first; make "
            "one with graph_auth.crypto.generate_key().") from exc


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    return _fernet(_keys()).encrypt(plaintext.encode()).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str | None:
    """Return the plaintext, or None when no current key opens it (the cache is then lost)."""
    if not token:
        return None
    try:
        return _fernet(_keys()).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):      # another key, or not a Fernet token at all
        logger.warning("a token cache could not be decrypted with the current keys; ignoring it")
        return None


def generate_key() -> str:
    """Return a new Fernet key (for CACHE_ENCRYPTION_KEYS)."""
    return Fernet.generate_key().decode()
