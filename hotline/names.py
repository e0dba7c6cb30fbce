"""Find an elder by what a caller says: a name in characters, pinyin or initials.

The hotline promise is "只要提供自己的姓名": the caller gives a name and the operator must find
the right person among thousands of elders, often over a bad line and often from a name that
was only heard, never seen. So the index compares sounds, not characters:

- the exact name (王秀英),
- the same toneless pinyin (王秀瑛 sounds like 王秀英),
- a common confusion of southern accents (zh/z, ch/c, sh/s, n/l, eng/en, ing/in),
- full pinyin typed by the operator (wangxiuying, "wang xiu ying"),
- initials (wxy),
- typos (rapidfuzz over the pinyin),

then narrows by an address fragment, an age range and the station, and ranks with a score and
a short reason the operator can read aloud ("same sound as 王秀瑛").

Pure: no I/O; "today" is an argument.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Final

from pypinyin import Style, pinyin
from pypinyin.pinyin_dict import pinyin_dict
from rapidfuzz import fuzz, process

__all__ = [
    "ElderRecord",
    "Match",
    "NameIndex",
    "NameQuery",
    "fuzzy_syllable",
    "normalize_phone",
    "segment_pinyin",
    "syllables_of",
]

# Score tiers: what kind of evidence links the query to the name. The operator sees them.
SCORE_EXACT: Final = 100.0
SCORE_PINYIN_TYPED: Final = 95.0
SCORE_HOMOPHONE: Final = 92.0
SCORE_FUZZY_SOUND: Final = 85.0
SCORE_INITIALS: Final = 75.0
SCORE_FUZZY_INITIALS: Final = 70.0
SCORE_TYPO_MAX: Final = 65.0
TYPO_CUTOFF: Final = 75.0
ADDRESS_CUTOFF: Final = 80.0
MAX_READINGS_PER_NAME: Final = 6
FUZZY_STEP: Final = 4.0

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-zü]")
_MIXED_TOKENS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-zü]+")
_NON_LETTERS = re.compile(r"[^a-zü]")
_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class ElderRecord:
    """What the index needs to know about one elder."""

    id: str
    name: str
    address: str = ""
    birth_year: int | None = None
    station_id: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class NameQuery:
    """What the caller said, and what the operator knows besides."""

    text: str
    address: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    station_id: str | None = None
    today: date | None = None
    limit: int = 10

    def __post_init__(self) -> None:
        if (self.min_age is not None or self.max_age is not None) and self.today is None:
            raise ValueError("an age range needs today's date")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is greater than max_age")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")


@dataclass(frozen=True, slots=True)
class Match:
    """One candidate elder with a score in [0, 100] and why it matched."""

    elder: ElderRecord
    score: float
    reason: str


# --- pinyin helpers -----------------------------------------------------------------


def _fold_tones(text: str) -> str:
    """Typed pinyin without tone marks (Wáng Xiùyīng → Wang Xiuying, lǘ → lv); characters kept."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        out.append(ch if _CJK.match(ch) or ch.isascii() else _strip_tone(ch))
    return "".join(out)


