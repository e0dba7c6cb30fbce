// The station operator's console: live board, incident queue, caregivers, alarms, Today.
import {
  $, $$, h, t, bi, tr, lang, setLang, addStrings, Session, Live, keepFresh, loginForm,
  clockTime, hhmm, mmss, syncClock, now, toast,
} from "./common.js";
import { drawMap } from "./map.js";

addStrings({
  title: "安心 · 调度台", queue: "呼叫队列", caregivers: "护理员", map: "服务圈地图", today: "今日",
  no_incidents: "当前没有未完成的呼叫", phone_call: "电话建单", lang_switch: "English",
  dev_late: "离线时操作，补发（手机时间 {time}）", dev_flagged: "⚠ 手机时间 {time} 不可信，按服务器收到时间记录",
  loading: "加载中…", panel_failed: "加载失败，正在重试（这里是空的不代表没有呼叫）",
  board_failed: "⚠ 看板加载失败：{msg}。新呼叫可能看不到，正在重试；紧急情况请直接电话联系。",
  board_failed_stale: "⚠ 看板刷新失败：{msg}。下面是 {time} 的数据，可能已过时，正在重试。",
  live_lost: "⚠ 实时连接中断：新呼叫不会自动出现，正在重连。下面是 {time} 的数据。",
  side_failed: "护理员/今日数据刷新失败：{msg}（显示的是 {time} 的数据）",
  calls: "呼叫", accept_med: "接单中位/P90", arrive_med: "到达中位/P90", on_scene: "20分钟内到场",
  meals: "助餐准时", visits: "上门服务", on_duty: "在岗", load_chart: "负荷/人手（按小时）",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情",
  s_call_back: "待回电", s_open: "待派单", s_offered: "已派单待接", s_accepted: "已接单", s_en_route: "在途", s_arrived: "已到达",
  s_resolved: "已处理", s_closed: "已关闭",
  cg_off_duty: "离岗", cg_idle: "空闲", cg_offered: "待接单", cg_travelling: "在途", cg_serving: "服务中",
  src_app: "老人端", src_phone: "电话", src_operator: "调度员建单", src_device: "呼叫器", src_cti: "电话",
  res_false_alarm: "误报", res_test_press: "测试按键", res_accidental: "误触", res_handled_by_phone: "电话已处理", res_duplicate: "重复呼叫",
  age: "{n}岁", born: "{y}年生", semi: "半失能", disabled: "失能", others: "其他老人",
  chart_load: "负荷（呼叫+任务）", chart_staff: "在班人手", chart_hour: "时", cover: "紧急覆盖缺口",
  cover_title: "高风险老人无人能在20分钟内赶到的分钟数", sound_blocked: "🔇 点击开启警报声音", sound_on: "声音已开启",
  chain_paused: "已暂停", chain_finished: "已走完",
  alert_sending: "发送中", alert_delivered: "已送达", alert_exhausted: "未能联系上", alert_acknowledged: "已确认", alert_responsible: "已负责", alert_seen: "已读", alert_failed: "失败",
  ch_console: "调度台", ch_app_push: "App推送", ch_wechat: "微信", ch_sms: "短信", ch_voice: "语音电话",
  why_exact: "姓名一致", why_same_sound: "同音 {x}", why_similar: "近音 {x}", why_pinyin: "拼音 {x}", why_initials: "首字母 {x}",
  why_spelling: "字形相近 {x}", why_addr_has: "地址含 {x}", why_addr_like: "地址近似 {x}",
  self: "本人", independent: "自理",
  ev_repeat_press: "近期再次按键", ev_pressed_again: "再次按键", ev_arrival_flagged: "到达位置异常", ev_arrival_confirmed: "已确认到场",
  ev_called_back: "已回访", ev_call_back_missing: "未回访", ev_return_call_skipped: "免回访", ev_chain_fallback: "升级链回退",
  ev_alert_delivered: "通知已送达", ev_alert_unreachable: "联系不上", ev_alarm_call: "警报电话", ev_escalation_call: "升级电话",
  ev_responsibility_declined: "无法前往", ev_responsibility_withdrawn: "撤回负责", ev_care_record_disclosed: "已提供护理记录", ev_operator_acknowledged: "调度员已确认",
  left: "剩余", overdue: "已超时", arrived_in: "{m} 分钟到达", eta: "预计 {t} 到达",
  current: "当前", next: "下一项", none: "—",
  alarm: "警报", ack: "确认", ack_all: "全部确认 (a)", ack_done: "警报已确认",
  detail: "呼叫详情", timeline: "时间线", candidates: "调度候选与理由", assign: "指派", reason: "原因",
  manual_assign: "人工指派 / 改派", choose_cg: "选择护理员", assign_reason_ph: "例如：王芳就在楼下",
  assigned: "已指派给 {name}", close_false: "误报关闭（已回访）", notes: "备注", close: "关闭",
  closed_ok: "已按误报关闭", eta_min: "预计 {m} 分钟", meets: "能在20分钟内", not_meets: "超过20分钟",
  elder: "老人", opened: "呼入", deadline: "时限", status: "状态", caregiver: "护理员", source: "来源",
  search_elder: "搜索老人（姓名、地址、手机尾号）", call_type: "呼叫类型", note: "情况说明", create: "建单",
  created: "已建单 #{id}", joined: "已并入进行中的呼叫 #{id}", cancel: "取消",
  keys: "快捷键：j/k 上下移动 · Enter 打开 · a 确认警报 · n 电话建单 · Esc 关闭",
  high_risk: "高风险", elders_legend: "老人", incidents_legend: "呼叫", station: "服务站", kitchen: "中央厨房",
  flagged: "到达位置异常", press_count: "按键 {n} 次",
  late_press: "⏱ 迟到 {m} 分钟", late_press_at: "设备缓存的按键：{t} 按下，迟到 {m} 分钟送达",
  arrival_far: "签到位置距老人 {d} 米", arrival_far_limit: "（超出 {limit} 米）", confirm_arrival: "确认到达",
  confirm_hint: "到达未计入：请先电话联系护理员或老人，核实已到门口后再确认。", confirm_note_ph: "核实情况（可选）",
  arrival_confirmed_ok: "已确认到达", arrival_confirmed_by_op: "调度员已确认到场", qi_flag: "⚠ 到达待确认 · {d} 米",
  ev_opened: "呼叫进入", ev_offered: "派单", ev_accepted: "接单", ev_en_route: "出发", ev_arrived: "到达",
  ev_resolved: "处理完毕", ev_closed: "关闭", ev_alarm: "警报", ev_alarm_acknowledged: "警报已确认",
  ev_escalation_step: "升级流程", ev_responsibility_taken: "已有人负责", ev_escalation_stopped: "升级停止", no_candidates: "调度未找到可用护理员，请人工指派", not_dispatched: "非紧急呼叫：调度不派护理员，请回电处理（需要时可手动指派）",
  ev_offer_declined: "拒单", ev_offer_expired: "超时未接", ev_offer_withdrawn: "撤回", ev_caregiver_deactivated: "护理员已停用，重新派单", ev_joined: "再次按键",
  chain_running: "进行中", chain_stopped: "已有人负责", chain_closed: "已结束", ev_call_linked: "关联来电", ev_call_ended: "通话结束", ev_forwarded: "由其他服务站热线转来",
  forward_emergency: "紧急：转交所属服务站", forwarded_to: "已转交{station}（电话 {phone}），呼叫 #{id}", forwarded_elder: "老人：{name}，{address}",
  ev_marked_medical: "标记医疗急救", ev_escalation_skipped: "升级跳过", ev_called_120: "已拨打120", ev_care_record: "护理记录",
  unknown_caller: "未知号码", sign_in_locked: "{name} 的账号登录失败过多（来自 {source}），暂停 {minutes} 分钟", show_number: "显示号码", call_ringing: "来电", call_answered: "通话中", call_ended: "已挂断", call_missed: "未接",
  other_type: "其他类型…", find_elder: "查找老人并建单", recent_calls: "近期来电",
  nav_assess: "能力评估", nav_daycare: "日间托老", nav_volunteers: "志愿者", nav_reports: "运营报表", nav_audit: "审计日志", nav_applications: "补贴审批", nav_meals: "助餐", nav_welfare: "补贴与对账", nav_providers: "服务组织",
  sign_out: "退出", escalation: "升级流程（邻居、家属、120）", chain_status: "状态", chain_next: "下一步",
  chain_none: "尚未启动", escalate: "立即升级", escalate_default: "调度员手动升级", escalated: "已升级",
  medical: "医疗急救", medical_ok: "已标记为医疗急救，建议拨打120", called_120: "已拨打120", called_120_ok: "已记录拨打120",
}, {
  title: "Anxin · Dispatch console", queue: "Call queue", caregivers: "Caregivers", map: "Service circle", today: "Today",
  no_incidents: "No open calls", phone_call: "New from phone", lang_switch: "中文",
  dev_late: "sent late from an offline phone (phone time {time})", dev_flagged: "⚠ phone time {time} not plausible: recorded when the server got it",
  loading: "Loading…", panel_failed: "Could not load; retrying (empty here does not mean no calls)",
  board_failed: "⚠ The board could not be loaded: {msg}. New calls may not show; retrying. Phone directly in an emergency.",
  board_failed_stale: "⚠ The board could not be refreshed: {msg}. Below is the data of {time}, possibly out of date; retrying.",
  live_lost: "⚠ The live connection is down: new calls will not appear by themselves; reconnecting. Below is the data of {time}.",
  side_failed: "Caregivers/Today could not be refreshed: {msg} (showing the data of {time})",
  calls: "Calls", accept_med: "Accept med/P90", arrive_med: "Arrive med/P90", on_scene: "On scene ≤20 min",
  meals: "Meals on time", visits: "Visits", on_duty: "On duty", load_chart: "Load vs staff (hourly)",
  k_emergency: "Emergency", k_health: "Health", k_service: "Service", k_family: "Family",
  s_call_back: "To call back", s_open: "Waiting", s_offered: "Offered", s_accepted: "Accepted", s_en_route: "En route", s_arrived: "Arrived",
  s_resolved: "Resolved", s_closed: "Closed",
  cg_off_duty: "Off duty", cg_idle: "Idle", cg_offered: "Offered", cg_travelling: "Travelling", cg_serving: "Serving",
  src_app: "elder app", src_phone: "phone", src_operator: "operator", src_device: "call device", src_cti: "phone",
  res_false_alarm: "false alarm", res_test_press: "test press", res_accidental: "pressed by accident", res_handled_by_phone: "handled by phone", res_duplicate: "duplicate",
  age: "{n} yrs", born: "born {y}", semi: "partly dependent", disabled: "dependent", others: "other elders",
  chart_load: "load (calls + tasks)", chart_staff: "staff on shift", chart_hour: "h", cover: "Cover gap",
  cover_title: "minutes in which a high-risk elder could not be reached within 20 min", sound_blocked: "🔇 Click to enable alarm sound", sound_on: "Sound on",
  chain_paused: "paused", chain_finished: "finished",
  alert_sending: "sending", alert_delivered: "delivered", alert_exhausted: "not reached", alert_acknowledged: "acknowledged", alert_responsible: "responsible", alert_seen: "seen", alert_failed: "failed",
  ch_console: "console", ch_app_push: "app push", ch_wechat: "WeChat", ch_sms: "SMS", ch_voice: "voice call",
  why_exact: "exact name", why_same_sound: "same sound as {x}", why_similar: "similar sound {x}", why_pinyin: "pinyin {x}", why_initials: "initials {x}",
  why_spelling: "close spelling {x}", why_addr_has: "address has {x}", why_addr_like: "address like {x}",
  self: "self", independent: "independent",
  ev_repeat_press: "Pressed again soon after a call", ev_pressed_again: "Pressed again", ev_arrival_flagged: "Arrival location flagged", ev_arrival_confirmed: "Arrival confirmed",
  ev_called_back: "Called back", ev_call_back_missing: "Call-back missing", ev_return_call_skipped: "No call-back needed", ev_chain_fallback: "Escalation fallback",
  ev_alert_delivered: "Alert delivered", ev_alert_unreachable: "Could not reach", ev_alarm_call: "Alarm call", ev_escalation_call: "Escalation call",
  ev_responsibility_declined: "Cannot go", ev_responsibility_withdrawn: "Responsibility withdrawn", ev_care_record_disclosed: "Care record disclosed", ev_operator_acknowledged: "Operator acknowledged",
  left: "left", overdue: "overdue", arrived_in: "arrived in {m} min", eta: "ETA {t}",
  current: "Now", next: "Next", none: "—",
  alarm: "Alarm", ack: "Acknowledge", ack_all: "Acknowledge all (a)", ack_done: "Alarm acknowledged",
  detail: "Incident", timeline: "Timeline", candidates: "Dispatcher's candidates and why", assign: "Assign", reason: "Reason",
  manual_assign: "Assign / reassign by hand", choose_cg: "Choose a caregiver", assign_reason_ph: "e.g. she is next door",
  assigned: "Offered to {name}", close_false: "Close as false alarm (after call-back)", notes: "Notes", close: "Close",
  closed_ok: "Closed as false alarm", eta_min: "ETA {m} min", meets: "within 20 min", not_meets: "over 20 min",
  elder: "Elder", opened: "Opened", deadline: "Deadline", status: "Status", caregiver: "Caregiver", source: "Source",
  search_elder: "Search elders (name, address, phone end)", call_type: "Call type", note: "Note", create: "Create",
  created: "Created #{id}", joined: "Joined open call #{id}", cancel: "Cancel",
  keys: "Keys: j/k move · Enter open · a acknowledge · n new call · Esc close",
  high_risk: "high risk", elders_legend: "Elders", incidents_legend: "Calls", station: "Station", kitchen: "Kitchen",
  flagged: "arrival location flagged", press_count: "{n} presses",
  late_press: "⏱ {m} min late", late_press_at: "press buffered by the device: pressed at {t}, arrived {m} min late",
  arrival_far: "Checked in {d} m from the elder", arrival_far_limit: " (more than {limit} m)", confirm_arrival: "Confirm arrival",
  confirm_hint: "Not counted as on scene yet: call the caregiver or the elder, and confirm once they are at the door.", confirm_note_ph: "What you checked (optional)",
  arrival_confirmed_ok: "Arrival confirmed", arrival_confirmed_by_op: "confirmed by the operator", qi_flag: "⚠ arrival to confirm · {d} m",
  ev_opened: "Call in", ev_offered: "Offered", ev_accepted: "Accepted", ev_en_route: "Left", ev_arrived: "Arrived",
  ev_resolved: "Resolved", ev_closed: "Closed", ev_alarm: "Alarm", ev_alarm_acknowledged: "Alarm acknowledged",
  ev_escalation_step: "Escalation step", ev_responsibility_taken: "Responsibility taken", ev_escalation_stopped: "Escalation stopped", no_candidates: "The dispatcher found nobody available: assign by hand", not_dispatched: "Not an emergency: the dispatcher sends nobody; call back (assign by hand if needed)",
  ev_offer_declined: "Declined", ev_offer_expired: "Offer expired", ev_offer_withdrawn: "Withdrawn", ev_caregiver_deactivated: "Caregiver deactivated: offered again", ev_joined: "Pressed again",
  chain_running: "running", chain_stopped: "someone responsible", chain_closed: "closed", ev_call_linked: "Call linked", ev_call_ended: "Call ended", ev_forwarded: "Forwarded from another station's hotline",
  forward_emergency: "Emergency: hand to their station", forwarded_to: "Handed to {station} (phone {phone}), call #{id}", forwarded_elder: "Elder: {name}, {address}",
  ev_marked_medical: "Marked medical", ev_escalation_skipped: "Escalation step skipped", ev_called_120: "Called 120", ev_care_record: "Care record",
  unknown_caller: "unknown number", sign_in_locked: "Too many failed sign-ins to {name} (from {source}): held for {minutes} min", show_number: "show number", call_ringing: "ringing", call_answered: "on the line", call_ended: "ended", call_missed: "missed",
  other_type: "Other type…", find_elder: "Find the elder and open a call", recent_calls: "Recent calls",
  nav_assess: "Assessment", nav_daycare: "Day care", nav_volunteers: "Volunteers", nav_reports: "Reports", nav_audit: "Audit log", nav_applications: "Applications", nav_meals: "Meals", nav_welfare: "Subsidy", nav_providers: "Providers",
  sign_out: "Sign out", escalation: "Escalation (neighbour, family, 120)", chain_status: "Status", chain_next: "next",
  chain_none: "not started", escalate: "Escalate now", escalate_default: "escalated by the operator", escalated: "Escalated",
  medical: "Medical emergency", medical_ok: "Marked medical: advise 120", called_120: "Called 120", called_120_ok: "Recorded: 120 called",
});

