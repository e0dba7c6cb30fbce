"""Eligibility as data: a versioned rule set per district turns an elder's file into a funding class
and a monthly quota.

A rule set is plain JSON (see `rulesets/*.json`): funding classes (free / subsidised / paid, named
A/B/C or whatever the district uses), rules with conditions (age, categories, care level, living
situation, household registration) and an amount, and the settlement policy. Evaluation follows
"就高不就低，不重复计算": among all rules an elder meets, the highest amount wins; amounts never add.
Rules with `"basis": "household"` give one quota per household (两位老人同时符合的，按同一户执行).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib import resources
from typing import Any, Final

from schemas.registry import CareLevel as FileCareLevel
from schemas.welfare import RULE_CATEGORIES, LivingWord
from server.welfare.addresses import AddressLimits


class Funding(StrEnum):
    """How services are paid: 无偿 (free), 低偿 (subsidised), 有偿 (paid)."""

    FREE = "free"
    SUBSIDISED = "subsidised"
    PAID = "paid"


FUNDING_RANK: Final = {Funding.FREE: 2, Funding.SUBSIDISED: 1, Funding.PAID: 0}


class CareLevel(StrEnum):
    """Assessed care level, as the elder's file holds it: 自理 / 半失能 / 失能 (失能 with a
    hospital certificate = 介护)."""

    INDEPENDENT = FileCareLevel.SELF_CARE.value
    PARTIAL = FileCareLevel.SEMI_DEPENDENT.value
    DEPENDENT = FileCareLevel.DEPENDENT.value


class Basis(StrEnum):
    """Whom a quota belongs to."""

    PERSON = "person"
    HOUSEHOLD = "household"


class Settlement(StrEnum):
    """Settlement period: unused quota expires at the end of the month, or of the quarter."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class QuarterClose(StrEnum):
    """What happens to unused quota at the end of a settlement period.

    CLEAR: 每季度末清零，不累计、不结转 — the unused part expires.
    ACTUAL_USE: 本季度内没有用完的，下季度按上季度实际发生金额给予补助 — the unused part expires
    and the district's advance to providers for the next quarter equals last quarter's actual use.
    CARRY_OVER: the unused part moves to the next period (not in the seeds; for local policies).
    """

    CLEAR = "clear"
    ACTUAL_USE = "actual_use"
    CARRY_OVER = "carry_over"


# The vocabulary a rule set may use: the contract's (schemas/welfare.py).
CATEGORIES: Final = RULE_CATEGORIES
LIVING: Final = frozenset(w.value for w in LivingWord)
HUKOU: Final = frozenset({"urban", "rural"})


STEP_DAYS: Final = {"community": 10, "street": 5, "district": 10}


@dataclass(frozen=True)
class Targets:
    """A district's service targets (the seeds: 回访比例不低于5%, 综合满意率达到95%以上): the
    share of subsidised elders visited back each quarter, and the satisfaction rate a station
    or provider must reach."""

    return_visit_share: float = 0.05
    satisfaction: float = 0.95


class RuleError(ValueError):
    """A rule set that does not make sense; raised when it is loaded, never while evaluating."""


@dataclass(frozen=True)
class ElderFacts:
    """What the rules look at in an elder's file (电子档案)."""

    elder_id: str
    birth_date: date
    categories: frozenset[str] = frozenset()
    care_level: CareLevel = CareLevel.INDEPENDENT
    living: str = LivingWord.WITH_FAMILY.value
    household_id: str | None = None
    hukou: str = "urban"
    hukou_in_district: bool = True
    residence_in_district: bool = True
    monthly_pension_fen: int | None = None
    hospital_certificate: bool = False  # 介护 needs a certificate from a designated hospital
    capability_level: int | None = None  # the last assessment's level (GB/T 42195: 0..4)

    def age_on(self, on: date) -> int:
        """Full years of age (周岁) on a date."""
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Condition:
    """All given fields must hold; a field left as None is not checked."""

    min_age: int | None = None
    max_age: int | None = None
    any_category: frozenset[str] | None = None
    all_categories: frozenset[str] | None = None
    no_category: frozenset[str] | None = None
    care_levels: frozenset[CareLevel] | None = None
    living_any: frozenset[str] | None = None
    hukou: str | None = None
    max_pension_fen: int | None = None
    hospital_certificate: bool | None = None
    capability_levels: frozenset[int] | None = None  # assessed levels; never assessed: no

    def holds(self, facts: ElderFacts, on: date) -> bool:
        """Whether the elder meets every stated condition on the given date."""
        age = facts.age_on(on)
        checks = (
            self.min_age is None or age >= self.min_age,
            self.max_age is None or age <= self.max_age,
            self.any_category is None or bool(self.any_category & facts.categories),
            self.all_categories is None or self.all_categories <= facts.categories,
            self.no_category is None or not (self.no_category & facts.categories),
            self.care_levels is None or facts.care_level in self.care_levels,
            self.living_any is None or facts.living in self.living_any,
            self.hukou is None or facts.hukou == self.hukou,
            self.max_pension_fen is None
            or (
                facts.monthly_pension_fen is not None
                and facts.monthly_pension_fen <= self.max_pension_fen
            ),
            self.hospital_certificate is None
            or facts.hospital_certificate == self.hospital_certificate,
            self.capability_levels is None or facts.capability_level in self.capability_levels,
        )
        return all(checks)


