// The elder's page: one very large help button (hold ~1 s to confirm), the call's status in
// large type, today's visits and meals, and a call-my-family button.
import { $, h, t, tr, lang, setLang, addStrings, Session, Live, keepFresh, loginForm, hhmm, syncClock, toast, uuid, wechatReturn } from "./common.js";

addStrings({
  title: "安心呼叫", hold: "按住求助", hold_sub: "按住 1 秒", holding: "继续按住…", sent: "已呼叫",
  sent_sub: "站里已收到", family: "☎ 联系我的家人", family_sent: "已通知您的家人，请稍候",
  family_confirm: "要通知家人给您回电吗？", today: "今天的服务", nothing_today: "今天没有安排",
  retrying: "网络不好，正在重试…", no_call: "有需要请按住红色按钮", lang_switch: "English",
  st_done: "已完成", st_planned: "已安排", st_en_route: "在路上", st_in_progress: "进行中", st_open: "待安排",
  visit_code: "今日服务码", visit_code_sub: "护理员上门时，请把这个号码告诉对方", sign_out: "退出", first_status: "已收到呼叫，正在为您联系护理员",
}, {
  title: "Anxin help", hold: "HELP", hold_sub: "hold for 1 second", holding: "keep holding…", sent: "Called",
  sent_sub: "the station has it", family: "☎ Call my family", family_sent: "Your family has been told; please wait",
  family_confirm: "Ask your family to call you back?", today: "Today", nothing_today: "Nothing planned today",
  retrying: "Poor network, retrying…", no_call: "Hold the red button if you need help", lang_switch: "中文",
  st_done: "done", st_planned: "planned", st_en_route: "on the way", st_in_progress: "in progress", st_open: "to plan",
  visit_code: "Today's visit code", visit_code_sub: "tell it to the caregiver at your door", sign_out: "Sign out", first_status: "We have your call and are finding a caregiver",
});

const session = new Session("elder");
const HOLD_MS = 1000;
let position = null;      // last known location, never waited for
let current = null;       // the open emergency, if any

function locate() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((p) => { position = p.coords; }, () => {}, { maximumAge: 300000, timeout: 10000 });
}