const session = new Session("console");
const S = {
  board: null, incidents: new Map(), alarms: new Map(), caregivers: [], today: null,
  selected: null, openId: null, detail: null, conn: "connecting", calls: new Map(),
  snapshotAt: Date.now(), handledCalls: new Set(), log: [],
};
const URGENCY = { open: 0, offered: 1, accepted: 2, en_route: 3, arrived: 4 };
const KIND_RANK = { emergency: 0, health: 1, service: 2, family: 3 };

// An admin watches one station at a time (?station_id=N); an operator always their own.
const STATION_Q = (() => { const v = new URLSearchParams(location.search).get("station_id"); return v ? `?station_id=${encodeURIComponent(v)}` : ""; })();
// Applications, the period reports and the audit log (issue 15), beside the staff pages.
const REPORT_PAGES = [["/console/meals", "nav_meals"], ["/console/applications", "nav_applications"], ["/console/welfare", "nav_welfare"], ["/console/reports", "nav_reports"], ["/console/audit", "nav_audit"]];
const mine = (stationId) => !S.board || stationId === undefined || stationId === null || stationId === S.board.station.id;

// ----- data --------------------------------------------------------------------------------
// The board never shows a failure as a quiet night: while it loads the panels say so, a board
// that cannot be loaded raises a loud banner (and is tried again), and a board that is no
// longer kept live (the connection is down, or a panel failed) is marked stale with its time.
let boardRetry = 0; let boardTimer = null;
async function loadBoard() {
  clearTimeout(boardTimer);
  let b;
  try { b = await session.api("GET", `/api/v1/console/board${STATION_Q}`); }
  catch (e) {
    S.boardError = e.message || String(e); renderBanner();
    if (!S.board) renderLoading();
    boardTimer = setTimeout(() => loadBoard().catch(() => {}), Math.min(30000, 2000 * 2 ** boardRetry++));
    throw e;
  }
  boardRetry = 0; S.boardError = null; S.loadedAt = Date.now(); S.sideError = null;
  syncClock(b.now);
  S.snapshotAt = Date.parse(b.now);
  S.board = b;
  S.incidents = new Map(b.incidents.map((i) => [i.id, i]));
  S.alarms = new Map(b.alarms.map((a) => [a.id, a]));
  S.caregivers = b.caregivers;
  S.today = b.today;
  render(); renderBanner();
  if (S.openId) openIncident(S.openId, false);
  reconcileCalls();
}

