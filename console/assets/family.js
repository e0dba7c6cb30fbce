// The family page: bound elders, their open calls and today's visits live, and a history of
// the notifications received here.
import { $, h, t, bi, lang, setLang, addStrings, Session, Live, keepFresh, loginForm, hhmm, clockTime, syncClock, now, toast } from "./common.js";

addStrings({
  my_elders: "我的家人", no_elders: "还没有绑定老人", open_call: "进行中的呼叫", no_call: "目前一切正常",
  today: "今天的服务", nothing_today: "今天没有安排", recent: "最近的呼叫", notifications: "通知记录",
  no_notes: "暂无通知", lang_switch: "English", sign_out: "退出",
  b_requested: "待确认", b_planned: "已排班",
  upcoming: "已预约", book: "为老人预约服务", no_menu: "服务站尚未上架服务项目", self_pay: "自付", notes: "备注", book_submit: "提交预约", booked: "已预约",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情",
  s_open: "待派单", s_offered: "联系护理员中", s_accepted: "护理员已接单", s_en_route: "护理员在路上", s_arrived: "护理员已到达",
  s_resolved: "已处理", s_closed: "已结束",
  st_done: "已完成", st_planned: "已安排", st_en_route: "在路上", st_in_progress: "进行中", st_open: "待安排",
}, {
  my_elders: "My family", no_elders: "No elder bound yet", open_call: "Open call", no_call: "All is well",
  today: "Today", nothing_today: "Nothing planned today", recent: "Recent calls", notifications: "Notifications",
  no_notes: "No notifications yet", lang_switch: "中文", sign_out: "Sign out",
  b_requested: "requested", b_planned: "planned",
  upcoming: "Booked", book: "Book a service for them", no_menu: "The station has no services listed yet", self_pay: "self-pay", notes: "Notes", book_submit: "Book", booked: "Booked",
  k_emergency: "Emergency", k_health: "Health", k_service: "Service", k_family: "Family",
  s_open: "Waiting", s_offered: "Finding a caregiver", s_accepted: "Caregiver accepted", s_en_route: "Caregiver on the way", s_arrived: "Caregiver arrived",
  s_resolved: "Resolved", s_closed: "Closed",
  st_done: "done", st_planned: "planned", st_en_route: "on the way", st_in_progress: "in progress", st_open: "to plan",
});

const session = new Session("family");
const NOTES_KEY = "anxin.family.notes";
const notes = JSON.parse(localStorage.getItem(NOTES_KEY) || "[]");

function cls(status) { return ["open", "offered"].includes(status) ? "" : ["accepted", "en_route"].includes(status) ? "come" : "here"; }

