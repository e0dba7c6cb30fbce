"""Eligibility rule tables from the seeds, as data-driven tests."""

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.welfare.out import reason_line
from server.welfare.rules import (
    CATEGORIES,
    PACKAGED,
    Basis,
    CareLevel,
    ElderFacts,
    Funding,
    QuarterClose,
    RuleError,
    Settlement,
    evaluate,
    in_force,
    load_packaged,
    parse_ruleset,
    quota_accounts,
)

ON = date(2026, 11, 23)


def elder(age: int, *cats: str, **kw: Any) -> ElderFacts:
    """An elder who turned `age` on 1 June of this year."""
    return ElderFacts(
        elder_id=kw.pop("elder_id", "e1"),
        birth_date=date(ON.year - age, 6, 1),
        categories=frozenset(cats),
        **kw,
    )


DEPENDENT = {"care_level": CareLevel.DEPENDENT, "hospital_certificate": True}

# (case, facts, class, quota in fen, winning rule)
SHENZHEN_V1 = [
    ("低保 and 介护: 500", elder(65, "低保", **DEPENDENT), "A", 50000, "sz-dibao-dependent"),
    ("介护, not 低保: 300", elder(65, **DEPENDENT), "B", 30000, "sz-dependent"),
    ("三无: 300", elder(62, "三无"), "C", 30000, "sz-special"),
    ("重点优抚: 300", elder(70, "重点优抚"), "C", 30000, "sz-special"),
    ("低保 only: 300", elder(60, "低保"), "C", 30000, "sz-special"),
    ("80+: 200", elder(80), "D", 20000, "sz-80"),
    (
        "80+ and 低保 介护: 500, not 500+300+200",
        elder(85, "低保", **DEPENDENT),
        "A",
        50000,
        "sz-dibao-dependent",
    ),
    ("80+ and 三无: 300, not 500", elder(81, "三无"), "C", 30000, "sz-special"),
    ("59, 低保 介护: nothing", elder(59, "低保", **DEPENDENT), "P", 0, None),
    (
        "失能 without a hospital certificate is not 介护",
        elder(65, "低保", care_level=CareLevel.DEPENDENT),
        "C",
        30000,
        "sz-special",
    ),
    ("60, healthy, no category: paid", elder(60), "P", 0, None),
    (
        "household registration elsewhere: paid",
        elder(70, "三无", hukou_in_district=False),
        "P",
        0,
        None,
    ),
    (
        "living outside the district: paid",
        elder(70, "三无", residence_in_district=False),
        "P",
        0,
        None,
    ),
]


@pytest.mark.parametrize(
    ("facts", "cls", "quota", "rule"),
    [c[1:] for c in SHENZHEN_V1],
    ids=[c[0] for c in SHENZHEN_V1],
)
def test_shenzhen_v1(facts: ElderFacts, cls: str, quota: int, rule: str | None) -> None:
    result = evaluate(load_packaged("shenzhen-v1"), facts, ON)
    assert (result.funding_class, result.monthly_quota_fen, result.winning_rule) == (
        cls,
        quota,
        rule,
    )


def test_highest_never_the_sum_names_the_losers() -> None:
    result = evaluate(load_packaged("shenzhen-v1"), elder(85, "低保", **DEPENDENT), ON)
    assert set(result.matched_rules) == {"sz-dibao-dependent", "sz-special", "sz-80"}
    assert result.monthly_quota_fen == 50000
    assert result.reasons[0].code == "highest_wins"  # a code and parameters, worded at the edge
    assert "就高不就低" in reason_line(result.reasons[0])


def test_shenzhen_v2_drops_the_age_subsidy() -> None:
    versions = [load_packaged("shenzhen-v1"), load_packaged("shenzhen-v2")]
    assert in_force(versions, "shenzhen", date(2011, 12, 31)).version == 1
    v2 = in_force(versions, "shenzhen", ON)
    assert v2.version == 2
    assert evaluate(v2, elder(85), ON).monthly_quota_fen == 0
    assert evaluate(v2, elder(85, "三无"), ON).monthly_quota_fen == 30000