async function refreshIncident(id) {
  try {
    const inc = await session.api("GET", `/api/v1/console/incidents/${id}`);
    // An admin's pushes cover every station: only this board's station enters its queue.
    if (!mine(inc.station_id)) return;
    if (["resolved", "closed"].includes(inc.status)) S.incidents.delete(id);
    else S.incidents.set(id, inc);
    if (S.openId === id) { S.detail = inc; renderDetail(); }
  } catch (e) { if (e.status === 404) S.incidents.delete(id); }
  renderQueue(); renderMap();
}

let sideTimer = null;
function refreshSide() {
  clearTimeout(sideTimer);
  sideTimer = setTimeout(async () => {
    try {
      const [cgs, today] = await Promise.all([
        session.api("GET", `/api/v1/console/caregivers${STATION_Q}`), session.api("GET", `/api/v1/console/today${STATION_Q}`)]);
      S.caregivers = cgs; S.today = today; S.sideError = null;
      renderCaregivers(); renderToday(); renderMap(); renderBanner();
    } catch (e) { console.warn(e); S.sideError = e.message || String(e); renderBanner(); }
  }, 250);
}

function onEvent(msg) {
  const p = msg.payload || {};
  S.log.push({ seq: msg.seq, type: msg.type, incident_id: p.incident_id }); S.log.splice(0, S.log.length - 100);
  // Replayed history from before the snapshot is already in it.
  if (S.snapshotAt && Date.parse(msg.at) < S.snapshotAt - 2000) return;
  // Station-wide messages name their station; an admin gets every station's.
  if (!mine(p.station_id)) return;
  if (msg.type === "alarm.raised") {
    S.alarms.set(p.alarm_id, { id: p.alarm_id, incident_id: p.incident_id, kind: p.kind, message: p.message, message_i18n: p.message_i18n, raised_at: msg.at });
    renderAlarms();
    if (p.incident_id) refreshIncident(p.incident_id);
    return;
  }
  if (msg.type === "alarm.acknowledged") { S.alarms.delete(p.alarm_id); renderAlarms(); return; }
  if (msg.type === "caregiver.location") {
    const c = S.caregivers.find((x) => x.id === p.caregiver_id);
    if (c) { c.location = { lat: p.lat, lng: p.lng }; renderMap(); }
    return;
  }
  if (msg.type === "caregiver.duty") { refreshSide(); return; }
  if (msg.type === "auth.sign_in_locked") { toast(t("sign_in_locked", { name: p.display_name, source: p.source, minutes: Math.ceil(p.seconds / 60) }), "err"); return; }
  if (msg.type === "call.ringing" && !S.handledCalls.has(p.call_id)) { S.calls.set(p.call_id, { ...p, status: "ringing", at: msg.at }); renderCalls(); beep(); return; }
  if (msg.type === "call.answered") { const c = S.calls.get(p.call_id); if (c) { c.status = "answered"; renderCalls(); } return; }
  if (msg.type === "call.ended") {
    const c = S.calls.get(p.call_id);
    if (c) { c.status = p.missed ? "missed" : "ended"; c.endedAt = now(); renderCalls(); }
    return;
  }
  if (p.incident_id && (msg.type.startsWith("incident.") || msg.type.startsWith("offer."))) {
    if (msg.type === "incident.closed" || msg.type === "incident.resolved") {  // alarms end with their call
      for (const [aid, a] of S.alarms) if (a.incident_id === p.incident_id) S.alarms.delete(aid);
      renderAlarms();
    }
    refreshIncident(p.incident_id);
    refreshSide();
  }
}

// ----- rendering ---------------------------------------------------------------------------
function shell() {
  const app = $("#app");
  app.replaceChildren(
    h("header", { class: "top" },
      h("div", { class: "brand" }, h("span", { class: "logo", text: "安心" }), h("span", { id: "station-name" })),
      h("nav", { class: "nav", "aria-label": "pages" }, [["/console/assess", "nav_assess"], ["/console/daycare", "nav_daycare"], ["/console/volunteers", "nav_volunteers"], ...REPORT_PAGES,
        // the providers' page is the district's (and an admin's), not a station operator's
        ...(session.data && session.data.role === "admin" ? [["/console/providers", "nav_providers"]] : [])]
        .map(([href, key]) => h("a", { href: href + STATION_Q, text: t(key) }))),
      h("div", { id: "today", class: "today", "aria-label": t("today") }),
      h("div", { class: "top-actions" },
        h("span", { id: "conn", class: "conn" }),
        h("button", { class: "btn", id: "btn-phone", onclick: openPhoneCall }, "☎ ", t("phone_call")),
        h("button", { class: "btn ghost", id: "btn-lang", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); shell(); render(); if (S.detail) renderDetail(); } }, t("lang_switch")),
        h("button", { class: "btn ghost", onclick: () => { live.stop(); session.signOut(); } }, t("sign_out")))),
    h("div", { id: "board-banner", class: "board-banner", role: "alert", hidden: true }),
    h("div", { id: "alarms", class: "alarm-banner", role: "alert", hidden: true }),
    h("main", { class: "board" },
      h("section", { class: "panel queue" }, h("div", { id: "calls", class: "calls" }),
        h("h2", {}, t("queue"), h("span", { id: "queue-count", class: "count" })),
        h("ol", { id: "queue", class: "queue-list" })),
      h("section", { class: "panel mapbox" }, h("h2", {}, t("map")),
        h("div", { class: "map-wrap" }, h("div", { id: "map", class: "map" }), h("div", { id: "legend", class: "legend" }))),
      h("section", { class: "panel cgs" }, h("h2", {}, t("caregivers")), h("ul", { id: "cglist", class: "cg-list" }),
        h("h3", { text: t("load_chart") }), h("div", { id: "chart", class: "chart" }))),
    h("aside", { id: "detail", class: "detail", hidden: true }),
    h("footer", { class: "keys", text: t("keys") }),
  );
  document.title = t("title");
}

function renderLoading() {
  const note = (text, cls) => h("li", { class: `panel-note ${cls}`, text });
  const failed = !!S.boardError;
  const text = failed ? t("panel_failed") : t("loading");
  for (const id of ["queue", "cglist"]) { const el = $(`#${id}`); if (el) el.replaceChildren(note(text, failed ? "err" : "loading")); }
}

