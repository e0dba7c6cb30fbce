"""The short text an operator reads or sends to 120: where, how to get in, what is wrong.

Emergency dispatchers want the address and access first, then who the patient is, conditions,
medicines and allergies, then whom to call. The text is short (one SMS page pair at most) and
the most important lines come first, so a cut never loses the address. Every disclosure is
logged by the caller (PIPL art. 13: processing needed to protect life, without consent).
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = ["CareProfile", "Contact", "access_of", "lines_of", "render_for_120", "sex_label"]

MAX_CHARS: Final = 400
PIPL_BASIS: Final = (
    "PIPL art. 13(1)4: to protect a natural person's life and health in an emergency"
)


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone to call, in order."""

    name: str
    relation: str
    phone: str


@dataclass(frozen=True, slots=True)
class CareProfile:
    """What the elder's file says that 120 needs."""

    name: str
    sex: str  # 男 / 女
    birth_date: date | None
    address: str
    access: str = ""  # how to get in: door code, key holder, floor, lift
    conditions: tuple[str, ...] = ()
    medicines: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    care_level: str = ""
    contacts: tuple[Contact, ...] = ()
    lives_alone: bool = False


_SEX: Final = {"F": "女", "M": "男"}


def sex_label(code: str) -> str:
    """The file's sex code (F / M) as the record says it."""
    return _SEX.get(code, code)


def access_of(notes: str, key_holder: str) -> str:
    """How to get in: the file's access notes, then who holds a key."""
    return "；".join(x for x in (notes, f"钥匙：{key_holder}" if key_holder else "") if x)


def lines_of(text: str) -> tuple[str, ...]:
    """A free-text field of the file (one item per line or per semicolon) as items."""
    return tuple(
        x.strip() for x in text.replace("；", "\n").replace(";", "\n").splitlines() if x.strip()
    )


def _age(birth: date | None, today: date) -> str:
    if birth is None:
        return "年龄不详"
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return f"{years}岁"


def render_for_120(profile: CareProfile, *, today: date, max_chars: int = MAX_CHARS) -> str:
    """The care record as short Chinese text, most important first, at most `max_chars`."""
    lines = [
        f"地址：{profile.address}",
        f"进门：{profile.access or '无记录'}",
        f"老人：{profile.name}，{profile.sex}，{_age(profile.birth_date, today)}"
        + ("，独居" if profile.lives_alone else "")
        + (f"，{profile.care_level}" if profile.care_level else ""),
        f"过敏：{'、'.join(profile.allergies) or '无记录'}",
        f"病史：{'、'.join(profile.conditions) or '无记录'}",
        f"用药：{'、'.join(profile.medicines) or '无记录'}",
    ]
    lines += [
        f"联系人{i}：{c.name}（{c.relation}）{c.phone}" for i, c in enumerate(profile.contacts, 1)
    ]
    out: list[str] = []
    used = 0
    for line in lines:
        extra = len(line) + (1 if out else 0)
        if used + extra > max_chars:
            room = max_chars - used - (1 if out else 0)
            if room > 1:
                out.append(line[: room - 1] + "…")
            break
        out.append(line)
        used += extra
    return "\n".join(out)
