// The caregiver's page: duty switch, the offer with accept/decline and a countdown, the
// current call (en route / arrive / resolve with notes), the day's route with navigation
// links, and location sent while on duty.
import { $, $$, h, t, bi, lang, setLang, addStrings, Session, Live, keepFresh, loginForm, hhmm, mmss, syncClock, now, toast, amapUrl, qqMapUrl } from "./common.js";

addStrings({
  on_duty: "在岗", off_duty: "离岗", duty: "当班状态", offer: "新的紧急呼叫", accept: "接单", decline: "拒绝",
  expires: "剩余", eta: "预计 {m} 分钟到达", address: "地址", access: "入户", deadline: "时限",
  current: "当前呼叫", en_route: "我已出发", arrive: "我已到达", resolve: "处理完毕", notes_ph: "处理情况（必填）",
  route: "今日路线", nothing: "今天暂无任务", amap: "高德导航", qq: "腾讯导航", need_location: "需要定位才能报到，请打开定位",
  accepted: "已接单，请尽快出发", declined: "已拒绝", arrived: "已报到到达", resolved: "已完成，辛苦了",
  arrived_far: "已报到，但位置距老人 {d} 米，调度台会核实", withdrawn: "该呼叫已改派", lang_switch: "English",
  st_accepted: "已接单", st_en_route: "在途", st_arrived: "已到达", sign_out: "退出", offer_gone: "该派单已失效",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情",
  t_done: "完成", t_planned: "已排", t_en_route: "在途", t_in_progress: "进行中", t_open: "待排",
}, {
  on_duty: "On duty", off_duty: "Off duty", duty: "Duty", offer: "New emergency call", accept: "Accept", decline: "Decline",
  expires: "left", eta: "ETA {m} min", address: "Address", access: "Access", deadline: "Deadline",
  current: "Current call", en_route: "On my way", arrive: "I have arrived", resolve: "Done", notes_ph: "What was done (required)",
  route: "Today's route", nothing: "No tasks today", amap: "Amap", qq: "Tencent Maps", need_location: "Location is needed to report arrival",
  accepted: "Accepted, please set off", declined: "Declined", arrived: "Arrival reported", resolved: "Resolved, thank you",
  arrived_far: "Arrival reported {d} m from the elder; the station will check", withdrawn: "This call was reassigned", lang_switch: "中文",
  st_accepted: "Accepted", st_en_route: "En route", st_arrived: "Arrived", sign_out: "Sign out", offer_gone: "This offer is no longer open",
  k_emergency: "Emergency", k_health: "Health", k_service: "Service", k_family: "Family",
  t_done: "done", t_planned: "planned", t_en_route: "en route", t_in_progress: "in progress", t_open: "to plan",
});

const session = new Session("caregiver");
const S = { day: null, position: null, positionAt: 0, lastSent: 0, lastSentPos: null, watch: null };

// ----- location while on duty --------------------------------------------------------------
function distM(a, b) {
  const k = 111320; const dx = (a.longitude - b.longitude) * k * Math.cos(a.latitude * Math.PI / 180); const dy = (a.latitude - b.latitude) * k;
  return Math.hypot(dx, dy);
}
async function sendLocation(force = false) {
  const p = S.position; if (!p || !S.day || !S.day.caregiver.on_duty) return;
  const moved = S.lastSentPos ? distM(p, S.lastSentPos) : Infinity;
  if (!force && Date.now() - S.lastSent < 30000 && moved < 50) return;
  S.lastSent = Date.now(); S.lastSentPos = { latitude: p.latitude, longitude: p.longitude };
  try {
    await session.api("POST", "/api/v1/caregivers/me/location", { location: { lat: p.latitude, lng: p.longitude, coord_system: "wgs84", accuracy_m: p.accuracy || undefined } });
  } catch (e) { console.warn("location", e); }
}
function watchLocation(on) {
  if (!navigator.geolocation) return;
  if (on && S.watch === null) {
    S.watch = navigator.geolocation.watchPosition((pos) => { S.position = pos.coords; S.positionAt = Date.now(); sendLocation(); }, () => {}, { enableHighAccuracy: true, maximumAge: 10000 });
  } else if (!on && S.watch !== null) { navigator.geolocation.clearWatch(S.watch); S.watch = null; }
}
// A fresh fix if one comes quickly, else the last one watched: never wait long.
function currentPosition(waitMs = 4000) {
  return new Promise((resolve) => {
    // While a watch runs it is the freshest source (and some browsers hold a one-off request back).
    if (!navigator.geolocation || (S.watch !== null && S.position && Date.now() - S.positionAt < 60000)) return resolve(S.position);
    const timer = setTimeout(() => resolve(S.position), waitMs);
    navigator.geolocation.getCurrentPosition((p) => { clearTimeout(timer); S.position = p.coords; S.positionAt = Date.now(); resolve(p.coords); },
      () => { clearTimeout(timer); resolve(S.position); }, { enableHighAccuracy: true, timeout: waitMs, maximumAge: 0 });
  });
}
setInterval(() => sendLocation(), 30000);