// The loud banner: the board could not be loaded, or the live connection is down, or a panel
// could not be refreshed. Panels are marked stale meanwhile (with the time of their data).
function renderBanner() {
  const el = $("#board-banner"); if (!el) return;
  const since = S.loadedAt ? clockTime(new Date(S.loadedAt).toISOString()) : null;
  let text = null; let kind = "err";
  if (S.boardError) text = since ? t("board_failed_stale", { msg: S.boardError, time: since }) : t("board_failed", { msg: S.boardError });
  else if (S.conn === "offline" && S.everLive) text = t("live_lost", { time: since || "—" });
  else if (S.sideError) { text = t("side_failed", { msg: S.sideError, time: since || "—" }); kind = "warn"; }
  el.hidden = !text; el.className = `board-banner ${kind}`; el.dataset.state = text ? (S.boardError ? "board" : S.conn === "offline" ? "live" : "side") : "";
  el.textContent = text || "";
  const board = $("main.board");
  if (board) board.classList.toggle("stale", !!text && kind === "err");
}

function render() {
  if (!S.board) { renderLoading(); return; }
  $("#station-name").textContent = S.board.station.name;
  renderConn(); renderAlarms(); renderCalls(); renderQueue(); renderCaregivers(); renderToday(); renderMap();
}

function renderConn() {
  const el = $("#conn"); if (!el) return;
  el.className = `conn ${S.conn}`;
  el.textContent = S.conn === "live" ? `● ${t("live")}` : S.conn === "offline" ? `● ${t("offline")}` : `○ ${t("connecting")}`;
}

function sortedIncidents() {
  return [...S.incidents.values()].sort((a, b) =>
    (KIND_RANK[a.kind] - KIND_RANK[b.kind]) ||
    ((URGENCY[a.status] ?? 9) - (URGENCY[b.status] ?? 9)) ||
    ((a.deadline_at ? Date.parse(a.deadline_at) : Infinity) - (b.deadline_at ? Date.parse(b.deadline_at) : Infinity)) ||
    (a.id - b.id));
}

function countdown(inc) {
  if (inc.arrived_at) {
    const m = Math.round((Date.parse(inc.arrived_at) - Date.parse(inc.opened_at)) / 60000);
    return { text: t("arrived_in", { m }), cls: "ok" };
  }
  if (!inc.deadline_at) return { text: "", cls: "" };
  const left = (Date.parse(inc.deadline_at) - now()) / 1000;
  const cls = left < 180 ? "red" : left < 480 ? "amber" : "green";
  return { text: left >= 0 ? mmss(left) : `${t("overdue")} ${mmss(-left)}`, cls };
}

function renderQueue() {
  const ol = $("#queue"); if (!ol) return;
  if (!S.board) { renderLoading(); return; }   // never "no open calls" without a board
  const list = sortedIncidents();
  $("#queue-count").textContent = ` ${list.length}`;
  if (S.selected && !S.incidents.has(S.selected)) S.selected = null;
  if (!S.selected && list.length) S.selected = list[0].id;
  ol.replaceChildren(...(list.length ? list.map((inc) => {
    const cd = countdown(inc);
    const hasAlarm = [...S.alarms.values()].some((a) => a.incident_id === inc.id);
    return h("li", {
      class: `qi kind-${inc.kind} st-${inc.status}${inc.id === S.selected ? " sel" : ""}${hasAlarm ? " alarmed" : ""}`,
      dataset: { id: inc.id }, tabindex: 0, "data-testid": `incident-${inc.id}`,
      onclick: () => { S.selected = inc.id; openIncident(inc.id); },
    },
      h("div", { class: "qi-top" },
        h("span", { class: `kind k-${inc.kind}`, text: t(`k_${inc.kind}`) }),
        h("strong", { class: "qi-name", text: inc.elder_name }),
        h("span", { class: `cd ${cd.cls}`, "data-countdown": inc.id, text: cd.text })),
      h("div", { class: "qi-sub" },
        h("span", { class: `st st-${inc.status}`, "data-status": inc.status, text: statusLabel(inc) }),
        // Separators are their own items, so the flex gap spaces them evenly in both languages.
        ...sep(
          inc.caregiver_name ? h("span", { class: "qi-cg", text: inc.caregiver_name })
            : inc.offer ? h("span", { class: "qi-cg", text: `→ ${inc.offer.caregiver_name}` }) : null,
          inc.eta_at && !inc.arrived_at ? h("span", { class: "qi-eta", text: t("eta", { t: hhmm(inc.eta_at) }) }) : null,
          inc.press_count > 1 ? h("span", { class: "qi-press", text: t("press_count", { n: inc.press_count }) }) : null,
          inc.late_s ? h("span", { class: "qi-late warn", "data-late": inc.late_s, text: t("late_press", { m: lateMinutes(inc) }) }) : null,
          awaitingConfirmation(inc) ? h("span", { class: "qi-flag", "data-flag": "arrival", text: t("qi_flag", { d: metres(inc.arrival_distance_m) }) }) : null),
        h("span", { class: "qi-time", text: hhmm(inc.opened_at) })));
  }) : [h("li", { class: "empty", text: t("no_incidents") })]));
}

