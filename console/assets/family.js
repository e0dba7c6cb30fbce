// The family page: bound elders, their open calls and today's visits live, and a history of
// the notifications received here.
import { $, h, t, bi, lang, setLang, addStrings, Session, Live, keepFresh, loginForm, hhmm, clockTime, syncClock, now, toast } from "./common.js";

addStrings({
  my_elders: "我的家人", no_elders: "还没有绑定老人", open_call: "进行中的呼叫", no_call: "目前一切正常",
  today: "今天的服务", nothing_today: "今天没有安排", recent: "最近的呼叫", notifications: "通知记录",
  no_notes: "暂无通知", lang_switch: "English", sign_out: "退出",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情",
  s_open: "待派单", s_offered: "联系护理员中", s_accepted: "护理员已接单", s_en_route: "护理员在路上", s_arrived: "护理员已到达",
  s_resolved: "已处理", s_closed: "已结束",
  st_done: "已完成", st_planned: "已安排", st_en_route: "在路上", st_in_progress: "进行中", st_open: "待安排",
}, {
  my_elders: "My family", no_elders: "No elder bound yet", open_call: "Open call", no_call: "All is well",
  today: "Today", nothing_today: "Nothing planned today", recent: "Recent calls", notifications: "Notifications",
  no_notes: "No notifications yet", lang_switch: "中文", sign_out: "Sign out",
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
  const d = await session.api("GET", `/api/v1/console/elders/${e.id}/day`);
  syncClock(d.now);
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
    h("h3", { class: "muted", text: t("recent") }),
    h("ul", { class: "list" }, ...d.recent_incidents.slice(0, 5).map((i) => h("li", {},
      h("span", { class: "time", text: hhmm(i.opened_at) }), h("span", { class: "grow", text: `${t(`k_${i.kind}`)} · ${i.status_text}` }),
      h("span", { class: "tag", text: t(`s_${i.status}`) })))));
}

async function snapshot() {
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
