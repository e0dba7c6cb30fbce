"""Welfare's serialisers: rows (and the pure modules' results) to the schemas the API answers
with, and the statements as CSV or XLSX files. Every sentence comes from the catalogue
(server/texts/welfare.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from aiohttp import web

from schemas.welfare import (
    AddressHistoryOut,
    ApplicationAction,
    ApplicationEventOut,
    ApplicationOut,
    CalendarYearOut,
    DocumentOut,
    DoorCardOut,
    EligibilityOut,
    EntryOut,
    FraudSignalOut,
    FraudSignalsOut,
    LedgerOut,
    OfficerOut,
    PeriodCloseOut,
    RecordOut,
    RecordReview,
    RulesetOut,
    ServiceAddressOut,
)
from server.texts import Text
from server.welfare import ledger
from server.welfare.fraud import Flag, Signal
from server.welfare.ledger import Entry, PeriodClose
from server.welfare.model import OPEN_STATES
from server.welfare.proof import ProofKind, verdict
from server.welfare.records import ServiceRecord
from server.welfare.rules import Eligibility, Reason, RuleSet
from server.welfare.statements import Sheet, to_csv, to_xlsx
from server.welfare.workdays import is_overdue

# ----- texts ------------------------------------------------------------------------------------


def both(key: str, **params: Any) -> str:
    """A problem, note or memo as the API has always worded it: "中文 / English"."""
    t = Text(key, params)
    return f"{t.render('zh')} / {t.render('en')}"


def reason_line(r: Reason) -> str:
    """One of the rules' reasons, as the eligibility answer words it."""
    return Text(f"welfare.reason.{r.code}", r.params).render("zh")


# ----- rule sets and eligibility ------------------------------------------------------------------


def stored_ruleset(row: Any) -> RulesetOut:
    return RulesetOut(
        district=row.district,
        version=row.version,
        effective_from=row.effective_from,
        source="stored",
    )


def packaged_ruleset(name: str, rs: RuleSet) -> RulesetOut:
    return RulesetOut(
        district=rs.district,
        version=rs.version,
        effective_from=rs.effective_from,
        source="packaged",
        name=name,
    )


def no_eligibility(elder_id: int, district: str) -> EligibilityOut:
    """A district without a rule set: everything is paid."""
    return EligibilityOut(
        elder_id=elder_id,
        district=district,
        ruleset_version=None,
        funding_class="",
        funding="paid",
        monthly_quota_fen=0,
        quota_account=None,
        period=None,
        quota_left_fen=0,
        winning_rule=None,
        matched_rules=[],
        pending_application=[],
        reasons=[reason_line(Reason("no_ruleset"))],
    )


def eligibility(
    elig: Eligibility,
    rs: RuleSet,
    *,
    district: str,
    left: int,
    today: date,
    stopped_since: date | None = None,
) -> EligibilityOut:
    reasons = [reason_line(r) for r in elig.reasons]
    if stopped_since is not None:
        stop = Reason("subsidy_stopped", {"since": stopped_since.isoformat()})
        reasons.insert(0, reason_line(stop))
    return EligibilityOut(
        elder_id=int(elig.elder_id),
        district=district,
        ruleset_version=rs.version,
        funding_class=elig.funding_class,
        funding=elig.funding.value,
        monthly_quota_fen=elig.monthly_quota_fen,
        quota_account=ledger.quota_account(elig.quota_account) if elig.monthly_quota_fen else None,
        period=ledger.settlement_period(today, rs.settlement),
        quota_left_fen=left,
        winning_rule=elig.winning_rule,
        matched_rules=list(elig.matched_rules),
        pending_application=list(elig.pending_application),
        reasons=reasons,
        subsidy_stopped_since=stopped_since,
    )


# ----- service records and the audit gate ---------------------------------------------------------