// A check-in too far from the elder: not on scene until the operator confirms it (or the
// caregiver checks in again nearby).
// A press the device buffered (no network) and sent later: how late, in whole minutes.
function lateMinutes(inc) { return Math.max(1, Math.round((inc.late_s || 0) / 60)); }
function awaitingConfirmation(inc) { return !!inc.arrival_flagged && ["accepted", "en_route"].includes(inc.status); }
function metres(d) { return d === null || d === undefined ? "?" : Math.round(d).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB"); }

// "a · b · c" as flex items: the parts given, each preceded by a separator.
function sep(...parts) {
  return parts.filter(Boolean).flatMap((p) => [h("span", { class: "sep", text: "·", "aria-hidden": "true" }), p]);
}

// Keep the selected call in view when moving with j/k.
function scrollToSelected() {
  const el = S.selected && $(`#queue [data-testid=incident-${S.selected}]`);
  if (el) el.scrollIntoView({ block: "nearest" });
}

function tickCountdowns() {
  for (const el of $$("[data-countdown]")) {
    const inc = S.incidents.get(Number(el.dataset.countdown)) || (S.detail && S.detail.id === Number(el.dataset.countdown) ? S.detail : null);
    if (!inc) continue;
    const cd = countdown(inc);
    el.textContent = cd.text; el.className = `cd ${cd.cls}`;
  }
}

function renderCaregivers() {
  const ul = $("#cglist"); if (!ul) return;
  if (!S.board) { renderLoading(); return; }
  ul.replaceChildren(...S.caregivers.map((c) => h("li", { class: `cg cg-${c.status}`, "data-testid": `cg-${c.id}` },
    h("div", { class: "cg-top" },
      h("span", { class: `dot ${c.status}` }), h("strong", { text: c.name }),
      h("span", { class: `cg-st ${c.status}`, text: t(`cg_${c.status}`) }),
      c.eta_at ? h("span", { class: "cg-eta", text: t("eta", { t: hhmm(c.eta_at) }) }) : null),
    h("div", { class: "cg-sub" }, `${t("current")}: `, c.current ? tr(c.current.title_i18n, c.current.title) : t("none")),
    h("div", { class: "cg-sub" }, `${t("next")}: `, c.next ? `${hhmm(c.next.at)} ${tr(c.next.title_i18n, c.next.title)}` : t("none")))));
}

function fmtS(s) {
  if (s === null || s === undefined) return "—";
  return s < 90 ? `${Math.round(s)}s` : `${(s / 60).toFixed(1)}m`;
}

function renderToday() {
  const d = S.today; const el = $("#today"); if (!d || !el) return;
  const share = d.on_scene_share === null ? "—" : `${Math.round(d.on_scene_share * 100)}%`;
  const tile = (label, value, id) => h("div", { class: "tile", "data-testid": id }, h("span", { class: "tv", text: value }), h("span", { class: "tl", text: label }));
  el.replaceChildren(...[
    tile(t("calls"), String(d.calls), "today-calls"),
    tile(t("accept_med"), `${fmtS(d.accept_median_s)}/${fmtS(d.accept_p90_s)}`, "today-accept"),
    tile(t("arrive_med"), `${fmtS(d.arrive_median_s)}/${fmtS(d.arrive_p90_s)}`, "today-arrive"),
    tile(t("on_scene"), `${share} (${d.on_scene_in_time}/${d.on_scene_judged})`, "today-onscene"),
    tile(t("meals"), `${d.meals_on_time}/${d.meals}`, "today-meals"),
    tile(t("visits"), `${d.visits_done}/${d.visits}`, "today-visits"),
    tile(t("on_duty"), `${d.caregivers_on_duty}/${d.caregivers}`, "today-duty"),
    // Emergency cover from the day plan, where the planning API gives it.
    d.cover_gap_min !== undefined && d.cover_gap_min !== null
      ? h("div", { class: `tile${d.cover_gap_min > 0 ? " warn" : ""}`, "data-testid": "today-cover", title: t("cover_title") },
        h("span", { class: "tv", text: `${d.cover_gap_min} ${t("min")}` }), h("span", { class: "tl", text: t("cover") })) : null,
  ].filter(Boolean));
  renderChart(d.hours || []);
}

// Load (calls + tasks starting in the hour) as bars against staff on shift as a step line, with
// an hour axis, a count axis and a legend, so the chart reads without explanation.
function renderChart(hours) {
  const box = $("#chart"); if (!box) return;
  const W = 280, H = 64, L = 16, T = 4, B = 12;
  const bw = (W - L) / 24;
  const max = Math.max(1, ...hours.map((x) => Math.max(x.load, x.staff)));
  const ns = "http://www.w3.org/2000/svg";
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const y = (v) => T + H - (v / max) * H;
  const svg = mk("svg", { viewBox: `0 0 ${W} ${T + H + B}`, class: "chart-svg", role: "img", "aria-label": t("load_chart") });
  svg.append(mk("line", { x1: L, y1: T + H, x2: W, y2: T + H, class: "axis" }));
  svg.append(mk("line", { x1: L, y1: T, x2: L, y2: T + H, class: "axis" }));
  for (const v of [0, Math.ceil(max / 2), max]) {
    svg.append(mk("text", { x: L - 3, y: y(v) + 3, "text-anchor": "end" }, String(v)));
    if (v) svg.append(mk("line", { x1: L, y1: y(v), x2: W, y2: y(v), class: "gridline" }));
  }
  let path = "";
  hours.forEach((x, i) => {
    const x0 = L + i * bw;
    if (x.load) svg.append(mk("rect", { x: x0 + 1, y: y(x.load), width: bw - 2, height: T + H - y(x.load), class: "bar" },));
    path += `${i ? "L" : "M"}${x0},${y(x.staff)}H${x0 + bw}`;
    if (i % 3 === 0) svg.append(mk("text", { x: x0, y: T + H + B - 2, "text-anchor": "middle" }, String(i)));
  });
  svg.append(mk("path", { d: path, class: "staff" }));
  const hour = new Date(now()).toLocaleString("en-GB", { hour: "numeric", hour12: false, timeZone: "Asia/Shanghai" });
  const nx = L + (Number(hour) + 0.5) * bw;
  svg.append(mk("line", { x1: nx, y1: T, x2: nx, y2: T + H, class: "nowline" }));
  box.replaceChildren(svg, h("div", { class: "chart-legend" },
    h("i", { class: "sw bar" }), t("chart_load"), h("i", { class: "sw staff" }), t("chart_staff")));
}

function renderMap() {
  if (!S.board || !$("#map")) return;
  drawMap($("#map"), {
    station: S.board.station, elders: S.board.elders, caregivers: S.caregivers,
    incidents: [...S.incidents.values()], selected: S.openId || S.selected,
    labels: { station: t("station"), kitchen: t("kitchen"), high_risk: t("high_risk"), semi: t("semi"), disabled: t("disabled"), independent: t("independent") },
    tileUrl: S.board.map && S.board.map.tile_url,
    onIncident: (id) => { S.selected = id; openIncident(id); },
  });
  const item = (cls, label) => h("span", { class: "lgi" }, h("i", { class: `lg ${cls}` }), label);
  $("#legend").replaceChildren(
    h("div", { class: "lg-row" }, h("b", { text: t("elders_legend") }), item("e", t("independent")), item("e semi", t("semi")),
      item("e dis", t("disabled")), item("e hr", t("high_risk"))),
    h("div", { class: "lg-row" }, h("b", { text: t("caregivers") }),
      ...["idle", "offered", "travelling", "serving", "off_duty"].map((s) => item(`c ${s}`, t(`cg_${s}`)))),
    h("div", { class: "lg-row" }, item("inc", t("incidents_legend"))));
}

// The hotline's screen pop: who is calling, their open calls and recent calls, one click to act.
function renderCalls() {
  const box = $("#calls"); if (!box) return;
  box.replaceChildren(...[...S.calls.values()].map((c) => h("div", { class: `call ${c.status}`, "data-call": c.call_id },
    h("div", { class: "call-top" }, h("strong", { text: `☎ ${c.caller || t("unknown_caller")}` }),
      c.caller && c.caller.includes("*") ? h("button", { class: "btn small ghost", onclick: () => revealCaller(c) }, t("show_number")) : null,
      h("span", { class: "call-st", text: t(`call_${c.status}`) }),
      h("button", { class: "btn small ghost", onclick: () => { S.calls.delete(c.call_id); S.handledCalls.add(c.call_id); renderCalls(); } }, "✕")),
    ...(c.matches || []).map((m, i) => m.elsewhere ? elsewhereMatch(c, m, i) : h("div", { class: "call-match" },
      h("div", {}, h("strong", { text: m.name }), ` · ${[callerOf(m), careLevel(m.care_level)].filter(Boolean).join(" · ")}`),
      h("div", { class: "muted", text: m.address }),
      h("div", { class: "row" },
        h("button", { class: "btn small danger", onclick: () => callIncident(c.call_id, m.elder_id, "emergency") }, t("k_emergency")),
        h("button", { class: "btn small", onclick: () => openPhoneCall(c.call_id, m.elder_id) }, t("other_type"))))),
    (c.matches || []).length ? null : h("button", { class: "btn small", onclick: () => openPhoneCall(c.call_id) }, t("find_elder")),
    ...(c.open_incidents || []).map((i) => h("div", { class: "muted" }, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); openIncident(i.incident_id); } }, `#${i.incident_id}`), ` ${t(`k_${i.kind}`)} · ${t(`s_${i.status}`)}`)),
    (c.recent_calls || []).length ? h("div", { class: "muted", text: `${t("recent_calls")}: ${(c.recent_calls || []).map((r) => `${hhmm(r.at)}${r.missed ? "(" + t("call_missed") + ")" : ""}`).join(", ")}` }) : null)));
}

// Another station's elder: nothing about them, but an emergency is never lost for it. One
// click opens it at their own station; the answer says where it went (to tell the caller and
// 120), and their name and address where that station shares them in an emergency.
function elsewhereMatch(c, m, i) {
  const fwd = c.forwarded && c.forwarded[i];
  return h("div", { class: "call-match", "data-elsewhere": String(i) },
    h("div", { class: "muted", text: m.name }),
    fwd ? h("div", { class: "forwarded", role: "status" },
      h("div", { text: t("forwarded_to", { station: fwd.station_name, phone: fwd.station_phone || "-", id: fwd.incident_id }) }),
      fwd.shared ? h("div", { text: t("forwarded_elder", { name: fwd.elder_name, address: fwd.address }) }) : null)
      : h("div", { class: "row" },
        h("button", { class: "btn small danger", onclick: () => forwardEmergency(c, i) }, t("forward_emergency"))));
}

async function forwardEmergency(c, i) {
  try {
    const r = await session.api("POST", `/api/v1/hotline/calls/${encodeURIComponent(c.call_id)}/forward`, { match: i });
    c.forwarded = { ...(c.forwarded || {}), [i]: r }; renderCalls();
  } catch (e) { toast(t("error", { msg: e.message }), "err"); }
}

// Who is on the line for this elder: "本人" when it is the elder, else "女儿 王丽".
function callerOf(m) {
  const self = !m.relation || m.relation === "本人" || m.relation === "self" || m.caller_name === m.name;
  if (self) return t("self");
  return [m.relation, m.caller_name].filter(Boolean).join(" ");
}
function careLevel(level) {
  return level === "失能" ? t("disabled") : level === "半失能" ? t("semi") : level === "自理" ? t("independent") : (level || "");
}

// A screen pop lasts while its call does: an ended call's card goes after a short while, one
// that rang for minutes unanswered or was missed while offline does not linger either.
const CALL_LINGER_MS = { ended: 20000, missed: 60000 };
function expireCalls() {
  let changed = false;
  for (const [id, c] of S.calls) {
    // The server's time (the PC's clock may be off): a call's own times are the server's.
    const age = now() - (c.endedAt || Date.parse(c.at));
    if ((c.endedAt && age > (CALL_LINGER_MS[c.status] || 20000)) || (!c.endedAt && c.status === "ringing" && age > 180000)) {
      S.calls.delete(id); changed = true;
    }
  }
  if (changed) renderCalls();
}
setInterval(expireCalls, 2000);

