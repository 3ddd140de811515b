"""Encryption at rest for token caches: Fernet, with key rotation through MultiFernet.

Keys come from GRAPH_AUTH["CACHE_ENCRYPTION_KEYS"] (Fernet keys, newest first). By default they are
derived from SECRET_KEY and SECRET_KEY_FALLBACKS with HKDF, so rotating SECRET_KEY the Django way
(new key first, old one in the fallbacks) keeps existing caches readable.

Each ciphertext is bound to the row it belongs to (a ``context`` such as ``user:42``, inside the
authenticated plaintext): a blob copied into another user's row does not decrypt there.

Derived keys are cached per process, keyed on the secrets themselves, so a changed SECRET_KEY (or
``override_settings`` in a test) takes effect at once. ``counters`` tells benchmarks and tests how
often the costly steps ran (decryptions, encryptions, key derivations).
"""
from __future__ import annotations

import base64
import functools
import logging
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .app_settings import app_settings
from .exceptions import GraphAuthConfigError

logger = logging.getLogger(__name__)


class Counters:
    """How often this process decrypted, encrypted and derived keys (read them, or ``reset()``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.decrypts = self.encrypts = self.derivations = 0

    def count(self, name: str) -> None:
        with self._lock:              # exact under threads too: a benchmark counts a whole herd
            setattr(self, name, getattr(self, name) + 1)

    def snapshot(self) -> dict:
        with self._lock:
            return {"decrypts": self.decrypts, "encrypts": self.encrypts, "derivations": self.derivations}


counters = Counters()


def _derive(secret: str) -> bytes:
    counters.count("derivations")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"graph_auth", info=b"token-cache-v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret if isinstance(secret, bytes) else secret.encode()))


@functools.lru_cache(maxsize=8)
def _derived(secrets: tuple) -> tuple[bytes, ...]:
    # Keyed on the secrets: HKDF runs once per process and set of secrets, not on every use.
    return tuple(_derive(s) for s in secrets)


def _keys() -> tuple[bytes, ...]:
    configured = app_settings.CACHE_ENCRYPTION_KEYS
    if configured:
        return tuple(k.encode() if isinstance(k, str) else k for k in configured)
    return _derived((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])))


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:   # not 32 url-safe base64-encoded bytes
        raise GraphAuthConfigError(
            "GRAPH_AUTH['CACHE_ENCRYPTION_KEYS'] must be a list of Fernet keys, newest first; make "
            "one with graph_auth.crypto.generate_key().") from exc


BOUND = "graph_auth:v2:"          # plaintext = BOUND + context + "\n" + data


@sensitive_variables()
def encrypt(plaintext: str, context: str) -> str:
    """Encrypt ``plaintext`` for the row named by ``context`` (no newline in it)."""
    if "\n" in context:
        raise ValueError("an encryption context has no newline")
    counters.count("encrypts")
    return _fernet(_keys()).encrypt(f"{BOUND}{context}\n{plaintext}".encode()).decode("ascii")


@sensitive_variables()
def decrypt(token: str, context: str) -> str | None:
    """Return the plaintext encrypted for ``context``, or None when no current key opens it or
    it was encrypted for another row (the cache is then lost: the user signs in again)."""
    plain = decrypt_unbound(token)
    if plain is None:
        return None
    header, _, data = plain.partition("\n")
    if header != f"{BOUND}{context}":
        logger.warning("a token cache was encrypted for another row (or by the first release); ignoring it")
        return None
    return data


@sensitive_variables()
def decrypt_unbound(token: str) -> str | None:
    """Return whatever plaintext a current key opens (the first release's caches had no context)."""
    if not token:
        return None
    counters.count("decrypts")
    try:
        return _fernet(_keys()).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):      # another key, or not a Fernet token at all
        logger.warning("a token cache could not be decrypted with the current keys; ignoring it")
        return None


@sensitive_variables()
def unbind(token: str) -> str | None:
    """The first release's ciphertext (bound to no row) of a bound one, for migrating back to it;
    None when no current key opens ``token`` or it is not bound."""
    plain = decrypt_unbound(token)
    if plain is None or not plain.startswith(BOUND):
        return None
    counters.count("encrypts")
    return _fernet(_keys()).encrypt(plain.partition("\n")[2].encode()).decode("ascii")


def generate_key() -> str:
    """Return a new Fernet key (for CACHE_ENCRYPTION_KEYS)."""
    return Fernet.generate_key().decode()
