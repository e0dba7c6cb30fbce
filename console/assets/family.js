// The family page: bound elders, their open calls and today's visits live, bookings made and
// cancelled on the elder's behalf, and the history of notifications from the server's own
// push record (so it survives a new phone or a cleared browser).
import { $, h, t, tr, lang, setLang, addStrings, Session, Live, keepFresh, loginForm, hhmm, syncClock, now, toast, wechatReturn } from "./common.js";

addStrings({
  my_elders: "我的家人", no_elders: "还没有绑定老人", open_call: "进行中的呼叫", no_call: "目前一切正常",
  today: "今天的服务", nothing_today: "今天没有安排", recent: "最近的呼叫", no_recent: "近期没有其他呼叫", notifications: "通知记录",
  no_notes: "暂无通知", lang_switch: "English", sign_out: "退出", sign_out_confirm: "确定要退出吗？退出后收不到呼叫通知。",
  conn_live: "已连接", conn_connecting: "正在连接…", conn_offline: "网络断开，正在重连…",
  b_requested: "待确认", b_planned: "已排班", b_completed: "已完成", b_cancelled: "已取消",
  upcoming: "已预约", book: "为老人预约服务", no_menu: "服务站尚未上架服务项目", self_pay: "自付", notes: "备注", book_submit: "提交预约", booked: "已预约",
  cancel: "取消预约", cancel_confirm: "确定取消 {what}（{when}）吗？", cancelled: "已取消预约", cancel_closed: "开始前2小时内不能取消，请致电服务站",
  day: "日期", time: "时间", item: "服务项目",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情", call_back: "☎ 给{name}回电",
  came: "{name} {time} 到达", handled_by: "{name}处理", summary: "护理员记录：{text}",
  s_open: "待派单", s_offered: "联系护理员中", s_accepted: "护理员已接单", s_en_route: "护理员在路上", s_arrived: "护理员已到达",
  s_resolved: "已处理", s_closed: "已结束",
  st_done: "已完成", st_planned: "已安排", st_en_route: "在路上", st_in_progress: "进行中", st_open: "待安排", st_cancelled: "已取消",
}, {
  my_elders: "My family", no_elders: "No elder bound yet", open_call: "Open call", no_call: "All is well",
  today: "Today", nothing_today: "Nothing planned today", recent: "Recent calls", no_recent: "No other recent calls", notifications: "Notifications",
  no_notes: "No notifications yet", lang_switch: "中文", sign_out: "Sign out", sign_out_confirm: "Sign out? You will not be told of calls.",
  conn_live: "Connected", conn_connecting: "Connecting…", conn_offline: "No network, reconnecting…",
  b_requested: "requested", b_planned: "planned", b_completed: "done", b_cancelled: "cancelled",
  upcoming: "Booked", book: "Book a service for them", no_menu: "The station has no services listed yet", self_pay: "self-pay", notes: "Notes", book_submit: "Book", booked: "Booked",
  cancel: "Cancel booking", cancel_confirm: "Cancel {what} ({when})?", cancelled: "Booking cancelled", cancel_closed: "Less than 2 hours before the start: please call the station",
  day: "Day", time: "Time", item: "Service",
  k_emergency: "Emergency", k_health: "Health", k_service: "Service", k_family: "Family", call_back: "☎ Call {name} back",
  came: "{name} arrived at {time}", handled_by: "Handled by {name}", summary: "Caregiver's notes: {text}",
  s_open: "Waiting", s_offered: "Finding a caregiver", s_accepted: "Caregiver accepted", s_en_route: "Caregiver on the way", s_arrived: "Caregiver arrived",
  s_resolved: "Resolved", s_closed: "Closed",
  st_done: "done", st_planned: "planned", st_en_route: "on the way", st_in_progress: "in progress", st_open: "to plan", st_cancelled: "cancelled",
});

const session = new Session("family");
// Families may cancel until 2 hours before the start (the services API's rule); after that
// the station does it.
const CANCEL_CUTOFF_MS = 2 * 3600 * 1000;
const NOTIFY_TYPES = new Set(["incident.status", "family.call_requested", "binding.confirmed", "binding.requested"]);
let notes = [];  // newest first, from GET /me/notifications plus what arrives live