@dataclass(frozen=True)
class Rule:
    """One line of a policy: who (condition) gets which class and how much a month."""

    rule_id: str
    label: str
    funding_class: str
    monthly_quota_fen: int
    condition: Condition
    basis: Basis = Basis.PERSON
    automatic: bool = False  # 无需申请: the platform classifies by age/file, no application

    def __post_init__(self) -> None:
        if not isinstance(self.monthly_quota_fen, int) or isinstance(self.monthly_quota_fen, bool):
            raise RuleError(f"{self.rule_id}: monthly_quota_fen must be an integer of fen")
        if self.monthly_quota_fen < 0:
            raise RuleError(f"{self.rule_id}: negative quota")


@dataclass(frozen=True)
class RuleSet:
    """A district's rules, one version, in force from `effective_from`."""

    district: str
    version: int
    effective_from: date
    classes: Mapping[str, Funding]
    rules: tuple[Rule, ...]
    default_class: str
    settlement: Settlement = Settlement.MONTHLY
    quarter_close: QuarterClose = QuarterClose.CLEAR
    requires_residence: bool = True  # 户籍与居住地均在辖区内
    title: str = ""
    source: str = ""
    # e.g. the rural programme: at most 2 service addresses, at most 2 changes a year
    address_limits: AddressLimits | None = None
    # working days each review step may take (the seeds: community 10, street 5, district 10)
    step_working_days: Mapping[str, int] = field(default_factory=lambda: dict(STEP_DAYS))
    # 公示: calendar days an application is publicly posted after the street passes it, before
    # the district's step (0: no public notice)
    public_notice_days: int = 0
    # the step after whose pass the notice runs: "street" (the default) or "community" (the
    # seeds' 社区…初审（含公示时间）)
    public_notice_after: str = "street"
    targets: Targets = field(default_factory=Targets)

    def __post_init__(self) -> None:
        if self.default_class not in self.classes:
            raise RuleError(f"default class {self.default_class!r} is not declared")
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                raise RuleError(f"duplicate rule id {rule.rule_id!r}")
            seen.add(rule.rule_id)
            if rule.funding_class not in self.classes:
                raise RuleError(f"{rule.rule_id}: class {rule.funding_class!r} is not declared")
            if self.classes[rule.funding_class] is Funding.PAID and rule.monthly_quota_fen:
                raise RuleError(f"{rule.rule_id}: a paid class cannot carry a quota")

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)


@dataclass(frozen=True)
class Reason:
    """Why an elder has (or misses) a class: a code and its parameters, worded at the edge
    (``welfare.reason.<code>`` in server/texts/welfare.py)."""

    code: str
    params: Mapping[str, str] = field(default_factory=dict)


OUTSIDE_DISTRICT: Final = Reason("outside_district")


@dataclass(frozen=True)
class Eligibility:
    """The outcome for one elder: class, funding, monthly quota and why."""

    elder_id: str
    district: str
    ruleset_version: int
    funding_class: str
    funding: Funding
    monthly_quota_fen: int
    basis: Basis
    quota_account: str  # "elder:<id>" or "household:<id>": where the quota is booked
    winning_rule: str | None
    matched_rules: tuple[str, ...] = ()
    pending_application: tuple[str, ...] = ()  # rules met but waiting for an approved application
    reasons: tuple[Reason, ...] = field(default=())


def _winner_key(rule: Rule, classes: Mapping[str, Funding], order: int) -> tuple[int, int, int]:
    # 就高不就低: the highest amount; on a tie the more generous funding; then the earlier rule
    return (rule.monthly_quota_fen, FUNDING_RANK[classes[rule.funding_class]], -order)


