"""Password hashing and token hashing."""

from __future__ import annotations

from ionscape.service.security import hash_password, new_api_key, token_hash, verify_password


def test_password_round_trip():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert hash_password("correct horse battery") != stored  # salted
    assert not verify_password("x", "garbage") and not verify_password("x", "bcrypt$1$2$3$4$5")


def test_token_hash_is_keyed():
    key = new_api_key()
    assert key.startswith("isk_") and len(key) > 40
    assert token_hash(key, "a") == token_hash(key, "a") != token_hash(key, "b")
    assert len(token_hash(key, "a")) == 64
