"""Passwords (scrypt), random tokens and their keyed hashes (sessions, API keys, review links)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_BYTES = 32
API_KEY_PREFIX = "isk_"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` with a random 16-byte salt (base64 fields)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a :func:`hash_password` string (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    return hmac.compare_digest(_scrypt(password, base64.b64decode(salt), int(n), int(r), int(p)), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=SCRYPT_BYTES, maxmem=256 * n * r * p
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_token() -> str:
    """A random URL-safe token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    """A new API key: ``isk_`` followed by a random token."""
    return API_KEY_PREFIX + new_token()


def token_hash(token: str, secret_key: str) -> str:
    """Keyed SHA-256 (HMAC) of a token: what the database stores instead of the token."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