// Send the call now; retry with the same Idempotency-Key until the station has it.
async function sendCall(callType) {
  const pendingKey = `anxin.pending.${callType}`;
  let key = sessionStorage.getItem(pendingKey);
  if (!key) { key = uuid(); sessionStorage.setItem(pendingKey, key); }
  const body = { call_type: callType };
  if (position) body.location = { lat: position.latitude, lng: position.longitude, coord_system: "wgs84", accuracy_m: position.accuracy || undefined };
  for (let attempt = 0; ; attempt++) {
    try {
      const inc = await session.api("POST", "/api/v1/help-calls", body, { "Idempotency-Key": key });
      sessionStorage.removeItem(pendingKey);
      return inc;
    } catch (e) {
      if (e.status && e.status < 500 && e.status !== 409 && e.status !== 429) { sessionStorage.removeItem(pendingKey); throw e; }
      toast(t("retrying"), "err");
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
}

function statusClass(status) {
  return ["open", "offered"].includes(status) ? "wait" : ["accepted", "en_route"].includes(status) ? "come" : "here";
}

function showStatus(text, status) {
  const el = $("#status"); if (!el) return;
  el.textContent = text || t("no_call");
  el.className = `status ${text ? statusClass(status) : ""}`;
  const btn = $("#help");
  if (btn) btn.classList.toggle("sent", !!text && !["resolved", "closed"].includes(status));
}

function holdButton() {
  const btn = h("button", { id: "help", class: "help", "aria-label": t("hold") },
    h("span", { class: "core" }, h("span", { class: "big", id: "help-big", text: t("hold") }), h("span", { class: "small", id: "help-small", text: t("hold_sub") })));
  let start = 0; let raf = 0; let fired = false;
  const reset = () => {
    cancelAnimationFrame(raf); start = 0; btn.style.setProperty("--p", 0); btn.classList.remove("holding");
    if (!fired) $("#help-small", btn).textContent = t("hold_sub");
  };
  const frame = () => {
    if (!start) return;
    const p = Math.min(1, (performance.now() - start) / HOLD_MS);
    btn.style.setProperty("--p", p);
    if (p >= 1) { fire(); return; }
    raf = requestAnimationFrame(frame);
  };
  const begin = (ev) => {
    if (start) return;
    ev.preventDefault();
    fired = false; start = performance.now(); btn.classList.add("holding");
    $("#help-small", btn).textContent = t("holding");
    if (navigator.vibrate) navigator.vibrate(30);
    raf = requestAnimationFrame(frame);
  };
  const fire = async () => {
    fired = true; reset();
    if (navigator.vibrate) navigator.vibrate([80, 40, 80]);
    $("#help-big", btn).textContent = t("sent"); $("#help-small", btn).textContent = t("sent_sub");
    btn.classList.add("sent");
    showStatus(t("first_status"), "open");
    try {
      const inc = await sendCall("emergency");
      // The call's answer carries the Chinese text only; the snapshot brings both languages.
      current = inc; if (lang() === "zh") showStatus(inc.status_text, inc.status);
      snapshot().catch(() => {});
    } catch (e) { toast(e.message, "err"); }
  };
  btn.addEventListener("pointerdown", begin);
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) btn.addEventListener(ev, () => { if (!fired) reset(); });
  btn.addEventListener("keydown", (ev) => { if ((ev.key === " " || ev.key === "Enter") && !ev.repeat) begin(ev); });
  btn.addEventListener("keyup", () => { if (!fired) reset(); });
  btn.addEventListener("contextmenu", (ev) => ev.preventDefault());
  return btn;
}

async function snapshot() {
  const me = session.data;
  if (!me.elder_id) return;
  const d = await session.api("GET", `/api/v1/console/elders/${me.elder_id}/day`);
  syncClock(d.now);
  $("#who").textContent = d.elder.name;
  const open = d.open_incidents.find((i) => i.kind === "emergency") || d.open_incidents[0];
  current = open || null;
  showStatus(open ? tr(open.status_text_i18n, open.status_text) : "", open ? open.status : null);
  if (!open) { $("#help-big").textContent = t("hold"); $("#help-small").textContent = t("hold_sub"); }
  const ul = $("#today-list");
  ul.replaceChildren(...(d.tasks.length ? d.tasks.map((x) => h("li", {},
    h("span", { class: "time", text: hhmm(x.planned_start || x.window_start) }),
    h("span", { class: "grow", text: `${tr(x.title_i18n, x.title)}${x.caregiver_name ? " · " + x.caregiver_name : ""}` }),
    h("span", { class: `tag ${x.status === "done" ? "done" : ""}`, text: t(`st_${x.status}`) })))
    : [h("li", { class: "muted", text: t("nothing_today") })]));
  // A visit today: the day's code, which the caregiver types in to prove the visit.
  const box = $("#visit-code");
  const visits = d.tasks.filter((x) => x.kind !== "meal_delivery" && x.status !== "done");
  if (box && visits.length) {
    try {
      const c = await session.api("GET", `/api/v1/elders/${me.elder_id}/visit-code`);
      box.replaceChildren(h("div", { class: "muted", text: t("visit_code") }), h("div", { class: "code", text: c.code.replace(/(\d{3})(?=\d)/g, "$1 ") }),
        h("div", { class: "muted small", text: t("visit_code_sub") }));
      box.hidden = false;
    } catch (e) { box.hidden = true; }
  } else if (box) box.hidden = true;
}

let snapTimer = null;
function onEvent(msg) {
  const p = msg.payload || {};
  if (msg.type === "incident.status") {
    const text = tr(p.text_i18n, p.text);
    if (["resolved", "closed"].includes(p.status)) { setTimeout(snapshot, 50); showStatus(text, p.status); return; }
    showStatus(text, p.status);
    clearTimeout(snapTimer);  // the full status text (name and minutes) comes with the incident
    snapTimer = setTimeout(() => snapshot().catch(() => {}), 80);
  }
}

function page() {
  $("#app").replaceChildren(
    h("div", { class: "bar" }, h("h1", {}, "安心 ", h("span", { id: "who", class: "who" })),
      h("span", { id: "conn", class: "conn" }),
      h("button", { class: "link", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); page(); snapshot().catch(() => {}); } }, t("lang_switch"))),
    h("div", { class: "help-wrap" }, holdButton()),
    h("div", { id: "status", class: "status", role: "status", "aria-live": "assertive", text: t("no_call") }),
    h("button", { id: "family-btn", class: "btn wide family-btn", onclick: async () => {
      if (!confirm(t("family_confirm"))) return;
      try { await sendCall("family"); toast(t("family_sent")); } catch (e) { toast(e.message, "err"); }
    } }, t("family")),
    h("section", { class: "card" }, h("h2", { text: t("today") }), h("ul", { id: "today-list", class: "list" }),
      h("div", { id: "visit-code", class: "visit-code", hidden: true })),
    h("p", { class: "muted", style: "text-align:center" }, h("button", { class: "link", onclick: () => { live.stop(); session.signOut(); } }, t("sign_out"))));
  if (current) showStatus(tr(current.status_text_i18n, current.status_text), current.status);
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => { const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = s === "live" ? "●" : "○"; } },
});
session.onSignedOut = () => start();

let signInError = "";
function start() {
  if (!session.signedIn || session.data.role !== "elder") {
    session.data = null;
    $("#app").replaceChildren(loginForm(session, { hint: "demo: elder / anxin1234", defaultLogin: "elder", onDone: start, error: signInError, wechat: true }));
    return;
  }
  page(); locate(); live.start();
}
keepFresh(session);
wechatReturn(session).then((e) => { signInError = e; start(); });