def _strip_tone(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    # ü decomposes to u + diaeresis; keep it as "v", the way keyboards type it.
    decomposed = decomposed.replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _all_syllables() -> frozenset[str]:
    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            found.add(_strip_tone(reading))
    found.discard("")
    # Keyboards type ü as v, and many people type it as u after j/q/x/y (already "u" there).
    return frozenset(s for s in found if s.isascii() and s.isalpha())


_FUZZY_INITIALS: Final = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS: Final = (("eng", "en"), ("ing", "in"))


@cache
def fuzzy_syllable(syllable: str) -> str:
    """Map a toneless syllable to its accent-tolerant form (zh→z, n→l, ing→in, ...)."""
    s = syllable
    for long, short in _FUZZY_INITIALS:
        if s.startswith(long):
            s = short + s[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if s.endswith(long):
            s = s[: -len(long)] + short
            break
    return s


@cache
def _readings(char: str, keep: int = 2) -> tuple[str, ...]:
    """Toneless readings of one character, most common first (surnames like 单/曾 have more)."""
    got = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    if not got:
        return ()
    out: list[str] = []
    for r in got[0]:
        r = r.replace("ü", "v")
        if r not in out:
            out.append(r)
    return tuple(out[:keep])


def syllables_of(name: str) -> list[tuple[str, ...]]:
    """The possible toneless syllable sequences of a Chinese name (at most a few)."""
    chars = [ch for ch in name if _CJK.match(ch)]
    # The surname gets a third reading: 单 is read shan as a surname, dan elsewhere.
    per_char = [_readings(ch, 3 if i == 0 else 2) for i, ch in enumerate(chars)]
    per_char = [r for r in per_char if r]
    if not per_char:
        return []
    combos = itertools.islice(itertools.product(*per_char), MAX_READINGS_PER_NAME)
    return [tuple(c) for c in combos]


def segment_pinyin(text: str) -> tuple[str, ...] | None:
    """Split typed pinyin ("wangxiuying", "wang'xiu ying") into syllables, or None."""
    parts = [p for p in re.split(r"[\s'’\-]+", text.lower().replace("ü", "v")) if p]
    out: list[str] = []
    for part in parts:
        seg = _segment_word(part)
        if seg is None:
            return None
        out.extend(seg)
    return tuple(out) if out else None


@cache
def _segment_word(word: str) -> tuple[str, ...] | None:
    # Fewest syllables wins (xian is one syllable, not xi'an), found by dynamic programming.
    syl = _all_syllables()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        prev = best[i]
        if prev is None:
            continue
        for j in range(min(n, i + 6), i, -1):
            piece = word[i:j]
            if piece in syl:
                cand = (*prev, piece)
                cur = best[j]
                if cur is None or len(cand) < len(cur):
                    best[j] = cand
    return best[n]


def normalize_phone(phone: str) -> str:
    """Digits only, without the +86 / 0086 country prefix."""
    digits = _DIGITS.sub("", phone)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _key(syllables: Iterable[str]) -> str:
    return " ".join(syllables)


def _fuzzy_key(syllables: Iterable[str]) -> str:
    return " ".join(fuzzy_syllable(s) for s in syllables)


def _initials(syllables: Iterable[str]) -> str:
    return "".join(s[0] for s in syllables if s)


def _fuzzy_initials(initials: str) -> str:
    return initials.replace("n", "l")


def _fuzzy_score(a: Sequence[str], b: Sequence[str]) -> float:
    """Accent-tolerant match: fewer differing syllables rank higher."""
    differing = sum(1 for x, y in zip(a, b, strict=False) if x != y)
    return SCORE_FUZZY_SOUND - FUZZY_STEP * max(differing - 1, 0)


def _differences(a: Sequence[str], b: Sequence[str]) -> str:
    """Name the accent confusions that turn syllables a into b, for the reason text."""
    seen: list[str] = []
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        for long, short in (*_FUZZY_INITIALS, *_FUZZY_FINALS):
            hit = (x.startswith(long) and y.startswith(short)) or (
                y.startswith(long) and x.startswith(short)
            )
            if long in ("eng", "ing"):
                hit = (x.endswith(long) and y.endswith(short)) or (
                    y.endswith(long) and x.endswith(short)
                )
            if hit and x != y:
                label = f"{long}/{short}"
                if label not in seen:
                    seen.append(label)
    return ", ".join(seen) if seen else "accent"


# --- the index ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NameKeys:
    main: tuple[str, ...]
    plain: str
    pinyin: frozenset[str]
    fuzzy: frozenset[str]
    initials: frozenset[str]
    fuzzy_initials: frozenset[str]


@cache
def _name_keys(name: str) -> _NameKeys:
    """Every look-up key of a name, computed once per distinct name (names repeat a lot)."""
    readings = syllables_of(name)
    main = readings[0] if readings else ()
    initials = frozenset(_initials(syl) for syl in readings)
    return _NameKeys(
        main=main,
        plain="".join(main),
        pinyin=frozenset(_key(syl) for syl in readings),
        fuzzy=frozenset(_fuzzy_key(syl) for syl in readings),
        initials=initials,
        fuzzy_initials=frozenset(_fuzzy_initials(i) for i in initials),
    )


@dataclass(slots=True)
class _Buckets:
    exact: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pinyin: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    fuzzy: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    initials: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    fuzzy_initials: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    phone: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    station: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


class NameIndex:
    """An in-memory index over elders, built once and searched many times (not thread-safe to mutate)."""

    __slots__ = ("_b", "_deletes", "_main_syllables", "_plain", "_plain_positions", "_records")

    def __init__(self, records: Iterable[ElderRecord]) -> None:
        self._records: list[ElderRecord] = []
        self._main_syllables: list[tuple[str, ...]] = []
        # Typo search: the plain pinyin of each elder ("wangxiuying") and a one-deletion
        # neighbourhood index over the distinct strings (SymSpell), so a single typo is a few
        # dictionary look-ups instead of a scan of every elder.
        self._plain: list[str] = []
        self._plain_positions: dict[str, list[int]] = defaultdict(list)
        self._deletes: dict[str, list[str]] = defaultdict(list)
        self._b = _Buckets()
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._records)

    def add(self, record: ElderRecord) -> None:
        """Add one elder to the index."""
        pos = len(self._records)
        self._records.append(record)
        b = self._b
        b.exact[record.name].append(pos)
        keys = _name_keys(record.name)
        self._main_syllables.append(keys.main)
        plain = keys.plain
        self._plain.append(plain)
        if plain:
            if plain not in self._plain_positions:
                for variant in _deletions(plain):
                    self._deletes[variant].append(plain)
            self._plain_positions[plain].append(pos)
        for k in keys.pinyin:
            b.pinyin[k].append(pos)
        for k in keys.fuzzy:
            b.fuzzy[k].append(pos)
        for k in keys.initials:
            b.initials[k].append(pos)
        for k in keys.fuzzy_initials:
            b.fuzzy_initials[k].append(pos)
        if record.phone:
            b.phone[normalize_phone(record.phone)].append(pos)
        b.station[record.station_id].append(pos)

    def by_phone(self, phone: str) -> list[ElderRecord]:
        """Elders registered with this phone number (for the screen pop on ringing)."""
        return [self._records[i] for i in self._b.phone.get(normalize_phone(phone), [])]

    def search(self, query: NameQuery) -> list[Match]:
        """Rank elders for what the caller said; best first, at most query.limit."""
        text = query.text.strip()
        if not text:
            return []
        found: dict[int, tuple[float, str]] = {}

        def offer(positions: Iterable[int], score: float, reason: str) -> None:
            for p in positions:
                if p not in found or found[p][0] < score:
                    found[p] = (score, reason)

        b = self._b
        query_syllables: list[tuple[str, ...]]
        typed: str
        # Typed pinyin may carry tone marks (Wáng Xiùyīng): the index is toneless.
        text = _fold_tones(text)
        if _CJK.search(text) and _LATIN.search(text):
            # 王xiuying, wang秀英, 王xy: characters for what the operator could write,
            # pinyin or initials for the rest.
            typed = self._mixed(text, offer)
            query_syllables = []
        elif _CJK.search(text):
            name = "".join(ch for ch in text if _CJK.match(ch))
            offer(b.exact.get(name, ()), SCORE_EXACT, "exact name")
            query_syllables = syllables_of(name)
            typed = "".join(query_syllables[0]) if query_syllables else ""
            for syl in query_syllables:
                key = _key(syl)
                for p in b.pinyin.get(key, ()):
                    if self._records[p].name != name:
                        offer((p,), SCORE_HOMOPHONE, f"same sound as {name} ({key})")
                for p in b.fuzzy.get(_fuzzy_key(syl), ()):
                    main = self._main_syllables[p]
                    diff = _differences(syl, main)
                    offer((p,), _fuzzy_score(syl, main), f"similar sound ({diff})")
        else:
            letters = _NON_LETTERS.sub("", text.lower())
            seg = segment_pinyin(text)
            query_syllables = [seg] if seg else []
            typed = letters
            if seg:
                key = _key(seg)
                offer(b.pinyin.get(key, ()), SCORE_PINYIN_TYPED, f"pinyin {key}")
                for p in b.fuzzy.get(_fuzzy_key(seg), ()):
                    main = self._main_syllables[p]
                    diff = _differences(seg, main)
                    offer((p,), _fuzzy_score(seg, main), f"similar sound ({diff})")
            if 2 <= len(letters) <= 4:
                offer(b.initials.get(letters, ()), SCORE_INITIALS, f"initials {letters}")
                offer(
                    b.fuzzy_initials.get(_fuzzy_initials(letters), ()),
                    SCORE_FUZZY_INITIALS,
                    f"initials {letters} (n/l)",
                )

        admitted = self._filter(found, query)
        # Typos only when nothing sounds right: a scan costs far more than a look-up.
        if typed and not any(m.score >= SCORE_FUZZY_INITIALS for m in admitted):
            self._typos(query, typed, found)
            admitted = self._filter(found, query)
        ranked = sorted(admitted, key=lambda m: (-m.score, m.elder.id))
        return ranked[: query.limit]

    def _mixed(self, text: str, offer: Callable[[Iterable[int], float, str], None]) -> str:
        """Offer matches for a query mixing characters and pinyin; returns the typed pinyin
        (for the typo fallback)."""
        tokens = _MIXED_TOKENS.findall(text.lower())
        options: list[tuple[tuple[str, ...], ...]] = []  # per token: its syllable readings
        initials_options: list[tuple[str, ...]] = []
        chars: dict[int, str] = {}  # syllable position → the character given there
        position = 0
        for tok in tokens:
            if _CJK.match(tok):
                readings = _readings(tok, 3 if position == 0 else 2)
                if not readings:
                    continue
                options.append(tuple((r,) for r in readings))
                initials_options.append(tuple(r[0] for r in readings))
                chars[position] = tok
                position += 1
                continue
            seg = _segment_word(tok)
            if seg is not None:
                options.append((seg,))
                initials_options.append(("".join(x[0] for x in seg),))
                position += len(seg)
            else:  # not pinyin: initials, one letter per character (王xy)
                options = []
                initials_options.append((tok,))
                position += len(tok)
        given = "".join(chars.values())

        def agrees(p: int) -> bool:
            name = [ch for ch in self._records[p].name if _CJK.match(ch)]
            return all(i < len(name) and name[i] == ch for i, ch in chars.items())

        typed = ""
        if options:
            for combo in itertools.islice(itertools.product(*options), MAX_READINGS_PER_NAME):
                syl = tuple(x for part in combo for x in part)
                key = _key(syl)
                typed = typed or "".join(syl)
                for p in self._b.pinyin.get(key, ()):
                    # The characters given narrow homophones: 王xiuying is 王秀英 before 汪秀英.
                    score = SCORE_PINYIN_TYPED + (2.0 if agrees(p) else -5.0)
                    offer((p,), score, f"pinyin {key} ({given} + pinyin)")
                for p in self._b.fuzzy.get(_fuzzy_key(syl), ()):
                    main = self._main_syllables[p]
                    score = _fuzzy_score(syl, main) + (2.0 if agrees(p) else -5.0)
                    offer((p,), score, f"similar sound ({_differences(syl, main)}; {given})")
        for combo_i in itertools.islice(itertools.product(*initials_options), 6):
            letters = "".join(combo_i)
            for p in self._b.initials.get(letters, ()):
                if agrees(p):
                    offer((p,), SCORE_INITIALS + 2.0, f"initials {letters} ({given} + initials)")
        return typed

    def _typos(self, query: NameQuery, typed: str, found: dict[int, tuple[float, str]]) -> None:
        hits: list[tuple[str, float]] = []
        if query.station_id is not None:
            # One station is a few thousand elders at most: scan them all.
            positions = self._b.station.get(query.station_id, [])
            choices = sorted({self._plain[p] for p in positions})
            hits = [
                (c, r)
                for c, r, _ in process.extract(
                    typed, choices, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF, limit=None
                )
            ]
        else:
            candidates: set[str] = set()
            for variant in (typed, *_deletions(typed)):
                candidates.update(self._deletes.get(variant, ()))
            for c in candidates:
                r = fuzz.ratio(typed, c)
                if r >= TYPO_CUTOFF:
                    hits.append((c, r))
            if not hits:
                # More than one typo: the slow scan over every distinct name, as a last resort.
                hits = [
                    (c, r)
                    for c, r, _ in process.extract(
                        typed,
                        list(self._plain_positions),
                        scorer=fuzz.ratio,
                        score_cutoff=TYPO_CUTOFF,
                        limit=query.limit * 5,
                    )
                ]
        for plain, ratio in hits:
            score = round(SCORE_TYPO_MAX * ratio / 100.0, 1)
            for p in self._plain_positions[plain]:
                if p not in found:
                    found[p] = (score, f"close spelling ({ratio:.0f}%)")

    def _filter(self, found: dict[int, tuple[float, str]], query: NameQuery) -> list[Match]:
        out: list[Match] = []
        fragment = query.address.strip() if query.address else ""
        for p, (score, reason) in found.items():
            r = self._records[p]
            if query.station_id is not None and r.station_id != query.station_id:
                continue
            if query.today is not None and (query.min_age is not None or query.max_age is not None):
                if r.birth_year is None:
                    continue
                age = query.today.year - r.birth_year
                if query.min_age is not None and age < query.min_age:
                    continue
                if query.max_age is not None and age > query.max_age:
                    continue
            why = reason
            if fragment:
                if fragment in r.address:
                    why = f"{reason}; address has {fragment}"
                else:
                    similarity = fuzz.partial_ratio(fragment, r.address)
                    if similarity < ADDRESS_CUTOFF:
                        continue
                    why = f"{reason}; address like {fragment} ({similarity:.0f}%)"
                    score -= 2.0
            out.append(Match(elder=r, score=score, reason=why))
        return out