// ----- data --------------------------------------------------------------------------------
async function snapshot() {
  const d = await session.api("GET", "/api/v1/console/my-day");
  syncClock(d.now);
  S.day = d;
  watchLocation(d.caregiver.on_duty);
  render();
}

let snapTimer = null;
function onEvent(msg) {
  const fresh = now() - Date.parse(msg.at) < 60000;
  if (fresh && msg.type === "task.withdrawn") toast(t("withdrawn"), "err");
  if (fresh && msg.type === "task.offered" && navigator.vibrate) navigator.vibrate([300, 100, 300]);
  clearTimeout(snapTimer);
  snapTimer = setTimeout(() => snapshot().catch(() => {}), 50);
}

async function act(fn, okMsg) {
  try { const r = await fn(); if (okMsg) toast(typeof okMsg === "function" ? okMsg(r) : okMsg); }
  catch (e) { toast(e.status === 409 ? t("offer_gone") : e.message, "err"); }
  await snapshot().catch(() => {});
}

// ----- rendering ---------------------------------------------------------------------------
function deadlineClass(iso) { const left = (Date.parse(iso) - now()) / 1000; return left < 180 ? "red" : left < 480 ? "amber" : "green"; }

function offerCard(o) {
  return h("section", { class: "card offer", "data-offer": o.id },
    h("h2", {}, `⚠ ${t("offer")} · ${t(`k_${o.kind}`)}`),
    h("div", { class: "row" }, h("div", {}, h("div", { class: "step", text: o.elder_name }), h("div", { class: "muted", text: t("eta", { m: Math.max(1, Math.round(o.eta_s / 60)) }) })),
      h("div", { style: "text-align:right" }, h("div", { class: "cd", "data-until": o.expires_at, text: mmss((Date.parse(o.expires_at) - now()) / 1000) }), h("div", { class: "muted", text: t("expires") }))),
    h("dl", { class: "kv" }, h("dt", { text: t("address") }), h("dd", { text: o.address }),
      o.access_notes ? h("dt", { text: t("access") }) : null, o.access_notes ? h("dd", { text: o.access_notes }) : null),
    h("div", { class: "row" },
      h("button", { class: "btn ok", id: `accept-${o.id}`, onclick: () => act(() => session.api("POST", `/api/v1/offers/${o.id}/accept`), t("accepted")) }, t("accept")),
      h("button", { class: "btn", id: `decline-${o.id}`, onclick: () => act(() => session.api("POST", `/api/v1/offers/${o.id}/decline`, { reason: "" }), t("declined")) }, t("decline"))));
}

function navLinks(lat, lng, name) {
  return h("div", { class: "nav" },
    h("a", { href: amapUrl(lat, lng, name), target: "_blank", rel: "noopener", class: "nav-amap" }, t("amap")),
    h("a", { href: qqMapUrl(lat, lng, name), target: "_blank", rel: "noopener", class: "nav-qq" }, t("qq")));
}