def stored_proofs(row: Any) -> frozenset[ProofKind]:
    """Proofs of a stored record: captured at completion, plus the elder's later confirmation."""
    found = {ProofKind(k) for k in row.proofs or []}
    if row.elder_confirmed:
        found.add(ProofKind.ELDER_CONFIRMED)
    return frozenset(found)


def gate_of(row: Any) -> dict[str, Any]:
    """The audit gate's verdict on a stored record, for responses and statements."""
    if row.reversed and row.review != RecordReview.REJECTED:
        return {"payable": False, "proofs": sorted(stored_proofs(row)), "reason": "record.reversed"}
    g = verdict(stored_proofs(row), RecordReview(row.review))
    return {
        "payable": g.payable,
        "proofs": sorted(k.value for k in g.proofs),
        "reason": g.reason.value if g.reason else None,
    }


def record(row: Any) -> RecordOut:
    """A service record as the API returns it."""
    return RecordOut(
        id=row.id,
        booking_id=row.booking_id,
        elder_id=row.elder_id,
        caregiver_id=row.caregiver_id,
        item_code=row.item_code,
        item_name=row.item_name,
        started_at=row.started_at.isoformat(),
        ended_at=row.ended_at.isoformat(),
        price_fen=int(row.price_fen),
        subsidy_fen=int(row.subsidy_fen),
        self_pay_fen=int(row.self_pay_fen),
        review=row.review,
        reversed=bool(row.reversed),
        **gate_of(row),
    )


def as_record(row: Any, elder_name: str) -> ServiceRecord:
    """A stored record as the statements and fraud checks see it."""
    kinds = set(row.proofs or [])
    return ServiceRecord(
        record_id=f"sr{row.id}",
        elder_id=str(row.elder_id),
        elder_name=elder_name,
        provider_id=f"station-{row.station_id}",
        caregiver_id=f"cg-{row.caregiver_id}" if row.caregiver_id else None,
        item_code=row.item_code,
        item_name=row.item_name,
        started_at=row.started_at,
        ended_at=row.ended_at,
        price_fen=int(row.price_fen),
        subsidy_fen=int(row.subsidy_fen),
        self_pay_fen=int(row.self_pay_fen),
        district=row.district,
        arrival_checked=bool(kinds & {"geofence", "door_code"}),  # a confirmation is not one
        payable=gate_of(row)["payable"],
        reversed=bool(row.reversed),
    )


def door_card(row: Any) -> DoorCardOut:
    return DoorCardOut(
        elder_id=row.elder_id,
        code=row.code,
        version=row.version,
        rotated_at=row.rotated_at.isoformat(),
    )


# ----- the ledger ---------------------------------------------------------------------------------


def entry(e: Entry) -> EntryOut:
    return EntryOut(
        entry_id=e.entry_id,
        account=e.account,
        kind=e.kind.value,
        amount_fen=e.amount_fen,
        period=e.period,
        at=e.at.isoformat(),
        record_id=e.record_id,
        reverses=e.reverses,
        memo=e.memo,
    )


def elder_ledger(elder_id: int, *, left: int, entries: Sequence[Entry]) -> LedgerOut:
    """An elder's quota and self-pay accounts: what is left, the balances, every entry."""
    accounts = sorted({e.account for e in entries})
    return LedgerOut(
        elder_id=elder_id,
        quota_left_fen=left,
        balances={a: ledger.balance(entries, a) for a in accounts},
        entries=[entry(e) for e in entries],
    )


def period_close(c: PeriodClose) -> PeriodCloseOut:
    return PeriodCloseOut(
        account=c.account,
        period=c.period,
        granted_fen=c.granted_fen,
        used_fen=c.used_fen,
        expired_fen=c.expired_fen,
        carried_fen=c.carried_fen,
        next_advance_fen=c.next_advance_fen,
    )


# ----- applications -------------------------------------------------------------------------------