def test_no_ruleset_before_the_first_version() -> None:
    with pytest.raises(LookupError):
        in_force([load_packaged("shenzhen-v1")], "shenzhen", date(2000, 1, 1))


RURAL = [
    ("75, rural", elder(75, hukou="rural", household_id="h1"), "R", 10000),
    ("79, rural", elder(79, hukou="rural", household_id="h1"), "R", 10000),
    ("74, rural", elder(74, hukou="rural", household_id="h1"), "P", 0),
    ("80, rural (another programme)", elder(80, hukou="rural", household_id="h1"), "P", 0),
    ("77, urban", elder(77, hukou="urban", household_id="h1"), "P", 0),
    (
        "77, rural, living in town",
        elder(77, hukou="rural", household_id="h1", residence_in_district=False),
        "R",
        10000,
    ),
]


@pytest.mark.parametrize(
    ("facts", "cls", "quota"), [c[1:] for c in RURAL], ids=[c[0] for c in RURAL]
)
def test_rural_75_79(facts: ElderFacts, cls: str, quota: int) -> None:
    result = evaluate(load_packaged("rural-75-79"), facts, ON)
    assert (result.funding_class, result.monthly_quota_fen) == (cls, quota)


def test_rural_is_automatic_no_application() -> None:
    result = evaluate(
        load_packaged("rural-75-79"),
        elder(76, hukou="rural", household_id="h1"),
        ON,
        approved_rules=(),
    )
    assert result.monthly_quota_fen == 10000
    assert result.pending_application == ()


def test_rural_birthday_moves_the_elder_in_and_out() -> None:
    rs = load_packaged("rural-75-79")
    e = ElderFacts("e1", birth_date=date(1951, 12, 1), hukou="rural", household_id="h1")
    assert evaluate(rs, e, date(2026, 11, 30)).monthly_quota_fen == 0  # 74 the day before
    assert evaluate(rs, e, date(2026, 12, 1)).monthly_quota_fen == 10000  # 75 on the day


def test_two_elders_in_one_household_share_one_quota() -> None:
    rs = load_packaged("rural-75-79")
    husband = elder(78, hukou="rural", household_id="h7", elder_id="e-husband")
    wife = elder(76, hukou="rural", household_id="h7", elder_id="e-wife")
    neighbour = elder(75, hukou="rural", household_id="h8", elder_id="e-neighbour")
    results = [evaluate(rs, f, ON) for f in (husband, wife, neighbour)]
    assert {r.quota_account for r in results[:2]} == {"household:h7"}
    accounts = quota_accounts(results)
    assert accounts["household:h7"].monthly_quota_fen == 10000  # once, not 20000
    assert accounts["household:h7"].members == ("e-husband", "e-wife")
    assert accounts["household:h8"].monthly_quota_fen == 10000
    assert sum(a.monthly_quota_fen for a in accounts.values()) == 20000


def test_household_rule_without_household_is_an_error() -> None:
    with pytest.raises(RuleError):
        evaluate(load_packaged("rural-75-79"), elder(76, hukou="rural"), ON)


def test_rural_settles_quarterly_and_clears() -> None:
    rs = load_packaged("rural-75-79")
    assert rs.settlement is Settlement.QUARTERLY
    assert rs.quarter_close is QuarterClose.CLEAR


TEMPLATE = [
    ("三无: A free", elder(65, "三无"), "A", Funding.FREE),
    ("低保 living alone: A", elder(61, "低保", living="独居"), "A", Funding.FREE),
    ("低保 with family: paid", elder(61, "低保"), "P", Funding.PAID),
    ("百岁: A", elder(100), "A", Funding.FREE),
    (
        "low pension, alone, frail: B",
        elder(72, living="独居", monthly_pension_fen=120000, care_level=CareLevel.PARTIAL),
        "B",
        Funding.SUBSIDISED,
    ),
    (
        "low pension, alone: C",
        elder(72, living="独居", monthly_pension_fen=120000),
        "C",
        Funding.SUBSIDISED,
    ),
    ("pension unknown: not C", elder(72, living="独居"), "P", Funding.PAID),
    (
        "pension too high: paid",
        elder(72, living="独居", monthly_pension_fen=150001),
        "P",
        Funding.PAID,
    ),
]