// After a reconnect: what the hotline says about the calls on screen (ended or linked meanwhile).
async function reconcileCalls() {
  if (!S.calls.size) return;
  let recent;
  try { recent = await session.api("GET", "/api/v1/hotline/calls"); } catch (e) { return; }
  const byId = new Map(recent.map((r) => [r.call_id, r]));
  for (const [id, c] of S.calls) {
    const r = byId.get(id);
    if (!r) continue;
    if (r.incident_id) { S.calls.delete(id); continue; }
    if (r.status === "ended" && !c.endedAt) { c.status = r.missed ? "missed" : "ended"; c.endedAt = Date.parse(r.ended_at || "") || now(); }
    else if (r.status === "answered") c.status = "answered";
  }
  expireCalls(); renderCalls();
}

// The hotline's name index says why an elder matched (in English): say it in Chinese too.
function matchWhy(why) {
  if (!why || lang() === "en") return why || "";
  return why.split("; ").map((part) => {
    let m;
    if (part === "exact name") return t("why_exact");
    if ((m = part.match(/^same sound as (.+?)(?: \(.*\))?$/))) return t("why_same_sound", { x: m[1] });
    if ((m = part.match(/^similar sound \((.*)\)$/))) return t("why_similar", { x: m[1] });
    if ((m = part.match(/^pinyin (.+)$/))) return t("why_pinyin", { x: m[1] });
    if ((m = part.match(/^initials (.+)$/))) return t("why_initials", { x: m[1] });
    if ((m = part.match(/^close spelling \((.*)\)$/))) return t("why_spelling", { x: m[1] });
    if ((m = part.match(/^address has (.+)$/))) return t("why_addr_has", { x: m[1] });
    if ((m = part.match(/^address like (.+)$/))) return t("why_addr_like", { x: m[1] });
    return "";
  }).filter(Boolean).join("；");
}

// The caller's full number is masked on the screen pop; showing it leaves an audit row.
async function revealCaller(c) {
  try {
    const r = await session.api("POST", `/api/v1/hotline/calls/${encodeURIComponent(c.call_id)}/caller`);
    c.caller = r.caller; renderCalls();
  } catch (e) { toast(t("error", { msg: e.message }), "err"); }
}

async function callIncident(callId, elderId, kind) {
  try {
    const r = await session.api("POST", `/api/v1/hotline/calls/${encodeURIComponent(callId)}/incident`, { elder_id: elderId, call_type: kind, note: "" });
    toast(r.joined ? t("joined", { id: r.incident_id }) : t("created", { id: r.incident_id }));
    S.calls.delete(callId); S.handledCalls.add(callId); renderCalls();
    S.selected = r.incident_id; refreshIncident(r.incident_id); openIncident(r.incident_id);
  } catch (e) { toast(t("error", { msg: e.message }), "err"); }
}

// ----- alarms ------------------------------------------------------------------------------
// A beep every 2 s while an alarm is open. Browsers may block sound until the page has been
// clicked: then a visible "click to enable sound" button says so, and only beeps actually
// played are counted (window.__anxinBeeps, for the tests).
let audioCtx = null;
function audio() {
  try { audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audioCtx = null; }
  return audioCtx;
}
function beep() {
  const ctx = audio();
  if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  renderSound();
  if (!ctx || ctx.state !== "running") return;
  try {
    const o = ctx.createOscillator(); const g = ctx.createGain();
    o.type = "square"; o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, ctx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    o.connect(g).connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.4);
    window.__anxinBeeps = (window.__anxinBeeps || 0) + 1;
  } catch (e) { /* no audio device */ }
}
function renderSound() {
  const btn = $("#sound"); if (!btn) return;
  // No sound, for whatever reason (blocked until a click, or no audio context could be made):
  // the operator must know the alarm is silent.
  btn.hidden = !(S.alarms.size && (!audioCtx || audioCtx.state !== "running"));
}
async function enableSound() {
  const ctx = audio();
  if (ctx) { try { await ctx.resume(); } catch (e) { /* still blocked */ } }
  renderSound();
  if (ctx && ctx.state === "running") { toast(t("sound_on")); if (S.alarms.size) beep(); }
}
setInterval(() => { if (S.alarms.size) beep(); }, 2000);
for (const ev of ["click", "keydown"]) document.addEventListener(ev, () => { if (audioCtx && audioCtx.state === "suspended") audioCtx.resume().then(renderSound, () => {}); });

const heard = new Set();
function renderAlarms() {
  const box = $("#alarms"); if (!box) return;
  const list = [...S.alarms.values()].sort((a, b) => a.id - b.id);
  if (list.some((a) => !heard.has(a.id))) { list.forEach((a) => heard.add(a.id)); beep(); }
  box.hidden = list.length === 0;
  document.body.classList.toggle("alarming", list.length > 0);
  requestAnimationFrame(placeDetail);
  box.replaceChildren(h("button", { class: "btn small sound", id: "sound", hidden: true, onclick: enableSound }, t("sound_blocked")), ...list.map((a) => {
    const inc = a.incident_id ? S.incidents.get(a.incident_id) : null;
    return h("div", { class: "alarm", "data-testid": `alarm-${a.id}` },
      h("span", { class: "alarm-icon", text: "⚠" }),
      h("span", { class: "alarm-msg", text: `${t("alarm")} · ${hhmm(a.raised_at)} · ${tr(a.message_i18n, a.message)}` }),
      inc ? h("button", { class: "btn small", onclick: () => openIncident(inc.id) }, `#${inc.id}`) : null,
      h("button", { class: "btn small danger", "data-ack": a.id, onclick: () => ackAlarm(a.id) }, t("ack")));
  }));
  renderSound();  // after the button is made anew, or a blocked sound hides until the next beep
  renderQueue();
}

// The detail panel sits below the header and the alarm banner, so acknowledging stays reachable.
function placeDetail() {
  const top = ($("header.top")?.offsetHeight || 46) + ($("#alarms")?.offsetHeight || 0) + 6;
  document.documentElement.style.setProperty("--detail-top", `${top}px`);
}
window.addEventListener("resize", placeDetail);

async function ackAlarm(id) {
  try {
    await session.api("POST", `/api/v1/alarms/${id}/ack`);
    S.alarms.delete(id); renderAlarms(); toast(t("ack_done"));
  } catch (e) { toast(t("error", { msg: e.message }), "err"); }
}

// ----- incident detail ---------------------------------------------------------------------
async function openIncident(id, focus = true) {
  S.openId = id;
  try { S.detail = await session.api("GET", `/api/v1/console/incidents/${id}`); }
  catch (e) { toast(t("error", { msg: e.message }), "err"); return; }
  renderDetail();
  renderMap();
  if (focus) $("#detail").focus();
}

function closeDetail() { S.openId = null; S.detail = null; $("#detail").hidden = true; renderMap(); }

// A step sent late from a phone that was offline: when it happened on the phone, or that the
// phone's time could not be believed (recorded at the server's time instead).
function deviceMark(ev) {
  const d = ev.data || {};
  if (d.device_time_flagged) return h("span", { class: "dev-mark flagged", "data-device": "flagged", text: t("dev_flagged", { time: clockTime(d.device_time) }) });
  if (d.late) return h("span", { class: "dev-mark late", "data-device": "late", text: t("dev_late", { time: clockTime(d.recorded_at || ev.at) }) });
  return null;
}

// An open call the dispatcher does not handle waits for a call back, not for a dispatch.
function statusLabel(inc) { return inc.status === "open" && inc.kind && inc.kind !== "emergency" ? t("s_call_back") : t(`s_${inc.status}`); }
function resolution(code) { const k = `res_${code}`; return t(k) === k ? String(code).replaceAll("_", " ") : t(k); }
function source(code) { const k = `src_${code}`; return t(k) === k ? String(code) : t(k); }

function evSummary(ev) {
  const d = ev.data || {};
  const parts = [];
  if (d.caregiver_id) {
    const c = S.caregivers.find((x) => x.id === d.caregiver_id);
    parts.push(c ? c.name : `#${d.caregiver_id}`);
  }
  if (d.eta_s) parts.push(t("eta_min", { m: Math.max(1, Math.round(d.eta_s / 60)) }));
  if (d.reason) parts.push(tr(d.reason_i18n, String(d.reason)));
  if (d.message) parts.push(tr(d.message_i18n, String(d.message)));
  if (d.distance_m !== undefined) parts.push(`${Math.round(d.distance_m)} m`);
  if (d.notes) parts.push(String(d.notes));
  if (d.resolution) parts.push(resolution(d.resolution));
  return parts.join(" · ");
}

