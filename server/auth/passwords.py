"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import ApiError
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


# The most used passwords (leaked-password lists, Chinese and international): refused
# whatever their length.
COMMON = frozenset(
    [
        "123456",
        "12345678",
        "123456789",
        "1234567890",
        "12345",
        "1234567",
        "111111",
        "11111111",
        "000000",
        "00000000",
        "123123",
        "123321",
        "654321",
        "666666",
        "888888",
        "88888888",
        "66666666",
        "112233",
        "121212",
        "123654",
        "147258",
        "147258369",
        "159357",
        "520520",
        "5201314",
        "1314520",
        "woaini",
        "woaini1314",
        "iloveyou",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
        "1qaz2wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "qazwsx",
        "abc123",
        "abc12345",
        "abc123456",
        "a123456",
        "a12345678",
        "aa123456",
        "admin",
        "admin123",
        "admin888",
        "root123",
        "welcome",
        "welcome1",
        "letmein",
        "monkey",
        "dragon",
        "sunshine",
        "football",
        "baseball",
        "superman",
        "trustno1",
        "secret",
        "secret123",
        "changeme",
        "test1234",
        "testtest",
        "anxin1234",
        "anxin123",
        "anxin888",
        "12341234",
        "11223344",
        "98765432",
        "987654321",
        "abcd1234",
    ]
)
MIN_LENGTH = 8


def check_new_password(password: str, *names: str | None) -> None:
    """Refuse a password that is short, common, or the user's own login, phone or name
    (or one of those with a few characters added): the first thing a guesser tries."""
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        raise ApiError(
            422,
            "password_too_short",
            f"the password needs at least {MIN_LENGTH} characters",
            min_length=MIN_LENGTH,
        )
    if lowered in COMMON or len(set(lowered)) <= 2:
        raise ApiError(422, "password_too_common", "this password is too common; choose another")
    for name in names:
        n = (name or "").strip().lower()
        if len(n) >= 3 and (n in lowered or lowered in n):
            raise ApiError(
                422, "password_like_name", "the password must not contain your name, login or phone"
            )