@pytest.mark.parametrize(
    ("facts", "cls", "funding"), [c[1:] for c in TEMPLATE], ids=[c[0] for c in TEMPLATE]
)
def test_template_abc(facts: ElderFacts, cls: str, funding: Funding) -> None:
    result = evaluate(load_packaged("template-abc"), facts, ON)
    assert (result.funding_class, result.funding) == (cls, funding)


def test_application_gate() -> None:
    rs = load_packaged("template-abc")
    facts = elder(65, "三无")
    waiting = evaluate(rs, facts, ON, approved_rules=())
    assert waiting.funding_class == "P"
    assert waiting.pending_application == ("abc-a-sanwu",)
    granted = evaluate(rs, facts, ON, approved_rules=["abc-a-sanwu"])
    assert granted.funding_class == "A"


def test_automatic_age_rule_needs_no_application() -> None:
    result = evaluate(load_packaged("template-abc"), elder(101), ON, approved_rules=())
    assert result.winning_rule == "abc-a-100"


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_rulesets_load(name: str) -> None:
    rs = load_packaged(name)
    assert rs.rules
    assert all(isinstance(r.monthly_quota_fen, int) for r in rs.rules)


def _base() -> dict[str, Any]:
    return {
        "district": "d",
        "version": 1,
        "effective_from": "2026-01-01",
        "classes": {"A": "free", "P": "paid"},
        "default_class": "P",
        "rules": [{"id": "r", "class": "A", "monthly_quota_fen": 100, "when": {"min_age": 60}}],
    }


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("rules", 0, "monthly_quota_fen"), 100.5),  # money is never a float
        (("rules", 0, "monthly_quota_fen"), -1),
        (("rules", 0, "class"), "Z"),  # undeclared class
        (("rules", 0, "when"), {"min_age": 60, "any_categroy": ["低保"]}),  # typo
        (("rules", 0, "when"), {"any_category": ["不存在"]}),
        (("rules", 0, "when"), {"care_levels": ["bedridden"]}),
        (("rules", 0, "when"), {"min_age": "60"}),
        (("default_class",), "Q"),
        (("rules", 0, "class"), "P"),  # a paid class with a quota
    ],
)
def test_bad_rulesets_are_refused(path: tuple[Any, ...], value: Any) -> None:
    raw = _base()
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises((RuleError, ValueError)):
        parse_ruleset(raw)


def test_duplicate_rule_ids_are_refused() -> None:
    raw = _base()
    raw["rules"].append(dict(raw["rules"][0]))
    with pytest.raises(RuleError):
        parse_ruleset(raw)


def test_basis_defaults_to_person() -> None:
    result = evaluate(parse_ruleset(_base()), elder(60), ON)
    assert result.basis is Basis.PERSON
    assert result.quota_account == "elder:e1"


def test_age_is_in_full_years() -> None:
    e = elder(60)
    assert e.age_on(date(ON.year, 5, 31)) == 59
    assert replace(e, birth_date=date(1956, 2, 29)).age_on(date(2026, 2, 28)) == 69


CATS = sorted(CATEGORIES)


@settings(max_examples=300, deadline=None)
@given(
    age=st.integers(55, 105),
    cats=st.frozensets(st.sampled_from(CATS), max_size=4),
    level=st.sampled_from(list(CareLevel)),
    cert=st.booleans(),
    name=st.sampled_from(["shenzhen-v1", "shenzhen-v2", "template-abc"]),
)
def test_highest_never_sum_property(
    age: int, cats: frozenset[str], level: CareLevel, cert: bool, name: str
) -> None:
    rs = load_packaged(name)
    facts = elder(
        age,
        *cats,
        care_level=level,
        hospital_certificate=cert,
        living="独居",
        monthly_pension_fen=100000,
    )
    result = evaluate(rs, facts, ON)
    amounts = [rs.rule(r).monthly_quota_fen for r in result.matched_rules]
    assert result.monthly_quota_fen == max(amounts, default=0)
    assert (result.winning_rule is None) == (not amounts)