function cls(status) { return ["open", "offered"].includes(status) ? "" : ["accepted", "en_route"].includes(status) ? "come" : "here"; }
function label(prefix, code) { const k = `${prefix}_${code}`; return t(k) === k ? "" : t(k); }

// Dates and times written the reader's way, whatever the phone's own locale.
const LOCALE = () => (lang() === "zh" ? "zh-CN" : "en-GB");
function dayLabel(d) {
  const part = (o) => d.toLocaleDateString(LOCALE(), { ...o, timeZone: "Asia/Shanghai" });
  if (lang() === "zh") return `${part({ month: "numeric" }).replace(/\D/g, "")}月${part({ day: "numeric" }).replace(/\D/g, "")}日 ${part({ weekday: "short" })}`;
  return part({ weekday: "short", day: "numeric", month: "short" });
}
function whenLabel(iso) {
  const d = new Date(iso);
  return `${dayLabel(d)} ${hhmm(iso)}`;
}

async function elderCard(e) {
  const [d, books, menu] = await Promise.all([
    session.api("GET", `/api/v1/console/elders/${e.id}/day`),
    session.api("GET", `/api/v1/elders/${e.id}/bookings`).catch(() => []),
    session.api("GET", `/api/v1/elders/${e.id}/menu`).catch(() => [])]);
  const names = Object.fromEntries(menu.map((m) => [m.code, lang() === "en" ? m.name_en : m.name_zh]));
  syncClock(d.now);
  const upcoming = books.filter((b) => Date.parse(b.end) >= now() && ["requested", "planned"].includes(b.status))
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start)).slice(0, 6);
  const open = d.open_incidents;
  const openIds = new Set(open.map((i) => i.id));
  const recent = d.recent_incidents.filter((i) => !openIds.has(i.id)).slice(0, 5);
  return h("section", { class: "card elder-card", "data-elder": e.id },
    h("h2", {}, e.name, h("span", { class: `tag ${open.length ? "live" : "done"}`, text: open.length ? t("open_call") : t("no_call") })),
    ...open.map((i) => h("div", { class: `alert ${cls(i.status)}`, "data-incident": i.id },
      h("div", { text: `${t(`k_${i.kind}`)} · ${hhmm(i.opened_at)}` }),
      h("div", { class: "status-text", text: tr(i.status_text_i18n, i.status_text) }),
      // A family call: the elder wants them to ring back, so give them the button to do it.
      i.kind === "family" && d.phones && d.phones.elder
        ? h("a", { class: "btn wide tel primary", href: `tel:${d.phones.elder}`, "data-tel": "elder" }, t("call_back", { name: e.name })) : null)),
    h("h3", { class: "muted", text: t("today") }),
    h("ul", { class: "list" }, ...(d.tasks.length ? d.tasks.map((x) => h("li", {},
      h("span", { class: "time", text: hhmm(x.planned_start || x.window_start) }),
      h("span", { class: "grow", text: `${tr(x.title_i18n, x.title)}${x.caregiver_name ? " · " + x.caregiver_name : ""}` }),
      h("span", { class: `tag ${x.status === "done" ? "done" : ""}`, text: label("st", x.status) }))) : [h("li", { class: "muted", text: t("nothing_today") })])),
    upcoming.length ? h("h3", { class: "muted", text: t("upcoming") }) : null,
    upcoming.length ? h("ul", { class: "list", "data-bookings": e.id }, ...upcoming.map((b) => bookingRow(b, names[b.item_code] || b.item_code))) : null,
    bookingBox(e),
    h("h3", { class: "muted", text: t("recent") }),
    h("ul", { class: "list" }, ...(recent.length ? recent.map((i) => h("li", { "data-recent": i.id },
      h("span", { class: "time wide", text: whenLabel(i.opened_at) }),
      h("span", { class: "grow" }, h("div", { text: t(`k_${i.kind}`) }), outcome(i)),
      h("span", { class: "tag", text: label("s", i.status) }))) : [h("li", { class: "muted", text: t("no_recent") })])));
}