const KEEP = ["#assign-cg", "#assign-reason", "#close-notes", "#escalate-reason", "#confirm-note"];

function confirmedByOperator(inc) { return (inc.timeline || []).some((ev) => ev.kind === "arrival_confirmed"); }

// The flagged check-in: how far it was, and the operator's confirmation after a call.
function arrivalBox(inc) {
  const flaggedEv = [...(inc.timeline || [])].reverse().find((ev) => ev.kind === "arrival_flagged");
  const limit = flaggedEv && flaggedEv.data && flaggedEv.data.tolerance_m;
  const note = h("input", { id: "confirm-note", placeholder: t("confirm_note_ph"), maxlength: 500 });
  return h("form", { class: "d-form arrival-flag", id: "arrival-flag", role: "alert", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await session.api("POST", `/api/v1/incidents/${inc.id}/confirm-arrival`, { note: note.value.trim() });
      toast(t("arrival_confirmed_ok")); refreshIncident(inc.id);
    } catch (e) { toast(t("error", { msg: e.message }), "err"); refreshIncident(inc.id); }
  } },
    h("h3", { id: "arrival-far", text: `⚠ ${t("arrival_far", { d: metres(inc.arrival_distance_m) })}${limit ? t("arrival_far_limit", { limit: metres(limit) }) : ""}` }),
    h("p", { class: "hint", text: t("confirm_hint") }), note,
    h("button", { class: "btn primary", type: "submit", id: "confirm-arrival" }, t("confirm_arrival")));
}
function renderDetail() {
  const inc = S.detail; const box = $("#detail");
  if (!inc) { box.hidden = true; return; }
  // Live updates re-render the panel: keep what the operator was typing, and the focus.
  const same = box.dataset.incident === String(inc.id);
  const kept = same ? KEEP.map((sel) => [sel, $(sel, box)?.value]) : [];
  const focused = same && document.activeElement && box.contains(document.activeElement) && document.activeElement.id;
  const scroll = same ? box.scrollTop : 0;
  box.dataset.incident = String(inc.id);
  box.hidden = false; box.tabIndex = -1;
  const cd = countdown(inc);
  const active = !["resolved", "closed"].includes(inc.status);
  const cgSelect = h("select", { id: "assign-cg", "aria-label": t("choose_cg") },
    h("option", { value: "", text: t("choose_cg") }),
    ...S.caregivers.map((c) => h("option", { value: c.id, text: `${c.name} · ${t(`cg_${c.status}`)}` })));
  const reason = h("input", { id: "assign-reason", placeholder: t("assign_reason_ph"), maxlength: 200 });
  const notes = h("input", { id: "close-notes", placeholder: t("notes"), maxlength: 500 });
  const assign = async (cid, why) => {
    try {
      await session.api("POST", `/api/v1/incidents/${inc.id}/assign`, { caregiver_id: Number(cid), reason: why });
      const c = S.caregivers.find((x) => x.id === Number(cid));
      toast(t("assigned", { name: c ? c.name : cid }));
      reason.value = ""; cgSelect.value = ""; const r2 = $("#assign-reason"); if (r2) r2.value = ""; const c2 = $("#assign-cg"); if (c2) c2.value = "";
      refreshIncident(inc.id);
    } catch (e) { toast(t("error", { msg: e.message }), "err"); }
  };
  box.replaceChildren(...[
    h("div", { class: "d-head" },
      h("h2", {}, `#${inc.id} `, h("span", { class: `kind k-${inc.kind}`, text: t(`k_${inc.kind}`) }), " ", inc.elder_name),
      h("button", { class: "btn ghost", "aria-label": "close", onclick: closeDetail }, "✕")),
    h("dl", { class: "d-facts" },
      h("dt", { text: t("status") }), h("dd", {}, h("span", { class: `st st-${inc.status}`, id: "detail-status", text: statusLabel(inc) }), " ",
        h("span", { id: "detail-status-text", text: tr(inc.status_text_i18n, inc.status_text) })),
      h("dt", { text: t("deadline") }), h("dd", {}, h("span", { class: `cd ${cd.cls}`, "data-countdown": inc.id, id: "detail-countdown", text: cd.text }), " ", hhmm(inc.deadline_at)),
      h("dt", { text: t("opened") }), h("dd", { text: [clockTime(inc.opened_at), source(inc.source), inc.press_count > 1 ? t("press_count", { n: inc.press_count }) : null].filter(Boolean).join(" · ") }),
      inc.late_s ? h("dt", { text: "⏱" }) : null,
      inc.late_s ? h("dd", { class: "warn", id: "detail-late", text: t("late_press_at", { t: clockTime(inc.pressed_at), m: lateMinutes(inc) }) }) : null,
      h("dt", { text: t("caregiver") }), h("dd", { id: "detail-caregiver", text: inc.caregiver_name ? `${inc.caregiver_name}${inc.eta_at ? " · " + t("eta", { t: hhmm(inc.eta_at) }) : ""}`
        : inc.offer ? `→ ${inc.offer.caregiver_name} (${t("s_offered")}${inc.offer.manual ? " · " + tr(inc.offer.reason_i18n, inc.offer.reason) : ""})` : t("none") }),
      inc.elder ? h("dt", { text: t("elder") }) : null,
      inc.elder ? h("dd", { text: [inc.elder.address, careLevel(inc.elder.care_level), inc.elder.high_risk ? t("high_risk") : null, inc.elder.access_notes, inc.elder.health_notes].filter(Boolean).join(" · ") }) : null,
      inc.arrival_flagged && !awaitingConfirmation(inc) ? h("dt", { text: "⚠" }) : null,
      inc.arrival_flagged && !awaitingConfirmation(inc) ? h("dd", { class: "warn", id: "detail-flag", text: [t("arrival_far", { d: metres(inc.arrival_distance_m) }),
        inc.status === "arrived" && confirmedByOperator(inc) ? t("arrival_confirmed_by_op") : t("flagged")].join(" · ") }) : null),
    awaitingConfirmation(inc) ? arrivalBox(inc) : null,
    h("h3", { text: t("candidates") }),
    // Only an emergency is dispatched: any other call is the operator's to call back.
    inc.kind !== "emergency" ? h("p", { class: "muted", id: "not-dispatched", text: t("not_dispatched") })
      : (inc.candidates || []).length ? null : h("p", { class: "warn", text: t("no_candidates") }),
    h("table", { class: "cands" }, h("tbody", {}, ...(inc.candidates || []).map((c, i) => h("tr", { class: i === 0 ? "best" : "" },
      h("td", { text: c.name }), h("td", { text: t("eta_min", { m: Math.max(1, Math.round(c.eta_s / 60)) }) }),
      h("td", { class: c.meets_target ? "ok" : "warn", text: c.meets_target ? t("meets") : t("not_meets") }),
      h("td", { class: "why", text: tr(c.reason_i18n, c.reason) }),
      h("td", {}, active ? h("button", { class: "btn small", onclick: () => assign(c.caregiver_id, `${t("assign")} ${c.name}`) }, t("assign")) : null))))),
    active ? h("form", { class: "d-form", id: "assign-form", onsubmit: (ev) => { ev.preventDefault(); if (cgSelect.value && reason.value.trim()) assign(cgSelect.value, reason.value.trim()); } },
      h("h3", { text: t("manual_assign") }), cgSelect, reason, h("button", { class: "btn primary", type: "submit", id: "assign-submit" }, t("assign"))) : null,
    active ? h("form", { class: "d-form", id: "close-form", onsubmit: async (ev) => {
      ev.preventDefault();
      try { await session.api("POST", `/api/v1/incidents/${inc.id}/close`, { resolution: "false_alarm", notes: notes.value.trim() }); toast(t("closed_ok")); refreshIncident(inc.id); }
      catch (e) { toast(t("error", { msg: e.message }), "err"); }
    } }, h("h3", { text: t("close_false") }), notes, h("button", { class: "btn", type: "submit", id: "close-submit" }, t("close"))) : null,
    active ? escalationBox(inc) : null,
    h("h3", { text: t("timeline") }),
    h("ol", { class: "timeline", id: "timeline" }, ...(inc.timeline || []).map((ev) => h("li", { class: `ev ev-${ev.kind}`, "data-kind": ev.kind },
      h("time", { text: clockTime(ev.at) }), h("strong", { text: t(`ev_${ev.kind}`) === `ev_${ev.kind}` ? ev.kind.replaceAll("_", " ") : t(`ev_${ev.kind}`) }),
      h("span", { text: evSummary(ev) }), deviceMark(ev)))),
  ].filter(Boolean));
  for (const [sel, v] of kept) { const el = $(sel, box); if (el && v) el.value = v; }
  if (focused) $(`#${focused}`, box)?.focus();
  box.scrollTop = scroll;
}