function incidentCard(inc) {
  const notes = h("textarea", { id: "resolve-notes", rows: 2, placeholder: t("notes_ph"), maxlength: 2000 });
  const loc = inc.elder_location || inc.location;
  return h("section", { class: "card current", "data-incident": inc.id },
    h("h2", {}, `${t("current")} · `, h("span", { id: "cg-status", text: t(`st_${inc.status}`) })),
    h("div", { class: "step", text: inc.elder_name }),
    h("dl", { class: "kv" },
      h("dt", { text: t("address") }), h("dd", { text: inc.address || "" }),
      inc.access_notes ? h("dt", { text: t("access") }) : null, inc.access_notes ? h("dd", { text: inc.access_notes }) : null,
      h("dt", { text: t("deadline") }), h("dd", {}, h("span", { class: `deadline ${deadlineClass(inc.deadline_at)}`, "data-until": inc.deadline_at, text: mmss((Date.parse(inc.deadline_at) - now()) / 1000) }))),
    navLinks(loc.lat, loc.lng, inc.elder_name),
    inc.status === "accepted" ? h("button", { class: "btn primary wide", id: "btn-en-route", onclick: async () => {
      const p = S.position;
      act(() => session.api("POST", `/api/v1/incidents/${inc.id}/en-route`, p ? { location: { lat: p.latitude, lng: p.longitude, coord_system: "wgs84" } } : {}));
    } }, t("en_route")) : null,
    ["accepted", "en_route"].includes(inc.status) ? h("button", { class: "btn ok wide", id: "btn-arrive", onclick: async () => {
      const p = await currentPosition();
      if (!p) { toast(t("need_location"), "err"); return; }
      act(() => session.api("POST", `/api/v1/incidents/${inc.id}/arrive`, { location: { lat: p.latitude, lng: p.longitude, coord_system: "wgs84", accuracy_m: p.accuracy || undefined } }),
        (r) => r && r.flagged ? t("arrived_far", { d: Math.round(r.distance_m) }) : t("arrived"));
    } }, t("arrive")) : null,
    inc.status === "arrived" ? h("div", {}, notes, h("button", { class: "btn ok wide", id: "btn-resolve", onclick: () => {
      if (!notes.value.trim()) { notes.focus(); return; }
      act(() => session.api("POST", `/api/v1/incidents/${inc.id}/resolve`, { notes: notes.value.trim() }), t("resolved"));
    } }, t("resolve"))) : null);
}

function render() {
  const d = S.day; if (!d) return;
  const on = d.caregiver.on_duty;
  const keepNotes = $("#resolve-notes") ? $("#resolve-notes").value : "";
  $("#who").textContent = d.caregiver.name;
  $("#body").replaceChildren(
    h("section", { class: "card duty" },
      h("div", {}, h("div", { class: "muted", text: t("duty") }), h("div", { class: "step", id: "duty-label", text: on ? t("on_duty") : t("off_duty") })),
      h("button", { class: "switch", id: "duty", role: "switch", "aria-checked": String(on), "aria-label": t("duty"), onclick: () =>
        act(async () => { await session.api("POST", "/api/v1/caregivers/me/duty", { on_duty: !on }); if (!on) { await currentPosition(); sendLocation(true); } }) })),
    ...d.offers.map(offerCard),
    ...d.incidents.map(incidentCard),
    h("section", { class: "card" }, h("h2", { text: t("route") }),
      h("ol", { class: "list", id: "route" }, ...(d.tasks.length ? d.tasks.map((x) => h("li", {},
        h("span", { class: "time", text: hhmm(x.planned_start || x.window_start) }),
        h("span", { class: "grow" }, h("div", { text: `${bi(x.title)} · ${x.elder_name || ""}` }), h("div", { class: "muted", text: x.address || "" }),
          x.lat ? navLinks(x.lat, x.lng, x.elder_name || x.title) : null),
        h("span", { class: `tag ${x.status === "done" ? "done" : ""}`, text: t(`t_${x.status}`) }))) : [h("li", { class: "muted", text: t("nothing") })]))));
  if (keepNotes && $("#resolve-notes")) $("#resolve-notes").value = keepNotes;
}

setInterval(() => {
  for (const el of $$("[data-until]")) {
    const left = (Date.parse(el.dataset.until) - now()) / 1000;
    el.textContent = mmss(Math.max(el.classList.contains("cd") ? 0 : -Infinity, left));
    if (el.classList.contains("deadline")) el.className = `deadline ${deadlineClass(el.dataset.until)}`;
  }
}, 1000);

function page() {
  $("#app").replaceChildren(
    h("div", { class: "bar" }, h("h1", {}, "安心 · ", h("span", { class: "who", id: "who" })),
      h("span", { id: "conn", class: "conn" }),
      h("button", { class: "link", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); page(); render(); } }, t("lang_switch")),
      h("button", { class: "link", onclick: () => { live.stop(); watchLocation(false); session.signOut(); } }, t("sign_out"))),
    h("div", { id: "body" }));
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => { const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = s === "live" ? "●" : "○"; } },
});
session.onSignedOut = () => start();

function start() {
  if (!session.signedIn || session.data.role !== "caregiver") {
    session.data = null;
    $("#app").replaceChildren(loginForm(session, { hint: "demo: caregiver1 / anxin1234", defaultLogin: "caregiver1", onDone: start }));
    return;
  }
  page(); live.start();
}
keepFresh(session);
start();