// How a call ended: who came and when, and what the caregiver wrote.
function outcome(i) {
  const lines = [];
  if (i.caregiver_name && i.arrived_at) lines.push(t("came", { name: i.caregiver_name, time: hhmm(i.arrived_at) }));
  else if (i.caregiver_name) lines.push(t("handled_by", { name: i.caregiver_name }));
  if (i.summary) lines.push(t("summary", { text: i.summary }));
  return lines.length ? h("div", { class: "muted small outcome", "data-outcome": i.id }, ...lines.map((x) => h("div", { text: x }))) : null;
}

function bookingRow(b, what) {
  const cancellable = Date.parse(b.start) - now() > CANCEL_CUTOFF_MS;
  return h("li", { "data-booking-id": b.id },
    h("span", { class: "time wide", text: whenLabel(b.start) }),
    h("span", { class: "grow", text: what }),
    h("span", { class: "tag", text: label("b", b.status) || b.status }),
    cancellable
      ? h("button", { class: "link small cancel", "data-cancel": b.id, onclick: () => cancelBooking(b, what) }, t("cancel"))
      : null);
}

async function cancelBooking(b, what) {
  if (!confirm(t("cancel_confirm", { what, when: whenLabel(b.start) }))) return;
  try {
    await session.api("POST", `/api/v1/bookings/${b.id}/cancel`);
    toast(t("cancelled"));
  } catch (err) {
    toast(err.body && err.body.code === "booking.cancel_too_late" ? t("cancel_closed") : err.message, "err");
  }
  snapshot().catch(() => {});
}

