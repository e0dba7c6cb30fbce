// The elder's page: one very large help button (hold ~1 s to confirm), the call's status in
// large type, today's visits and meals, and a call-my-family button.
import { $, h, t, tr, lang, setLang, addStrings, Session, Live, Outbox, keepFresh, loginForm, hhmm, syncClock, toast, wechatReturn } from "./common.js";

addStrings({
  title: "安心呼叫", hold: "按住求助", hold_sub: "按住 1 秒", holding: "继续按住…", sent: "已呼叫",
  sent_sub: "站里已收到", family: "☎ 联系我的家人", family_sent: "已通知您的家人，请稍候",
  family_confirm: "要通知家人给您回电吗？", today: "今天的服务", nothing_today: "今天没有安排",
  retrying: "网络不好，正在重试…", no_call: "有需要请按住红色按钮", lang_switch: "English",
  st_done: "已完成", st_planned: "已安排", st_en_route: "在路上", st_in_progress: "进行中", st_open: "待安排",
  visit_code: "今日服务码", visit_code_sub: "护理员上门时，请把这个号码告诉对方", sign_out: "退出", first_status: "已收到呼叫，正在为您联系护理员",
  sending: "正在发出呼叫…", not_sent: "网络不好，呼叫还没发出，正在重试", not_sent_sub: "着急请直接打电话：",
  pending_big: "呼叫中", pending_small: "还没发出", family_sending: "正在通知家人…", family_not_sent: "网络不好，还没通知到家人，正在重试",
  call_station: "☎ 打给服务站", call_family: "☎ 打给{name}", call_family_plain: "☎ 打给家人", call_120: "☎ 打 120 急救",
  conn_live: "已连接", conn_connecting: "正在连接…", conn_offline: "网络断开，正在重连…",
  sign_out_confirm: "确定要退出吗？退出后不能一键呼叫。", call_failed: "呼叫没有成功：{msg}",
}, {
  title: "Anxin help", hold: "HELP", hold_sub: "hold for 1 second", holding: "keep holding…", sent: "Called",
  sent_sub: "the station has it", family: "☎ Call my family", family_sent: "Your family has been told; please wait",
  family_confirm: "Ask your family to call you back?", today: "Today", nothing_today: "Nothing planned today",
  retrying: "Poor network, retrying…", no_call: "Hold the red button if you need help", lang_switch: "中文",
  st_done: "done", st_planned: "planned", st_en_route: "on the way", st_in_progress: "in progress", st_open: "to plan",
  visit_code: "Today's visit code", visit_code_sub: "tell it to the caregiver at your door", sign_out: "Sign out", first_status: "We have your call and are finding a caregiver",
  sending: "Sending your call…", not_sent: "Poor network: your call has not gone out yet, retrying", not_sent_sub: "If it is urgent, phone directly:",
  pending_big: "CALLING", pending_small: "not sent yet", family_sending: "Telling your family…", family_not_sent: "Poor network: your family has not been told yet, retrying",
  call_station: "☎ Phone the station", call_family: "☎ Phone {name}", call_family_plain: "☎ Phone my family", call_120: "☎ Phone 120 (ambulance)",
  conn_live: "Connected", conn_connecting: "Connecting…", conn_offline: "No network, reconnecting…",
  sign_out_confirm: "Sign out? You cannot call for help with one press after signing out.", call_failed: "The call did not go through: {msg}",
});

const session = new Session("elder");
const HOLD_MS = 1000;
let position = null;      // last known location, never waited for
let current = null;       // the open emergency, if any

function locate() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((p) => { position = p.coords; }, () => {}, { maximumAge: 300000, timeout: 10000 });
}

// A call is queued on the phone (localStorage) before it is sent, and sent again with the same
// Idempotency-Key and body until the server answers: a reload, a closed tab or a phone restart
// keeps it, and the page sends it when it opens again. "Called" is shown only after a 2xx.
const outbox = new Outbox(session, "elder", {
  onDone: (item, inc) => {
    if (item.call_type === "family") { toast(t("family_sent")); showStatus(t("family_sent"), "open", "family"); }
    else {
      current = inc;
      $("#help-big").textContent = t("sent"); $("#help-small").textContent = t("sent_sub");
      showStatus(tr(inc.status_text_i18n, inc.status_text) || t("first_status"), inc.status);
    }
    renderPending();
    snapshot().catch(() => {});
  },
  onFail: (item, e) => { toast(t("call_failed", { msg: e.message }), "err"); renderPending(); },
  onChange: () => renderPending(),
});
window.__anxin = { outbox };  // for the browser tests

function queueCall(callType) {
  const body = { call_type: callType };
  if (position) body.location = { lat: position.latitude, lng: position.longitude, coord_system: "wgs84", accuracy_m: position.accuracy || undefined };
  // One pending call of a kind is enough: a second press joins it.
  if (outbox.items().some((x) => x.call_type === callType)) { outbox.flush(); return; }
  outbox.add("/api/v1/help-calls", body, { call_type: callType });
  setTimeout(renderPending, 3100);  // "sending" turns into "not sent" if nothing came back
}

