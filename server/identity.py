"""Chinese identity data: 18-character resident ID numbers, 11-digit mobiles, stations'
fixed lines, masking."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# A fixed line with its area code (010-6555 0000, 0571-8765 4321), or a short service
# number (12349, 96010): what a station's hotline usually is.
_LANDLINE_RE = re.compile(r"^0[1-9]\d{8,10}$")
_SERVICE_RE = re.compile(r"^(1\d{4}|9\d{4,5})$")
_LOCAL_RE = re.compile(r"^[2-9]\d{6,7}$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_id_number(raw: str) -> str:
    """Upper-case, strip, and verify an ID number; raises ValueError with the reason."""
    value = raw.strip().upper()
    if not _ID_RE.match(value):
        raise ValueError("ID number must be 17 digits followed by a digit or X")
    if id_check_digit(value[:17]) != value[17]:
        raise ValueError("ID number check digit does not match")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValueError("ID number holds an impossible birth date") from exc
    return value


def birth_date_from_id(value: str) -> str:
    return f"{value[6:10]}-{value[10:12]}-{value[12:14]}"


def sex_from_id(value: str) -> str:
    return "M" if int(value[16]) % 2 == 1 else "F"


def normalize_mobile(raw: str) -> str:
    """Accept 13812345678, +86 138 1234 5678, 86-138-1234-5678; return 11 digits."""
    digits = re.sub(r"[\s\-()]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE_RE.match(digits):
        raise ValueError("mobile number must be 11 digits starting with 1[3-9]")
    return digits


def _national(raw: str) -> str:
    """Digits as dialled inside China: +86 dropped, and a fixed line's area code regains its
    trunk 0 (+86 10 6555 0000 is 010 6555 0000)."""
    digits = re.sub(r"[\s\-()]", "", raw.strip())
    if not digits.startswith("+86"):
        return digits
    digits = digits[3:]
    return digits if _MOBILE_RE.match(digits) else "0" + digits


def normalize_station_phone(raw: str) -> str:
    """A station's number as its hotline rings: a mobile, a fixed line with its area code
    or a short service number, digits only (as the CTI reports the called number)."""
    digits = _national(raw)
    if _MOBILE_RE.match(digits) or _LANDLINE_RE.match(digits) or _SERVICE_RE.match(digits):
        return digits
    raise ValueError(
        "a mobile (11 digits), a fixed line with its area code (010-65550000) "
        "or a service number (12349)"
    )


def normalize_landline(raw: str) -> str:
    """An elder's fixed line (座机): with its area code (010-6555 0000), or the local number
    alone (6555 0000) as rosters often write it; digits only."""
    digits = _national(raw)
    if _LANDLINE_RE.match(digits) or _LOCAL_RE.match(digits):
        return digits
    raise ValueError("a fixed line: 7-8 digits, or with its area code (010-65550000)")


def same_line(stored: str, number: str) -> bool:
    """Whether a caller's number is this fixed line: the exchange may report a local call
    without the area code, and the file may hold the local number alone."""
    if stored == number:
        return True
    longer, shorter = (stored, number) if len(stored) > len(number) else (number, stored)
    return (
        _LOCAL_RE.match(shorter) is not None
        and longer.endswith(shorter)
        and _LANDLINE_RE.match(longer) is not None
    )


def mask_id_number(value: str | None) -> str | None:
    """First 3 and last 4 characters (110***********002X).

    The old mask kept the 6-digit region and hid exactly the 8 birth-date digits, which the
    same response then showed as ``birth_date``: the full number could be rebuilt. Masked
    views now show neither the birth date nor the district part of the region code.
    """
    if value is None:
        return None
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """138****8000; a fixed line keeps its area code's first digits (010****0000) or, local,
    only its last four (****0000)."""
    if value is None:
        return None
    if len(value) >= 10:
        return value[:3] + "****" + value[-4:]
    return "****" + value[-4:] if len(value) >= 7 else "****"


def make_id_number(region: str, birth: date, serial: int) -> str:
    """Build a valid ID number (for seeding demo data and tests)."""
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


# ----- unified social credit codes (统一社会信用代码, GB 32100-2015) ---------------------------

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def credit_code_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters (MOD 31)."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str:
    """Upper-case, strip and verify a unified social credit code; raises ValueError with the
    reason (length and characters, then the check character)."""
    value = raw.strip().upper()
    if not _CREDIT_RE.match(value):
        raise ValueError(
            "a unified social credit code is 18 characters: digits and capital letters "
            "other than I, O, S, V and Z, with a 6-digit region code"
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValueError("the credit code's check character does not match")
    return value


def make_credit_code(first17: str) -> str:
    """A valid credit code from its first 17 characters (for seeding demo data and tests)."""
    return first17 + credit_code_check_char(first17)
