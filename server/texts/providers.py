"""Service organisations: providers, contracts, the red and black lists, fraud holds, ratings.

Problems go out as one string, "中文 / English" (``server.providers.out.both``); the published
list and the settlement are Chinese documents with Chinese headers.
"""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "providers.problem.subsidy_stopped": (
        "该老人的补贴已停发，需先解除",
        "This elder's subsidy is already stopped; lift it first",
    ),
    "providers.problem.credit_code_invalid": (
        "统一社会信用代码无效：{reason}",
        "the unified social credit code is not valid: {reason}",
    ),
    "providers.problem.licence_expired": (
        "营业执照或资质证书已于{expires}过期，请上传有效证件",
        "the licence or qualification expired on {expires}: upload a valid one",
    ),
    "providers.problem.credit_code_taken": (
        "该统一社会信用代码已登记",
        "a provider with this credit code is already registered",
    ),
    "providers.problem.street_full": (
        "一个街道同时签约的服务组织不超过{limit}家：{street}在该期间已签约{count}家",
        "a street contracts at most {limit} service providers at a time: {street} already "
        "has {count} in this period",
    ),
    "providers.problem.contract_dates": (
        "合同结束日期须晚于开始日期",
        "the contract must end after it starts",
    ),
    "providers.problem.listing_dates": (
        "名单截止日期不能早于起始日期",
        "a listing cannot end before it starts",
    ),
    "providers.problem.already_contracted": (
        "该服务组织在该街道已有重叠期间的合同",
        "this provider already has a contract with this street for an overlapping period",
    ),
    "providers.problem.black_listed": (
        "{name}已列入黑名单，不能签约、派单或结算新的服务",
        "{name} is black-listed: no new contracts, work or payment",
    ),
    "providers.problem.unqualified": (
        "{name}{year}年度考核评定为不合格，不能签约新的服务",
        "{name} was rated unqualified for {year}: no new contracts or bookings",
    ),
    "providers.problem.no_certificate": (
        "持证上岗：{item}须持有效的{certificate}，该护理员没有",
        "certified staff only: {item} needs a valid {certificate}, which this caregiver lacks",
    ),
    "providers.problem.record_on_hold": (
        "该服务记录因疑似虚假正在复核，复核前不能通过或结算",
        "this record is held for a fraud review: it cannot be passed or paid until decided",
    ),
    "providers.problem.already_held": (
        "该服务记录已在复核中或已复核",
        "this record is already held or decided",
    ),
    "providers.problem.recover_more_than_paid": (
        "追回金额{asked}分超过已支付的补贴{paid}分",
        "recovering {asked} fen is more than the {paid} fen of subsidy paid",
    ),
    "providers.problem.year_not_finished": (
        "{year}年度尚未结束，不能进行年度考核评定",
        "the year {year} is not over: it cannot be rated yet",
    ),
    "providers.problem.adjust_needs_reason": (
        "调整评定等级须写明理由",
        "changing the computed grade needs a written reason",
    ),
    "providers.problem.rating_exists": (
        "该服务组织本年度已有评定",
        "this provider already has a rating for this year",
    ),
    "providers.memo.fraud_upheld": (
        "虚假记录复核成立，追回：{note}",
        "fraud upheld, recovered: {note}",
    ),
    "providers.contract.end_unqualified": (
        "{year}年度考核不合格，合同期满终止",
        "rated unqualified for {year}: ends at the contract's end",
    ),
    "alarm.caregiver_black_listed": (
        "{name}已列入黑名单，今日{count}项服务已撤回并重新排班",
        "{name} is black-listed: {count} of today's visits were taken off her and re-planned",
    ),
    # The published list (CSV).
    "providers.sheet.list_title": ("{district}红黑名单", "{district} red and black lists"),
    "providers.sheet.kind": ("名单", "list"),
    "providers.sheet.subject": ("对象类型", "kind"),
    "providers.sheet.name": ("名称", "name"),
    "providers.sheet.reason": ("事由", "reason"),
    "providers.sheet.from": ("起始日期", "from"),
    "providers.sheet.until": ("截止日期", "until"),
    "providers.kind.red": ("红名单", "red list"),
    "providers.kind.black": ("黑名单", "black list"),
    "providers.subject.provider": ("服务组织", "provider"),
    "providers.subject.caregiver": ("护理员", "caregiver"),
    # The provider's quarterly settlement (CSV / XLSX).
    "providers.sheet.settlement_title": (
        "{name}{quarter}服务结算单",
        "{name}: settlement for {quarter}",
    ),
    "providers.sheet.record": ("记录号", "record"),
    "providers.sheet.day": ("服务日期", "day"),
    "providers.sheet.item": ("服务项目", "item"),
    "providers.sheet.state": ("状态", "state"),
    "providers.sheet.subsidy": ("补贴（分）", "subsidy (fen)"),
    "providers.sheet.recovered": ("追回（分）", "recovered (fen)"),
    "providers.state.paid": ("已通过", "passed"),
    "providers.state.held": ("复核中", "held"),
    "providers.state.recovered": ("已追回", "recovered"),
}
