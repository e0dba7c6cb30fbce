"""A text is a key and its parameters; it renders in Chinese or English from the catalogue.

Every domain keeps its sentences in its own module under ``server/texts/`` (``TEXTS``, key →
(Chinese, English)); ``server/texts/__init__.py`` merges them into ``CATALOGUE`` by name and
refuses a key defined twice. Code passes keys and parameters around, never sentences: a
stored alarm, event or push holds its kind and parameters, and is rendered for the reader
at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["zh", "en"]
Audience = Literal["elder", "family", "operator"]
Catalogue = Mapping[str, tuple[str, str]]

CATALOGUE: dict[str, tuple[str, str]] = {}
# Stored names (menu items, task titles) in English, where one is known: Chinese → English.
TITLES_EN: dict[str, str] = {}


def merge(*parts: Catalogue) -> dict[str, tuple[str, str]]:
    """One catalogue from the domains' parts; a key defined twice is a mistake."""
    out: dict[str, tuple[str, str]] = {}
    for part in parts:
        twice = sorted(set(out) & set(part))
        if twice:
            raise ValueError(f"text keys defined twice: {', '.join(twice)}")
        out.update(part)
    return out


@dataclass(frozen=True)
class Text:
    """A key and its parameters; a parameter may itself be a Text or a Label (rendered in the
    same language)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        """The sentence in one language."""
        zh, en = CATALOGUE[self.key]
        template = zh if lang == "zh" else en
        values = {
            k: v.render(lang) if isinstance(v, Text | Label) else v for k, v in self.params.items()
        }
        return template.format(**values)

    def out(self) -> dict[str, Any]:
        """The JSON a page gets: key and params for clients with their own catalogue, and both
        renderings for the rest."""
        return {
            "key": self.key,
            "params": {
                k: v.out() if isinstance(v, Text | Label) else v for k, v in self.params.items()
            },
            "zh": self.render("zh"),
            "en": self.render("en"),
        }


@dataclass(frozen=True)
class Label:
    """A stored name inside a text (a menu item, what a caregiver is busy with): its English
    where one is known, lower-cased inside an English sentence ("busy with bathing help")."""

    zh: str
    en: str | None = None

    def render(self, lang: Lang) -> str:
        """The label in one language."""
        if lang == "zh":
            return self.zh
        en = self.en or title_en(self.zh)
        return en[:1].lower() + en[1:] if en[:1].isascii() else en

    def out(self) -> dict[str, Any]:
        """Both languages, as a keyless text."""
        return plain(self.zh, self.render("en"))


def plain(zh: str, en: str | None = None) -> dict[str, Any]:
    """A text without a key (free text typed by a person, or a name): the same in both."""
    return {"key": None, "params": {}, "zh": zh, "en": zh if en is None else en}


def text(key: str, **params: Any) -> dict[str, Any]:
    """Shorthand: the JSON of ``Text(key, params)``."""
    return Text(key, params).out()


def render(key: str, lang: Lang = "zh", **params: Any) -> str:
    """Shorthand: one language of ``Text(key, params)``."""
    return Text(key, params).render(lang)


def title_en(zh: str) -> str:
    """A stored name in English, where it is a known one."""
    if " / " in zh:
        return zh.split(" / ", 1)[1]
    return TITLES_EN.get(zh, zh)