def evaluate(
    ruleset: RuleSet,
    facts: ElderFacts,
    on: date,
    *,
    approved_rules: Iterable[str] | None = None,
) -> Eligibility:
    """Classify one elder: the single highest applicable rule, never a sum of several.

    `approved_rules` lists rules for which the elder holds an approved application; rules that are
    not `automatic` need one. None means "preview": every met rule counts as approved.
    """
    approved = None if approved_rules is None else frozenset(approved_rules)
    reasons: list[Reason] = []
    matched: list[tuple[int, Rule]] = []
    pending: list[str] = []
    in_district = facts.hukou_in_district and (
        facts.residence_in_district or not ruleset.requires_residence
    )
    if not in_district:
        reasons.append(OUTSIDE_DISTRICT)
    else:
        for i, rule in enumerate(ruleset.rules):
            if not rule.condition.holds(facts, on):
                continue
            if rule.automatic or approved is None or rule.rule_id in approved:
                matched.append((i, rule))
            else:
                pending.append(rule.rule_id)
    if not matched:
        return Eligibility(
            elder_id=facts.elder_id,
            district=ruleset.district,
            ruleset_version=ruleset.version,
            funding_class=ruleset.default_class,
            funding=ruleset.classes[ruleset.default_class],
            monthly_quota_fen=0,
            basis=Basis.PERSON,
            quota_account=f"elder:{facts.elder_id}",
            winning_rule=None,
            matched_rules=(),
            pending_application=tuple(pending),
            reasons=tuple(reasons),
        )
    order, winner = max(matched, key=lambda p: _winner_key(p[1], ruleset.classes, p[0]))
    if winner.basis is Basis.HOUSEHOLD and facts.household_id is None:
        raise RuleError(f"{winner.rule_id} is per household but elder {facts.elder_id} has none")
    account = (
        f"household:{facts.household_id}"
        if winner.basis is Basis.HOUSEHOLD
        else f"elder:{facts.elder_id}"
    )
    others = [r.rule_id for _, r in matched if r is not winner]
    if others:
        # 就高不就低，不重复计算: the winner, and the rules it beat
        reasons.append(
            Reason("highest_wins", {"winner": winner.rule_id, "others": ", ".join(others)})
        )
    return Eligibility(
        elder_id=facts.elder_id,
        district=ruleset.district,
        ruleset_version=ruleset.version,
        funding_class=winner.funding_class,
        funding=ruleset.classes[winner.funding_class],
        monthly_quota_fen=winner.monthly_quota_fen,
        basis=winner.basis,
        quota_account=account,
        winning_rule=winner.rule_id,
        matched_rules=tuple(r.rule_id for _, r in matched),
        pending_application=tuple(pending),
        reasons=tuple(reasons),
    )


@dataclass(frozen=True)
class QuotaAccount:
    """A quota to be granted each month: one per elder, or one per household shared by its members."""

    account: str
    monthly_quota_fen: int
    members: tuple[str, ...]


def quota_accounts(results: Iterable[Eligibility]) -> dict[str, QuotaAccount]:
    """Group eligibilities into accounts; a household gets the highest of its members, once."""
    amounts: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    for e in results:
        if e.monthly_quota_fen == 0:
            continue
        amounts[e.quota_account] = max(amounts.get(e.quota_account, 0), e.monthly_quota_fen)
        members.setdefault(e.quota_account, []).append(e.elder_id)
    return {
        acc: QuotaAccount(acc, amounts[acc], tuple(sorted(members[acc]))) for acc in sorted(amounts)
    }


# --- loading -------------------------------------------------------------------------------------