def _note(e: Any, before: date | None) -> str:
    """A history row's note: what a person wrote, or the system's own row worded from its data
    (the due day it passed; the due day before the official calendar moved it)."""
    if e.action == ApplicationAction.NOTICE_ENDED and not e.note:
        return both("welfare.event.notice_ended")
    if e.note or e.action not in (ApplicationAction.OVERDUE, ApplicationAction.DUE_RECOMPUTED):
        return str(e.note)
    if e.action == ApplicationAction.OVERDUE:
        return both("welfare.event.overdue", due_on=e.due_on)
    return both("welfare.event.due_recomputed", before=before, after=e.due_on)


def events(rows: Iterable[Any]) -> list[ApplicationEventOut]:
    """An application's history, oldest first."""
    found: list[ApplicationEventOut] = []
    due: dict[str, date] = {}  # each step's due day so far
    for e in rows:
        found.append(
            ApplicationEventOut(
                at=e.at.isoformat(),
                step=e.step,
                action=e.action,
                note=_note(e, due.get(e.step)),
                actor_user_id=e.actor_user_id,
                due_on=e.due_on,
            )
        )
        if e.due_on is not None:
            due[e.step] = e.due_on
    return found


def application(
    row: Any, history: Iterable[Any], docs: Iterable[Any], *, today: date
) -> ApplicationOut:
    """An application with its current step's deadline, its history and its documents."""
    at_a_step = row.status in OPEN_STATES
    return ApplicationOut(
        id=row.id,
        elder_id=row.elder_id,
        district=row.district,
        rule_id=row.rule_id,
        status=row.status,
        step_received_on=row.step_received_on,
        step_due_on=row.step_due_on,
        provisional=bool(row.step_due_provisional),
        overdue=bool(at_a_step and row.step_due_on and is_overdue(row.step_due_on, today)),
        refusal_reason=row.refusal_reason,
        events=events(history),
        documents=[DocumentOut(**d._mapping) for d in docs],
    )


def officer(row: Any) -> OfficerOut:
    return OfficerOut(
        user_id=row.user_id,
        role=row.role,
        username=row.username,
        district=row.district,
        street=row.street,
    )


def calendar_year(year: int, *, official: bool, published: bool) -> CalendarYearOut:
    if published:
        return CalendarYearOut(year=year, official=official, source="published")
    return CalendarYearOut(
        year=year, official=official, source="package" if official else "provisional"
    )


def address_history(elder_id: int, rows: Iterable[Any]) -> AddressHistoryOut:
    return AddressHistoryOut(
        elder_id=elder_id,
        history=[
            ServiceAddressOut(address=r.address, since=r.since, elder_id=r.elder_id) for r in rows
        ],
    )


def fraud_signals(quarter: str, signals: Mapping[Signal, list[Flag]]) -> FraudSignalsOut:
    return FraudSignalsOut(
        quarter=quarter,
        signals=[
            FraudSignalOut(signal=k.value, record_ids=list(f.record_ids), detail=f.detail)
            for k, flags in signals.items()
            for f in flags
        ],
    )


# ----- statements ---------------------------------------------------------------------------------

# A printable notice: its own inline style, nothing else (no script, no images, no frames).
NOTICE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(sheets: Sequence[Sheet], fmt: str, name: str) -> web.Response:
    """Statements as a CSV (UTF-8 with BOM) or XLSX attachment."""
    if fmt == "csv":
        body, ctype = to_csv(sheets), "text/csv"
    else:
        body, ctype = to_xlsx(sheets), XLSX
    return web.Response(
        body=body,
        content_type=ctype,
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


# The documents an application takes, and the suffix each goes out with.
DOC_TYPES: Final = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def document_file(doc: Any) -> web.Response:
    """An uploaded document as an attachment, never sniffed into something else."""
    name = f"document-{doc.id}{DOC_TYPES[doc.content_type]}"
    return web.Response(
        body=doc.content,
        content_type=doc.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
