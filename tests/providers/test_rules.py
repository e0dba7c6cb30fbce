"""The providers' pure rules: the credit code's check character, 持证上岗, short visits, and the
annual rating's grades."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.providers import Grade
from server.identity import make_credit_code, normalize_credit_code
from server.providers.rules import Evidence, rate, too_short, valid_certificate


@pytest.mark.parametrize(
    "code", ["91350100M000100Y43", "91110000600037341L", " 91110000600037341l "]
)
def test_published_credit_codes_pass(code: str) -> None:
    assert normalize_credit_code(code) == code.strip().upper()


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check character"),  # one character off
        ("91350100M000100Y4", "18 characters"),  # too short
        ("91350100M0001O0Y43", "18 characters"),  # the letter O is never used
        ("9135O100M000100Y43", "18 characters"),  # the region code is digits
    ],
)
def test_bad_credit_codes_say_why(code: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalize_credit_code(code)


def test_made_codes_verify() -> None:
    code = make_credit_code("52110105MJ0000001")
    assert normalize_credit_code(code) == code


def test_certificates_valid_until_their_last_day() -> None:
    certs = [{"name": "养老护理员", "number": "1", "expires": "2026-11-30"}]
    assert valid_certificate(certs, "养老护理员", date(2026, 11, 30))
    assert not valid_certificate(certs, "养老护理员", date(2026, 12, 1))
    assert not valid_certificate(certs, "护士", date(2026, 11, 1))
    assert valid_certificate([{"name": "护士", "expires": None}], "护士", date(2030, 1, 1))
    assert not valid_certificate([{"name": "护士", "expires": "soon"}], "护士", date(2026, 1, 1))


def test_a_ten_second_bath_is_too_short() -> None:
    assert too_short(10, 90)
    assert not too_short(60 * 60, 90)
    assert not too_short(10, 0)


GOOD = Evidence(
    visits=200,
    satisfied=195,
    answers=200,
    complaints_upheld=0,
    late=0,
    missed=0,
    proven=200,
    fraud_upheld=0,
    return_visits=10,
)


def test_a_clean_year_is_excellent() -> None:
    assert rate(GOOD) == (100.0, Grade.EXCELLENT)


def test_below_the_satisfaction_target_is_never_excellent() -> None:
    score, grade = rate(
        Evidence(**{**GOOD.as_json(), "satisfied": 189})  # 94.5 %
    )
    assert score >= 90 and grade is Grade.QUALIFIED


def test_fraud_and_missed_visits_fail_a_provider() -> None:
    bad = Evidence(
        **{**GOOD.as_json(), "fraud_upheld": 2, "missed": 60, "proven": 100, "satisfied": 150}
    )
    score, grade = rate(bad)
    assert grade is Grade.UNQUALIFIED and score < 70