// Booking a service on the elder's behalf (the services API; the subsidy is shown per item).
// Day and time are chosen from lists written in the page's language (a date input would
// follow the phone's locale instead).
function yuan(fen) { return `¥${(fen / 100).toFixed(2)}`; }
function dayOptions() {
  const out = [];
  for (let i = 1; i <= 14; i++) {
    const d = new Date(now() + i * 86400000);
    out.push(h("option", { value: d.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }) }, dayLabel(d)));
  }
  return out;
}
function timeOptions() {
  const out = [];
  for (let m = 8 * 60; m <= 17 * 60; m += 30) {
    const v = `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    out.push(h("option", { value: v, selected: v === "09:00" }, v));
  }
  return out;
}

function bookingBox(e) {
  const box = h("details", { class: "booking", "data-booking": e.id });
  const body = h("div", {});
  box.append(h("summary", { class: "btn wide", text: t("book") }), body);
  box.addEventListener("toggle", async () => {
    if (!box.open && deferred) { deferred = false; snapshot().catch(() => {}); return; }
    if (!box.open || body.childElementCount) return;
    let menu = [];
    try { menu = await session.api("GET", `/api/v1/elders/${e.id}/menu`); } catch (err) { body.append(h("p", { class: "muted", text: err.message })); return; }
    if (!menu.length) { body.append(h("p", { class: "muted", text: t("no_menu") })); return; }
    const item = h("select", { name: "item", "aria-label": t("item") }, ...menu.map((m) => h("option", { value: m.code, disabled: !m.bookable },
      `${lang() === "en" ? m.name_en : m.name_zh} · ${yuan(m.price_fen)} · ${t("self_pay")} ${yuan(m.self_pay_fen)}`)));
    const day = h("select", { name: "day", "aria-label": t("day") }, ...dayOptions());
    const at = h("select", { name: "at", "aria-label": t("time") }, ...timeOptions());
    const notes = h("input", { name: "notes", placeholder: t("notes"), maxlength: 500 });
    const form = h("form", { class: "book-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const m = menu.find((x) => x.code === item.value);
      const start = new Date(`${day.value}T${at.value}:00+08:00`);
      const end = new Date(start.getTime() + (m.duration_min || 60) * 60000);
      try {
        await session.api("POST", `/api/v1/elders/${e.id}/bookings`, { item_code: m.code, start: start.toISOString(), end: end.toISOString(), notes: notes.value.trim() });
        toast(t("booked")); box.open = false; body.replaceChildren(); snapshot().catch(() => {});
      } catch (err) { toast(err.message, "err"); }
    } }, item, h("div", { class: "row" }, day, at), notes, h("button", { class: "btn primary wide", type: "submit" }, t("book_submit")));
    body.append(form);
  });
  return box;
}

let deferred = false;
async function snapshot() {
  // Do not tear down a booking form being filled in; catch up when it closes.
  if (document.querySelector("details.booking[open]")) { deferred = true; return; }
  const [elders, history] = await Promise.all([
    session.api("GET", "/api/v1/me/elders"),
    session.api("GET", "/api/v1/me/notifications?limit=30").catch(() => null)]);
  if (history) mergeNotes(history.items);
  const cards = await Promise.all(elders.map(elderCard));
  $("#elders").replaceChildren(...(cards.length ? cards : [h("p", { class: "muted", text: t("no_elders") })]));
  renderNotes();
}

// One entry per message (by sequence number, live or from the history), and a call's status
// said again (a second press, a new ETA) only the first time, as the server's history does.
function mergeNotes(items) {
  const bySeq = new Map(notes.map((n) => [n.seq, n]));
  for (const n of items) if (n.text_i18n || n.text) bySeq.set(n.seq, n);
  const last = new Map();
  notes = [...bySeq.values()].sort((a, b) => a.seq - b.seq).filter((n) => {
    if (n.incident_id === undefined || n.incident_id === null) return true;
    const said = `${n.type}|${n.status}`;
    if (last.get(n.incident_id) === said) return false;
    last.set(n.incident_id, said);
    return true;
  }).reverse().slice(0, 50);
}

function renderNotes() {
  const ul = $("#notes"); if (!ul) return;
  ul.replaceChildren(...(notes.length ? notes.slice(0, 30).map((n) => h("li", { "data-seq": n.seq },
    h("span", { class: "time", text: hhmm(n.at) }), h("span", { class: "grow", text: tr(n.text_i18n, n.text) }))) : [h("li", { class: "muted", text: t("no_notes") })]));
}

let timer = null;
function onEvent(msg) {
  const p = msg.payload || {};
  // Only messages a person reads go into the history, always with their text (never the type).
  if (NOTIFY_TYPES.has(msg.type) && (p.text_i18n || p.text)) {
    mergeNotes([{ seq: msg.seq, type: msg.type, at: msg.at, incident_id: p.incident_id, status: p.status, text: p.text, text_i18n: p.text_i18n }]);
    const fresh = now() - Date.parse(msg.at) < 30000;
    if (fresh) {
      const old = document.querySelector("#toasts .toast"); if (old) old.remove();
      toast(tr(p.text_i18n, p.text));
    }
    renderNotes();
  }
  clearTimeout(timer); timer = setTimeout(() => snapshot().catch(() => {}), 100);
}

function page() {
  $("#app").replaceChildren(
    h("div", { class: "bar" }, h("h1", { text: `安心 · ${t("my_elders")}` }), h("span", { id: "conn", class: "conn" }),
      h("button", { class: "link", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); page(); snapshot().catch(() => {}); } }, t("lang_switch")),
      h("button", { class: "link", id: "sign-out", onclick: () => { if (!confirm(t("sign_out_confirm"))) return; live.stop(); session.signOut(); } }, t("sign_out"))),
    h("div", { id: "elders" }),
    h("section", { class: "card" }, h("h2", { text: t("notifications") }), h("ul", { id: "notes", class: "list" })));
  renderNotes();
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => { const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = `${s === "live" ? "●" : "○"} ${t(`conn_${s}`)}`; } },
});
session.onSignedOut = () => { notes = []; start(); };

let signInError = "";
function start() {
  if (!session.signedIn || session.data.role !== "family") {
    session.data = null;
    $("#app").replaceChildren(loginForm(session, { hint: "demo: family / anxin1234", defaultLogin: "family", onDone: start, error: signInError, wechat: true }));
    return;
  }
  page(); live.start();
}
keepFresh(session);
wechatReturn(session).then((e) => { signInError = e; start(); });
