"""RSA signing keys (with JWKS and rollover) and certificates for client assertions."""
from __future__ import annotations

import base64
import datetime
import hashlib
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_POOL: list[rsa.RSAPrivateKey] = []
_POOL_SIZE = 8
_POOL_LOCK = threading.Lock()
_counter = 0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _pooled_key() -> rsa.RSAPrivateKey:
    """Return an RSA key; keys are made once per process and handed out in turn (2048-bit keys
    take tens of milliseconds each, and a test suite builds many emulators)."""
    global _counter
    with _POOL_LOCK:
        index = _counter % _POOL_SIZE
        _counter += 1
        if index >= len(_POOL):
            _POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _POOL[index]


def _self_signed(key, common_name: str, days: int = 730) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))


class SigningKey:
    """One of the emulator's token-signing keys, published in the JWKS."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self.private_key = private_key or _pooled_key()
        self.certificate = _self_signed(self.private_key, "accounts.accesscontrol.windows.net")
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        self.kid = b64url(hashlib.sha1(der).digest())        # Entra: kid == x5t
        self._x5c = base64.b64encode(der).decode("ascii")

    @property
    def public_key(self):
        return self.private_key.public_key()

    def jwk(self, issuer: str) -> dict:
        numbers = self.public_key.public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                "n": _uint_b64(numbers.n), "e": _uint_b64(numbers.e), "x5c": [self._x5c],
                "cloud_instance_name": "microsoftonline.com", "issuer": issuer}


class KeySet:
    """The published keys: one signs, the others are published for rollover."""

    def __init__(self, count: int = 2) -> None:
        self.keys = [SigningKey() for _ in range(count)]
        self.active = self.keys[0]

    def get(self, kid: str | None) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def rotate(self, *, retire_old: bool = False, publish_first: bool = True) -> SigningKey:
        """Start signing with a new key.

        With ``publish_first`` the new key is the one already published as "next" (what Entra
        does); without it, a brand-new key nobody has seen signs from now on, which is what a
        client's "unknown kid, refetch the JWKS" path must handle.
        """
        upcoming = [k for k in self.keys if k is not self.active]
        new = upcoming[0] if (publish_first and upcoming) else SigningKey()
        if new not in self.keys:
            self.keys.append(new)
        old, self.active = self.active, new
        if retire_old:
            self.keys.remove(old)
        if len(self.keys) < 2:
            self.keys.append(SigningKey())
        return new

    def jwks(self, issuer: str) -> dict:
        return {"keys": [k.jwk(issuer) for k in self.keys]}


@dataclass
class Certificate:
    """A client certificate: what an app owner keeps (private key) and registers (certificate)."""
    private_key_pem: str
    certificate_pem: str
    thumbprint: str          # SHA-1, hex, as the Azure portal shows it
    thumbprint_sha256: str   # hex

    def msal_credential(self, *, sha1: bool = False) -> dict:
        """Return msal's ``client_credential`` dict (PS256 + x5c by default, RS256 + x5t with sha1)."""
        if sha1:
            return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}


def create_certificate(common_name: str = "graph-auth-test") -> Certificate:
    """Make a key pair and a self-signed certificate for certificate credentials in tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, common_name)
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode(),
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper())


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def certificate_thumbprints(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """Return the (SHA-1, SHA-256) digests of a certificate's DER encoding."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).digest(), hashlib.sha256(der).digest()
