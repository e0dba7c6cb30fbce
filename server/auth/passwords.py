"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.settings import fast_password_hash

# The test suite signs in thousands of times; it sets a cheap (still argon2id) profile.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if fast_password_hash()
    else PasswordHasher()
)
# Verifying against this keeps the time of "no such user" close to "wrong password".
_DUMMY = _hasher.hash("anxin-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
