"""Problems (RFC 9457 titles) by their machine code, for every reader: ``error.<code>``.

A problem+json answer carries ``title_i18n`` (key, params, zh, en) rendered from here, so the
phones and the console show it in their reader's language; a code not listed falls back to
the generic text of its family (``*_not_found``, ``*_state_conflict``, ``*_changed``).
"""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    # Generic families and the catch-all.
    "error.not_found": ("找不到要找的内容", "Not found"),
    "error.state_conflict": ("状态已变，不能这样操作，请刷新", "It has changed; reload and retry"),
    "error.changed": ("内容刚被别人改过，请刷新后重试", "It changed meanwhile; reload and retry"),
    "error.unknown": ("请求没有成功（{code}）", "The request did not succeed ({code})"),
    # Requests and the platform.
    "error.validation_error": ("填写的内容有误，请检查", "Some fields are not valid"),
    "error.store_unavailable": (
        "服务站的数据库暂时连不上，什么都没保存，请稍后再试",
        "The station's database cannot be reached just now; nothing was saved, try again",
    ),
    "error.malformed_json": ("请求格式有误", "The request is not valid JSON"),
    "error.conflict": (
        "与已有数据冲突（重复，或引用了不存在的内容）",
        "Conflicts with stored data",
    ),
    "error.value_out_of_range": ("有数值超出范围，无法保存", "A value cannot be stored"),
    "error.internal_error": ("服务器出错了，请稍后再试", "Server error; please try again"),
    "error.empty_body": ("请求内容为空", "The request body is required"),
    "error.number_out_of_range": ("数字太大", "A number is too large"),
    "error.unauthenticated": ("请先登录", "Please sign in first"),
    "error.forbidden": ("您的角色不能做这个操作", "Your role may not do this"),
    "error.http_error": ("请求没有成功", "The request did not succeed"),
    "error.method_not_allowed": ("不支持这个操作", "This operation is not allowed"),
    "error.too_large": ("内容太大", "The request is too large"),
    "error.bad_last_seq": ("消息序号有误", "last_seq is too large"),
    "error.bad_station_id": ("服务站编号有误", "station_id must be an integer"),
    "error.bad_limit": ("数量参数有误", "limit must be an integer"),
    # Signing in.
    "error.token_expired": ("登录已过期，请重新登录", "Your sign-in has expired; sign in again"),
    "error.invalid_token": ("登录无效，请重新登录", "Your sign-in is not valid; sign in again"),
    "error.invalid_refresh_token": ("登录已失效，请重新登录", "Please sign in again"),
    "error.bad_credentials": ("账号或密码不对", "Wrong username or password"),
    "error.account_inactive": ("这个账号已停用，请联系服务站", "This account is deactivated"),
    "error.account_locked": (
        "密码错误次数太多，请 {minutes} 分钟后再试",
        "Too many failed sign-ins; try again in {minutes} min",
    ),
    "error.link_code_not_found": ("绑定码无效", "This link code is not valid"),
    "error.assessment.bad_answers": (
        "有的评估项得分不在量表范围内",
        "Some answers are not on the scale",
    ),
    "error.assessment.bad_trigger": (
        "年度复评由评分自动安排，不能手工指定",
        "Yearly re-assessments are scheduled by the score",
    ),
    "error.assessment.not_scored": (
        "评估还没完成评分，没有服务计划",
        "Only a scored assessment has a plan",
    ),
    "error.assessment.plan_accepted": (
        "这份服务计划已经采纳过了",
        "This plan was accepted already",
    ),
    "error.assessment.unknown_flag": ("有不认识的加重项", "Unknown flags"),
    "error.assessment.unknown_scale": ("没有这个评估量表", "No such assessment scale"),
    "error.booking.day_care_is_an_enrolment": (
        "日间托老在站里进行，请为老人登记每周来站的日子，而不是预约上门服务",
        "Day care is attended at the station: enrol the elder for days of the week",
    ),
    "error.daycare.already_enrolled": (
        "老人已经登记或在排队，请先结束原来的登记",
        "The elder is already enrolled or waiting; end that enrolment first",
    ),
    "error.daycare.day_closed": (
        "站里这些日子不开日间托老",
        "The station runs no day care on these days",
    ),
    "error.daycare.day_past": ("那一天已经过去了", "That day is over"),
    "error.daycare.elder_inactive": ("老人的档案已停用", "The elder's file is not active"),
    "error.daycare.no_programme": ("本站还没有开设日间托老", "This station runs no day care yet"),
    "error.daycare.not_expected": (
        "老人那天不在托老名单上",
        "The elder is not expected at day care that day",
    ),
    "error.timebank.insufficient": ("时间银行里的时长不够", "Not enough hours in the time bank"),
    "error.volunteer.duplicate": (
        "这个手机号的志愿者已经登记过",
        "A volunteer with this phone is registered",
    ),
    "error.volunteer.inactive": ("这位志愿者已停用", "This volunteer is not active"),
    "error.caregiver.black_listed": (
        "该护理员已列入黑名单，不能派单或结算新的服务",
        "This caregiver is black-listed: no new work or payment",
    ),
    "error.caregiver.no_certificate": (
        "持证上岗：该护理员没有这项服务要求的有效证书",
        "Certified staff only: this caregiver lacks the certificate the item needs",
    ),
    "error.contract.already_contracted": (
        "该服务组织在该街道已有重叠期间的合同",
        "This provider already has a contract with this street for an overlapping period",
    ),
    "error.contract.dates_invalid": (
        "合同结束日期须晚于开始日期",
        "The contract must end after it starts",
    ),
    "error.contract.street_full": (
        "一个街道同时签约的服务组织不超过三家",
        "A street contracts at most three service providers at a time",
    ),
    "error.fraud.already_held": (
        "该服务记录已在复核中或已复核",
        "This record is already held or decided",
    ),
    "error.fraud.recover_more_than_paid": (
        "追回金额超过已支付的补贴",
        "Recovering more than the subsidy paid",
    ),
    "error.listing.dates_invalid": (
        "名单截止日期不能早于起始日期",
        "A listing cannot end before it starts",
    ),
    "error.provider.black_listed": (
        "该服务组织已列入黑名单，不能签约、派单或结算新的服务",
        "This provider is black-listed: no new contracts, work or payment",
    ),
    "error.provider.credit_code_invalid": (
        "统一社会信用代码无效",
        "The unified social credit code is not valid",
    ),
    "error.provider.credit_code_taken": (
        "该统一社会信用代码已登记",
        "A provider with this credit code is already registered",
    ),
    "error.provider.licence_expired": (
        "营业执照或资质证书已过期，请上传有效证件",
        "The licence or qualification has expired: upload a valid one",
    ),
    "error.provider.unqualified": (
        "该服务组织年度考核不合格，不能签约新的服务",
        "This provider was rated unqualified: no new contracts or bookings",
    ),
    "error.rating.adjust_needs_reason": (
        "调整评定等级须写明理由",
        "Changing the grade needs a written reason",
    ),
    "error.rating.exists": (
        "该服务组织本年度已有评定",
        "This provider already has a rating for this year",
    ),
    "error.rating.year_not_finished": (
        "该年度尚未结束，不能评定",
        "The year is not over: it cannot be rated yet",
    ),
    "error.record.on_hold": (
        "该服务记录因疑似虚假正在复核，复核前不能通过或结算",
        "This record is held for a fraud review: it cannot be passed or paid until decided",
    ),
    "error.already_answered": (
        "这条短信已经回复过了，如要改变，请打电话给服务站",
        "This link was answered already; to change it, phone the station",
    ),
    "error.link_expired": ("这条短信链接已失效", "This link has expired"),
    "error.session_ended": ("这次登录已结束，请重新登录", "This session has ended; sign in again"),
    "error.wrong_password": ("当前密码不对", "The current password is not right"),
    "error.password_too_short": ("密码太短，请至少设 8 位", "The password is too short"),
    "error.password_too_common": (
        "这个密码太常见，容易被猜到，请换一个",
        "This password is too common; choose another",
    ),
    "error.password_like_name": (
        "密码不能包含您的姓名、账号或手机号",
        "The password must not contain your name, login or phone",
    ),
    "error.rate_limited": (
        "操作太频繁，请 {minutes} 分钟后再试",
        "Too many of these; try again in {minutes} min",
    ),
    "error.overloaded": (
        "服务器正忙，这次什么都没做，请稍后再试",
        "The server is busy; nothing was done, try again shortly",
    ),
    "error.device_mismatch": ("签名的设备号与地址不符", "The signed body is for another device"),
    "error.binding_confirmed": (
        "这个绑定已确认，如要取消请解除绑定",
        "This binding is confirmed: revoke it instead",
    ),
    "error.bad_next": ("登录后要去的页面不对", "next must be a path on this site"),
    "error.bad_scope": ("微信授权方式不对", "scope is snsapi_base or snsapi_userinfo"),
    "error.oauth_state_expired": (
        "微信登录等得太久了，请重试",
        "The sign-in took too long; try again",
    ),
    "error.oauth_state_invalid": ("请从页面重新登录", "Sign in again from the page"),
    "error.wechat_oauth_not_configured": (
        "本站还没有配置微信公众号登录",
        "WeChat sign-in is not configured for this site",
    ),
    "error.wechat_already_used": ("这个微信已绑定别的账号", "This WeChat is used by someone else"),
    "error.wechat_linked_to_another_elder": (
        "这个微信已绑定另一位老人",
        "This WeChat is linked to another elder",
    ),
    "error.wechat_sign_in_conflict": ("微信正在重复登录，请重试", "Signing in twice; retry"),
    "error.wechat_error": ("微信登录失败", "WeChat sign-in failed"),
    "error.wechat_code_invalid": ("微信登录码无效或已用过", "The WeChat code is invalid or used"),
    "error.wechat_rate_limited": ("登录太频繁，请一分钟后再试", "Too many sign-ins; wait a minute"),
    "error.wechat_unavailable": ("微信登录暂时不可用，请重试", "WeChat sign-in is unavailable"),
    # Help calls and the caregiver's steps.
    "error.idempotency_key_required": ("请求缺少防重复编号", "An Idempotency-Key is required"),
    "error.idempotency_key_reused": (
        "防重复编号被用于不同的请求",
        "This Idempotency-Key was used with a different request",
    ),
    "error.idempotency_conflict": (
        "同一请求正在处理中，请稍后重试",
        "Still being processed; retry",
    ),
    "error.elder_id_required": ("请选择需要帮助的老人", "Say which elder needs help"),
    "error.elder_inactive": ("老人档案已停用，请致电服务站", "This elder's file is deactivated"),
    "error.elder_at_this_station": (
        "这位老人是本站的，请直接在本站建立呼叫",
        "This elder is your station's: open the call here",
    ),
    "error.match_not_found": (
        "来电没有匹配到这一位老人",
        "The call matched no elder at this place",
    ),
    "error.offer_gone": ("这个派单已失效", "This offer is no longer open"),
    "error.caregiver_not_available": ("没有这位在岗护理员", "No such active caregiver"),
    "error.incident_state_conflict": ("呼叫状态已变，请刷新", "The call has moved on; reload"),
    "error.incident_changed": ("呼叫刚被更新，请刷新后重试", "The call changed; reload and retry"),
    "error.no_arrival_to_confirm": ("没有待确认的到达", "No flagged arrival to confirm"),
    "error.call_back_not_reached": ("回电没有接通", "The call back did not get through"),
    "error.bad_call_back_time": (
        "回电时间应在呼叫之后、现在之前",
        "The call-back time is not valid",
    ),
    "error.task.reason_required": ("代护理员完成需要说明原因", "Give a reason"),
    "error.task.outcome_required": ("请填写处理情况", "Say what happened"),
    "error.task.start_unknown": ("请先报到达", "Arrive first"),
    "error.task.closed": ("这个任务已完成或已取消", "This task is already done or cancelled"),
    "error.record.times_invalid": ("结束时间应在开始之后", "The end must be after the start"),
    "error.record.in_future": ("服务还没发生，不能记录", "A service cannot be recorded early"),
    "error.record.before_booking": ("服务开始时间早于预约时间", "The visit began before booking"),
    "error.record.outside_window": (
        "这次服务离预约时段超过 2 小时，不算这次预约的服务",
        "The visit is more than 2 hours outside the booked window",
    ),
    "error.record_reversed": ("这条记录已冲销", "This record was reversed"),
    "error.record.unproven": ("这次上门没有得到证明", "This visit is not proven"),
    "error.visit_code.elder_has_phone": ("老人有手机，请用手机上的服务码", "Use the phone's code"),
    # Bookings and meals: the times a service is offered are given with the refusal.
    "error.booking.outside_hours": (
        "该服务只在{days} {opens}–{closes} 提供",
        "This service is offered only {days} {opens}–{closes}",
    ),
    "error.booking.naive_time": ("时间缺少时区", "Times must carry a time zone"),
    "error.booking.window_invalid": ("结束时间早于开始时间", "The window ends before it starts"),
    "error.booking.window_too_short": ("时段比服务所需时间短", "The window is too short"),
    "error.booking.in_the_past": ("时段已经过去", "The window starts in the past"),
    "error.booking.too_far_ahead": ("最多提前 60 天预约", "Book at most 60 days ahead"),
    "error.booking.elder_inactive": ("老人档案未启用", "The elder's file is not active"),
    "error.booking.item_inactive": ("这项服务暂不提供", "This service is not offered now"),
    "error.booking.class_not_allowed": ("老人的补贴类别不能用这项服务", "Not for this class"),
    "error.booking.double_booked": ("这个时间老人已有预约", "Already booked at that time"),
    "error.booking.no_slot": ("一周内没有空档", "No free slot in the next week"),
    "error.booking.cancel_too_late": (
        "开始前 2 小时内不能取消，请致电服务站",
        "Too late to cancel; call the station",
    ),
    "error.booking.not_cancellable": ("这个预约已不能取消", "This booking cannot be cancelled"),
    "error.booking.not_open": ("这个预约已完成或已取消", "This booking is completed or cancelled"),
    "error.service_item_exists": ("菜单上已有这个编号", "This code is already on the menu"),
    "error.recurrence.invalid": ("结束应在开始之后", "The end must be after the start"),
    "error.recurrence.stopped": ("这个周期预约已停止", "This rule was stopped"),
    "error.meal.no_menu": ("这天没有菜单", "No menu for this day"),
    "error.meal.menu_closed": ("这天的订餐已截止", "Orders for this day are closed"),
    "error.meal.not_cancellable": ("这份订餐已取消或已送出", "This order is cancelled or out"),
    "error.meal.order_closed": ("已过取消时间", "Too late to cancel"),
    "error.meal.menu_invalid": ("菜单有误", "The menu is not valid"),
    "error.meal.already_ordered": ("这天已经订过餐", "A meal is already ordered for this day"),
    "error.meal.elder_inactive": ("老人档案未启用", "The elder's file is not active"),
    "error.meal.empty_order": ("请至少选一样菜", "Choose at least one dish"),
    "error.meal.no_delivery_address": ("没有送餐地址", "No delivery address"),
    "error.meal.unknown_dish": ("菜单上没有这道菜", "No such dish on the menu"),
    # The hotline, the registry and the welfare office.
    "error.cross_site_post": ("只能从原页面提交", "This form can only be sent from its own page"),
    "error.link_not_found": ("链接无效", "This link is not valid"),
    "error.bad_receipt": ("回执无效", "The receipt is not valid"),
    "error.station_required": ("请选择服务站", "Say which station"),
    "error.owner_not_staff": ("负责人必须是本站在职人员", "The owner must be staff here"),
    "error.device_taken": ("这台设备已登记给别的老人", "This device belongs to another elder"),
    "error.not_recipient": ("只有被通知的人才能确认", "Only the person told can confirm"),
    "error.unknown_provider": ("本站没有这个服务商", "No such provider at this station"),
    "error.unknown_incident": ("这位老人没有这个呼叫", "No such call for this elder"),
    "error.unknown_task": ("这位老人没有这个回访任务", "No such visit task for this elder"),
    "error.unknown_hold": ("没有这个虚假记录复核", "No such fraud review"),
    "error.subsidy.already_stopped": (
        "该老人的补贴已停发，需先解除",
        "This elder's subsidy is already stopped; lift it first",
    ),
    "error.chain_not_changed": ("没有进行中的通知链", "No running chain to change"),
    "error.person_required": ("请说明代表谁", "Say whom you speak for"),
    "error.bad_override": ("步骤设置冲突", "Give either the steps or the delays, not both"),
    "error.application.wrong_level": ("这一步不归您审批", "This step is decided elsewhere"),
    "error.application.unknown_rule": ("本辖区没有这条政策", "No such rule in this district"),
    "error.application.not_needed": ("不需要申请", "No application is needed"),
    "error.application.closed": ("申请已有结果", "The application is already decided"),
    "error.application.in_public_notice": (
        "申请正在公示，公示期满或有异议时才能处理",
        "The application is in its public notice: it moves on when the notice ends or an "
        "objection is heard",
    ),
    "error.application.not_in_public_notice": (
        "申请不在公示期，不能登记异议",
        "The application is not in its public notice: no objection can be recorded",
    ),
    "error.application.no_notice": (
        "申请还在审核中，尚无公示或决定书",
        "The application is still under review: there is no notice or decision yet",
    ),
    "error.document.bad_kind": ("材料类型不对", "Wrong kind of document"),
    "error.document.bad_type": ("只能上传 JPEG、PNG 或 PDF", "Only JPEG, PNG or PDF"),
    "error.document.bad_size": ("文件大小须在 2 MB 以内", "Documents are 1 byte to 2 MB"),
    "error.document.bad_content": ("文件内容和类型不符", "The content does not match its type"),
    "error.ruleset.invalid": ("政策规则有误", "The rule set is not valid"),
    "error.ruleset.version_exists": ("这个版本已存在", "This version already exists"),
    "error.bad_quarter": ("季度格式应为 2026Q4", "Quarters look like 2026Q4"),
    "error.calendar.invalid": ("日历有误", "The calendar is not valid"),
    "error.address.too_many_places": ("登记的地址太多", "Too many addresses on file"),
    "error.address.too_many_changes": ("地址改动太频繁", "The address changed too often"),
    "error.address.unchanged": ("地址没有变化", "The address is unchanged"),
    "error.username_taken": ("用户名已被占用", "This username is taken"),
    "error.bad_location": ("坐标超出范围", "Coordinates out of range"),
    "error.login_taken": ("这个用户名或手机号已有账号", "This username or phone has an account"),
    "error.invalid_phone": ("手机号不对", "The phone number is not valid"),
    "error.phone_taken": ("这个手机号已被别的账号使用", "Another account uses this phone"),
    "error.not_a_caregiver": ("只有护理员本人能报告在岗和位置", "Only a caregiver reports this"),
    "error.elder_exists": ("这个身份证号的老人已登记", "An elder with this ID is registered"),
    "error.invalid_id_number": ("身份证号不对", "The ID number is not valid"),
}