// The numbers to phone while a call cannot get out: kept on the phone, as the page may open
// without a network.
function phones() {
  try { return JSON.parse(localStorage.getItem("anxin.elder.phones") || "null") || { emergency: "120" }; } catch (e) { return { emergency: "120" }; }
}
function telButtons() {
  const p = phones();
  const fam = p.family;
  return h("div", { class: "tel-list" },
    p.station ? h("a", { class: "btn wide tel", href: `tel:${p.station}`, "data-tel": "station" }, t("call_station")) : null,
    fam ? h("a", { class: "btn wide tel", href: `tel:${fam.phone}`, "data-tel": "family" }, fam.name ? t("call_family", { name: fam.name }) : t("call_family_plain")) : null,
    h("a", { class: "btn wide tel danger", href: `tel:${p.emergency || "120"}`, "data-tel": "120" }, t("call_120")));
}

function renderPending() {
  const box = $("#pending"); if (!box) return;
  const items = outbox.items();
  const btn = $("#help");
  if (!items.length) {
    box.hidden = true; box.replaceChildren(); box.removeAttribute("data-state");
    if (btn) btn.classList.remove("pending");
    return;
  }
  const item = items.find((x) => x.call_type === "emergency") || items[0];
  const failed = (item.tries || 0) > 0 || Date.now() - item.created > 3000;
  const family = item.call_type === "family";
  box.dataset.state = failed ? "failed" : "sending";
  box.hidden = false;
  box.replaceChildren(
    h("div", { class: "pending-text", text: family ? t(failed ? "family_not_sent" : "family_sending") : t(failed ? "not_sent" : "sending") }),
    failed ? h("div", { class: "muted", text: t("not_sent_sub") }) : null,
    failed ? telButtons() : null);
  if (!family && btn) {
    btn.classList.remove("sent"); btn.classList.add("pending");
    $("#help-big").textContent = t("pending_big"); $("#help-small").textContent = t("pending_small");
    const st = $("#status"); if (st && !current) { st.textContent = ""; st.className = "status"; }
  }
}

function statusClass(status) {
  return ["open", "offered"].includes(status) ? "wait" : ["accepted", "en_route"].includes(status) ? "come" : "here";
}

// A family call is not an emergency: its status is shown, but the help button stays ready.
function showStatus(text, status, kind = "emergency") {
  const el = $("#status"); if (!el) return;
  el.textContent = text || t("no_call");
  el.className = `status ${text ? (kind === "emergency" ? statusClass(status) : "here") : ""}`;
  const btn = $("#help");
  if (btn) btn.classList.toggle("sent", !!text && kind === "emergency" && !["resolved", "closed"].includes(status));
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
  const fire = () => {
    fired = true; reset();
    if (navigator.vibrate) navigator.vibrate([80, 40, 80]);
    queueCall("emergency");
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
  if (d.phones) localStorage.setItem("anxin.elder.phones", JSON.stringify(d.phones));
  $("#who").textContent = d.elder.name;
  const open = d.open_incidents.find((i) => i.kind === "emergency") || d.open_incidents[0];
  current = open || null;
  showStatus(open ? tr(open.status_text_i18n, open.status_text) : "", open ? open.status : null, open ? open.kind : undefined);
  if (open && open.kind === "emergency") { $("#help-big").textContent = t("sent"); $("#help-small").textContent = t("sent_sub"); }
  if (!open) { $("#help-big").textContent = t("hold"); $("#help-small").textContent = t("hold_sub"); }
  renderPending();
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
    if (["resolved", "closed"].includes(p.status)) { setTimeout(snapshot, 50); showStatus(text, p.status, current ? current.kind : "emergency"); return; }
    showStatus(text, p.status, p.kind || (current && current.id === p.incident_id ? current.kind : "emergency"));
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
    h("div", { id: "pending", class: "pending-box", role: "alert", hidden: true }),
    h("div", { id: "status", class: "status", role: "status", "aria-live": "assertive", text: t("no_call") }),
    h("button", { id: "family-btn", class: "btn wide family-btn", onclick: () => {
      if (!confirm(t("family_confirm"))) return;
      queueCall("family");
    } }, t("family")),
    h("section", { class: "card" }, h("h2", { text: t("today") }), h("ul", { id: "today-list", class: "list" }),
      h("div", { id: "visit-code", class: "visit-code", hidden: true })),
    h("p", { class: "muted", style: "text-align:center" }, h("button", { class: "link", id: "sign-out", onclick: () => {
      if (!confirm(t("sign_out_confirm"))) return;
      live.stop(); session.signOut();
    } }, t("sign_out"))));
  if (current) showStatus(tr(current.status_text_i18n, current.status_text), current.status, current.kind);
  renderPending();
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => {
    const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = `${s === "live" ? "●" : "○"} ${t(`conn_${s}`)}`; }
    if (s === "live") outbox.flush();   // the network is back: send what is waiting now
  },
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
  outbox.flush();   // a call pressed before a reload, a closed tab or a restart goes out now
}
keepFresh(session);
wechatReturn(session).then((e) => { signInError = e; start(); });