def _fset(value: Any, allowed: frozenset[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{what} must be a list of strings")
    out = frozenset(value)
    if allowed is not None and not out <= allowed:
        raise RuleError(f"unknown {what}: {sorted(out - allowed)}")
    return out


_CONDITION_KEYS: Final = frozenset(Condition.__dataclass_fields__)


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """Parse a condition dict; unknown keys are an error (a typo must not widen eligibility)."""
    unknown = set(raw) - _CONDITION_KEYS
    if unknown:
        raise RuleError(f"unknown condition keys: {sorted(unknown)}")
    levels = _fset(raw.get("care_levels"), frozenset(c.value for c in CareLevel), "care_levels")
    hukou = raw.get("hukou")
    if hukou is not None and hukou not in HUKOU:
        raise RuleError(f"unknown hukou {hukou!r}")
    for key in ("min_age", "max_age", "max_pension_fen"):
        v = raw.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise RuleError(f"{key} must be an integer")
    capability = raw.get("capability_levels")
    if capability is not None and (
        not isinstance(capability, list)
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9 for v in capability
        )
    ):
        raise RuleError("capability_levels must be a list of assessed levels (0 = fully able)")
    return Condition(
        capability_levels=None if capability is None else frozenset(capability),
        min_age=raw.get("min_age"),
        max_age=raw.get("max_age"),
        any_category=_fset(raw.get("any_category"), CATEGORIES, "any_category"),
        all_categories=_fset(raw.get("all_categories"), CATEGORIES, "all_categories"),
        no_category=_fset(raw.get("no_category"), CATEGORIES, "no_category"),
        care_levels=None if levels is None else frozenset(CareLevel(v) for v in levels),
        living_any=_fset(raw.get("living_any"), LIVING, "living_any"),
        hukou=hukou,
        max_pension_fen=raw.get("max_pension_fen"),
        hospital_certificate=raw.get("hospital_certificate"),
    )


def parse_address_limits(raw: Any) -> AddressLimits | None:
    """`{"max_places": 2, "max_changes_per_year": 2}` (either may be null for no limit)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"max_places", "max_changes_per_year"}:
        raise RuleError("address_limits takes max_places and max_changes_per_year")
    for key in ("max_places", "max_changes_per_year"):
        v = raw.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise RuleError(f"address_limits.{key} must be a positive integer or null")
    return AddressLimits(raw.get("max_places"), raw.get("max_changes_per_year"))


def parse_step_days(raw: Any) -> dict[str, int]:
    """``{"community": 10, "street": 5, "district": 10}``; a step left out keeps the seeds'."""
    if raw is None:
        return dict(STEP_DAYS)
    if not isinstance(raw, dict) or set(raw) - set(STEP_DAYS):
        raise RuleError(f"step_working_days takes {sorted(STEP_DAYS)}")
    for k, v in raw.items():
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 60:
            raise RuleError(f"step_working_days.{k} must be 1..60 working days")
    return {**STEP_DAYS, **raw}


def parse_notice_days(raw: Any) -> int:
    """``public_notice_days``: 0 (none) to 30 calendar days."""
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 30:
        raise RuleError("public_notice_days must be 0..30 calendar days")
    return raw


def parse_notice_after(raw: Any) -> str:
    """``public_notice_after``: the step whose pass starts the notice."""
    if raw not in ("community", "street"):
        raise RuleError("public_notice_after must be community or street")
    return str(raw)


def parse_targets(raw: Any) -> Targets:
    """``{"return_visit_share": 0.05, "satisfaction": 0.95}``: shares above 0 up to 1; a
    target left out keeps the seeds'."""
    if raw is None:
        return Targets()
    if not isinstance(raw, dict) or set(raw) - {"return_visit_share", "satisfaction"}:
        raise RuleError("targets takes return_visit_share and satisfaction")
    for k, v in raw.items():
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 < v <= 1:
            raise RuleError(f"targets.{k} must be a share above 0, at most 1")
    return Targets(**{k: float(v) for k, v in raw.items()})


def parse_ruleset(raw: Mapping[str, Any]) -> RuleSet:
    """Build a RuleSet from its JSON form, checking it thoroughly."""
    try:
        rules = tuple(
            Rule(
                rule_id=r["id"],
                label=r.get("label", r["id"]),
                funding_class=r["class"],
                monthly_quota_fen=r["monthly_quota_fen"],
                condition=parse_condition(r.get("when", {})),
                basis=Basis(r.get("basis", "person")),
                automatic=bool(r.get("automatic", False)),
            )
            for r in raw["rules"]
        )
        return RuleSet(
            district=raw["district"],
            version=int(raw["version"]),
            effective_from=date.fromisoformat(raw["effective_from"]),
            classes={k: Funding(v) for k, v in raw["classes"].items()},
            rules=rules,
            default_class=raw["default_class"],
            settlement=Settlement(raw.get("settlement", "monthly")),
            quarter_close=QuarterClose(raw.get("quarter_close", "clear")),
            requires_residence=bool(raw.get("requires_residence", True)),
            title=raw.get("title", ""),
            source=raw.get("source", ""),
            address_limits=parse_address_limits(raw.get("address_limits")),
            step_working_days=parse_step_days(raw.get("step_working_days")),
            public_notice_days=parse_notice_days(raw.get("public_notice_days", 0)),
            public_notice_after=parse_notice_after(raw.get("public_notice_after", "street")),
            targets=parse_targets(raw.get("targets")),
        )
    except KeyError as exc:
        raise RuleError(f"missing field {exc.args[0]!r}") from exc


def load_packaged(name: str) -> RuleSet:
    """Load a rule set shipped in `server/welfare/rulesets/<name>.json`."""
    text = resources.files("server.welfare").joinpath("rulesets", f"{name}.json").read_text("utf-8")
    return parse_ruleset(json.loads(text))


PACKAGED: Final = ("shenzhen-v1", "shenzhen-v2", "rural-75-79", "template-abc")


def in_force(versions: Sequence[RuleSet], district: str, on: date) -> RuleSet:
    """The version of a district's rules in force on a date (latest effective_from not after it)."""
    candidates = [v for v in versions if v.district == district and v.effective_from <= on]
    if not candidates:
        raise LookupError(f"no rule set for {district} in force on {on.isoformat()}")
    return max(candidates, key=lambda v: (v.effective_from, v.version))