// A code the console has words for, else the code itself made readable.
function code(prefix, value) { const k = `${prefix}_${value}`; return t(k) === k ? String(value || "").replaceAll("_", " ") : t(k); }

// The escalation chain (hotline/): its state, and starting or skipping ahead by hand.
const chains = new Map();  // last known chain per incident, so a re-render shows it at once
function escalationBox(inc) {
  const state = h("div", { class: "chain", id: "chain", text: "…" });
  const reason = h("input", { id: "escalate-reason", placeholder: t("reason"), maxlength: 200 });
  const post = async (path, body, msg) => {
    try { await session.api("POST", `/api/v1/hotline/incidents/${inc.id}/${path}`, body); toast(msg); loadChain(); refreshIncident(inc.id); }
    catch (e) { toast(t("error", { msg: e.message }), "err"); }
  };
  const show = (c) => {
    if (!c) { state.textContent = t("chain_none"); return; }
    state.replaceChildren(
      h("div", {}, `${t("chain_status")}: `, h("strong", { text: code("chain", c.status) }), c.next_at ? ` · ${t("chain_next")} ${hhmm(c.next_at)}` : ""),
      ...(c.alerts || []).map((a) => h("div", { class: "muted" }, [a.name || a.person, code("alert", a.status),
        [...new Set((a.attempts || []).map((x) => code("ch", x.channel)))].join("/")].filter(Boolean).join(" · "))));
  };
  const loadChain = async () => {
    try { const c = await session.api("GET", `/api/v1/hotline/incidents/${inc.id}/chain`); chains.set(inc.id, c); show(c); }
    catch (e) { if (e.status === 404) { chains.set(inc.id, null); show(null); } }
  };
  if (chains.has(inc.id)) show(chains.get(inc.id));
  loadChain();
  return h("form", { class: "d-form", id: "escalate-form", onsubmit: (ev) => { ev.preventDefault(); post("escalate", { reason: reason.value.trim() || t("escalate_default") }, t("escalated")); } },
    h("h3", { text: t("escalation") }), state, reason,
    h("button", { class: "btn danger", type: "submit", id: "escalate-submit" }, t("escalate")),
    h("button", { class: "btn", type: "button", onclick: () => post("medical", undefined, t("medical_ok")) }, t("medical")),
    h("button", { class: "btn", type: "button", onclick: () => post("called-120", { note: "" }, t("called_120_ok")) }, t("called_120")));
}

// ----- phone call -> incident --------------------------------------------------------------
function openPhoneCall(callId = null, elderId = null) {
  const dlg = h("dialog", { id: "phone-dialog", class: "dialog" });
  const q = h("input", { id: "elder-q", placeholder: t("search_elder"), autocomplete: "off" });
  const results = h("ul", { class: "elder-results", id: "elder-results" });
  const kind = h("select", { id: "call-type" }, ...["emergency", "health", "service", "family"].map((k) => h("option", { value: k, text: t(`k_${k}`) })));
  const note = h("input", { id: "call-note", placeholder: t("note"), maxlength: 500 });
  let chosen = elderId; let timer = null;
  const search = async () => {
    const term = q.value.trim();
    let items = null;
    if (term) {
      // The hotline's name index understands pinyin, initials and homophones; fall back to a plain search.
      try {
        const r = await session.api("GET", `/api/v1/hotline/elders/search?limit=8&q=${encodeURIComponent(term)}`);
        items = r.map((m) => ({ id: m.elder_id, name: m.name, address: m.address, extra: m.birth_year ? t("born", { y: m.birth_year }) : "", why: matchWhy(m.reason) }));
      } catch (e) { items = null; }
    }
    if (!items || !items.length) {
      const r = await session.api("GET", `/api/v1/elders?page_size=8&q=${encodeURIComponent(term)}`);
      items = r.items.map((e) => ({ id: e.id, name: e.name, address: e.address, extra: e.age ? t("age", { n: e.age }) : "", high_risk: e.high_risk }));
    }
    results.replaceChildren(...items.map((e) => h("li", {
      class: chosen === e.id ? "sel" : "", tabindex: 0, "data-elder": e.id,
      onclick: () => { chosen = e.id; $$("li", results).forEach((li) => li.classList.toggle("sel", Number(li.dataset.elder) === e.id)); },
    }, h("strong", { text: e.name }), ` ${e.extra} · ${e.address}`, e.high_risk ? h("span", { class: "warn", text: ` · ${t("high_risk")}` }) : null,
      e.why ? h("span", { class: "muted", text: ` · ${e.why}` }) : null)));
    if (items.length === 1) { chosen = items[0].id; results.firstChild.classList.add("sel"); }
  };
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  dlg.append(h("form", { method: "dialog", onsubmit: async (ev) => {
    ev.preventDefault();
    if (!chosen) { q.focus(); return; }
    try {
      const body = { elder_id: chosen, call_type: kind.value, note: note.value.trim() };
      let id; let joined;
      if (callId) {
        // Through the hotline, so the call record is linked to the incident.
        const r = await session.api("POST", `/api/v1/hotline/calls/${encodeURIComponent(callId)}/incident`, body);
        id = r.incident_id; joined = r.joined; S.calls.delete(callId); S.handledCalls.add(callId); renderCalls();
      } else {
        const r = await session.api("POST", "/api/v1/incidents", body);
        id = r.id; joined = r.joined; S.incidents.set(r.id, r);
      }
      toast(joined ? t("joined", { id }) : t("created", { id }));
      dlg.close(); dlg.remove();
      S.selected = id; refreshIncident(id); openIncident(id);
    } catch (e) { toast(t("error", { msg: e.message }), "err"); }
  } },
    h("h2", { text: callId ? `${t("phone_call")} · ${callId}` : t("phone_call") }), q, results,
    h("label", {}, t("call_type"), kind), h("label", {}, t("note"), note),
    h("div", { class: "row" }, h("button", { class: "btn primary", type: "submit", id: "call-create" }, t("create")),
      h("button", { class: "btn ghost", type: "button", onclick: () => { dlg.close(); dlg.remove(); } }, t("cancel")))));
  document.body.append(dlg);
  dlg.showModal(); q.focus(); search();
}

// ----- keyboard ----------------------------------------------------------------------------
document.addEventListener("keydown", (ev) => {
  if (!session.signedIn) return;
  const tag = (ev.target && ev.target.tagName) || "";
  if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || $("#phone-dialog")) {
    if (ev.key === "Escape" && $("#phone-dialog")) $("#phone-dialog").remove();
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const list = sortedIncidents();
  const i = list.findIndex((x) => x.id === S.selected);
  if (ev.key === "j" || ev.key === "ArrowDown") { if (list.length) S.selected = list[Math.min(list.length - 1, i + 1)].id; renderQueue(); scrollToSelected(); ev.preventDefault(); }
  else if (ev.key === "k" || ev.key === "ArrowUp") { if (list.length) S.selected = list[Math.max(0, i - 1)].id; renderQueue(); scrollToSelected(); ev.preventDefault(); }
  else if (ev.key === "Enter") { if (S.selected) openIncident(S.selected); ev.preventDefault(); }
  else if (ev.key === "a") { const first = [...S.alarms.keys()].sort((a, b) => a - b)[0]; if (first) ackAlarm(first); }
  else if (ev.key === "n") { openPhoneCall(); ev.preventDefault(); }
  else if (ev.key === "Escape") closeDetail();
});

// ----- start -------------------------------------------------------------------------------
const live = new Live(session, {
  onEvent, onSnapshot: loadBoard, onState: (s) => { S.conn = s; if (s === "live") S.everLive = true; renderConn(); renderBanner(); },
});
session.onSignedOut = () => start();
window.__anxin = { live, state: S };  // for the browser tests

function start() {
  if (!session.signedIn || !["operator", "admin"].includes(session.data.role)) {
    if (session.signedIn) session.data = null;
    $("#app").replaceChildren(h("div", { class: "login-wrap" },
      h("h1", { text: t("title") }),
      loginForm(session, { hint: "demo: operator / anxin1234", defaultLogin: "operator", onDone: start })));
    return;
  }
  shell(); renderLoading();
  live.start();
}
setInterval(tickCountdowns, 1000);
keepFresh(session);
start();