async function elderCard(e) {
  const [d, books, menu] = await Promise.all([
    session.api("GET", `/api/v1/console/elders/${e.id}/day`),
    session.api("GET", `/api/v1/elders/${e.id}/bookings`).catch(() => []),
    session.api("GET", `/api/v1/elders/${e.id}/menu`).catch(() => [])]);
  const names = Object.fromEntries(menu.map((m) => [m.code, lang() === "en" ? m.name_en : m.name_zh]));
  syncClock(d.now);
  const upcoming = books.filter((b) => Date.parse(b.end) >= now() && !["cancelled", "done", "completed"].includes(b.status)).slice(0, 5);
  const open = d.open_incidents;
  return h("section", { class: "card elder-card", "data-elder": e.id },
    h("h2", {}, e.name, h("span", { class: `tag ${open.length ? "live" : "done"}`, text: open.length ? t("open_call") : t("no_call") })),
    ...open.map((i) => h("div", { class: `alert ${cls(i.status)}`, "data-incident": i.id },
      h("div", { text: `${t(`k_${i.kind}`)} · ${hhmm(i.opened_at)}` }), h("div", { class: "status-text", text: i.status_text }))),
    h("h3", { class: "muted", text: t("today") }),
    h("ul", { class: "list" }, ...(d.tasks.length ? d.tasks.map((x) => h("li", {},
      h("span", { class: "time", text: hhmm(x.planned_start || x.window_start) }),
      h("span", { class: "grow", text: `${bi(x.title)}${x.caregiver_name ? " · " + x.caregiver_name : ""}` }),
      h("span", { class: `tag ${x.status === "done" ? "done" : ""}`, text: t(`st_${x.status}`) }))) : [h("li", { class: "muted", text: t("nothing_today") })])),
    upcoming.length ? h("h3", { class: "muted", text: t("upcoming") }) : null,
    upcoming.length ? h("ul", { class: "list" }, ...upcoming.map((b) => h("li", {},
      h("span", { class: "time", text: new Date(b.start).toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" }) }),
      h("span", { class: "grow", text: names[b.item_code] || b.item_code }), h("span", { class: "tag", text: t(`b_${b.status}`) === `b_${b.status}` ? b.status : t(`b_${b.status}`) })))) : null,
    bookingBox(e),
    h("h3", { class: "muted", text: t("recent") }),
    h("ul", { class: "list" }, ...d.recent_incidents.slice(0, 5).map((i) => h("li", {},
      h("span", { class: "time", text: hhmm(i.opened_at) }), h("span", { class: "grow", text: `${t(`k_${i.kind}`)} · ${i.status_text}` }),
      h("span", { class: "tag", text: t(`s_${i.status}`) })))));
}

// Booking a service on the elder's behalf (the services API; the subsidy is shown per item).
function yuan(fen) { return `¥${(fen / 100).toFixed(2)}`; }
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
    const item = h("select", { name: "item" }, ...menu.map((m) => h("option", { value: m.code, disabled: !m.bookable },
      `${lang() === "en" ? m.name_en : m.name_zh} · ${yuan(m.price_fen)} · ${t("self_pay")} ${yuan(m.self_pay_fen)}`)));
    const tomorrow = new Date(Date.now() + 86400000).toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
    const day = h("input", { type: "date", name: "day", value: tomorrow });
    const at = h("input", { type: "time", name: "at", value: "09:00", step: 900 });
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
  const elders = await session.api("GET", "/api/v1/me/elders");
  const cards = await Promise.all(elders.map(elderCard));
  $("#elders").replaceChildren(...(cards.length ? cards : [h("p", { class: "muted", text: t("no_elders") })]));
  renderNotes();
}

function renderNotes() {
  const ul = $("#notes"); if (!ul) return;
  const mine = notes.filter((n) => !n.user || n.user === session.data.user_id);
  ul.replaceChildren(...(mine.length ? mine.slice(0, 30).map((n) => h("li", {},
    h("span", { class: "time", text: clockTime(n.at).slice(0, 5) }), h("span", { class: "grow", text: n.text }))) : [h("li", { class: "muted", text: t("no_notes") })]));
}

let timer = null;
function onEvent(msg) {
  const p = msg.payload || {};
  const text = p.text || msg.type;
  if (!notes.some((n) => n.seq === msg.seq && n.user === session.data.user_id)) {
    notes.unshift({ seq: msg.seq, user: session.data.user_id, at: msg.at, type: msg.type, text });
    notes.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    notes.splice(50);
    localStorage.setItem(NOTES_KEY, JSON.stringify(notes));
  }
  const fresh = now() - Date.parse(msg.at) < 30000;
  if (fresh && (msg.type === "incident.status" || msg.type === "family.call_requested")) {
    const old = document.querySelector("#toasts .toast"); if (old) old.remove();
    toast(text);
  }
  renderNotes();
  clearTimeout(timer); timer = setTimeout(() => snapshot().catch(() => {}), 100);
}

function page() {
  $("#app").replaceChildren(
    h("div", { class: "bar" }, h("h1", { text: `安心 · ${t("my_elders")}` }), h("span", { id: "conn", class: "conn" }),
      h("button", { class: "link", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); page(); snapshot().catch(() => {}); } }, t("lang_switch")),
      h("button", { class: "link", onclick: () => { live.stop(); session.signOut(); } }, t("sign_out"))),
    h("div", { id: "elders" }),
    h("section", { class: "card" }, h("h2", { text: t("notifications") }), h("ul", { id: "notes", class: "list" })));
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => { const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = s === "live" ? "●" : "○"; } },
});
session.onSignedOut = () => start();

function start() {
  if (!session.signedIn || session.data.role !== "family") {
    session.data = null;
    $("#app").replaceChildren(loginForm(session, { hint: "demo: family / anxin1234", defaultLogin: "family", onDone: start }));
    return;
  }
  page(); live.start();
}
keepFresh(session);
start();
