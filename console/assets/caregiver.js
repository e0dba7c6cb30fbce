// The caregiver's page: duty switch, the offer with accept/decline and a countdown, the
// current call (en route / arrive / resolve with notes), the day's route in order with
// navigation links and start / arrive / done for each visit (the task API), and location
// sent while on duty.
import { $, $$, h, t, tr, lang, setLang, addStrings, Session, Live, Outbox, keepFresh, loginForm, hhmm, mmss, syncClock, now, toast, navTargets } from "./common.js";

addStrings({
  on_duty: "在岗", off_duty: "离岗", duty: "当班状态", offer: "新的紧急呼叫", accept: "接单", decline: "拒绝",
  expires: "剩余", eta: "预计 {m} 分钟到达", nobody_else: "无其他人能及时赶到", address: "地址", access: "入户", deadline: "时限",
  current: "当前呼叫", en_route: "我已出发", arrive: "我已到达", resolve: "处理完毕", notes_ph: "处理情况（必填）",
  route: "今日路线", nothing: "今天暂无任务", amap: "高德导航", qq: "腾讯导航", need_location: "需要定位才能报到，请打开定位",
  accepted: "已接单，请尽快出发", declined: "已拒绝", arrived: "已报到到达", resolved: "已完成，辛苦了",
  arrived_far: "签到位置离老人家较远（{d} 米），请到门口再签到", too_far: "签到位置离老人家较远（{d} 米），还不算到达：请到门口再签到；已在门口请联系调度台确认。",
  arrive_again: "我已到门口，再次签到", confirmed_by_station: "调度台已确认您已到达", withdrawn: "该呼叫已改派", lang_switch: "English",
  st_accepted: "已接单", st_en_route: "在途", st_arrived: "已到达", sign_out: "退出", offer_gone: "该派单已失效",
  k_emergency: "紧急", k_health: "健康", k_service: "服务", k_family: "亲情",
  t_done: "完成", t_planned: "已排", t_en_route: "在途", t_in_progress: "服务中", t_open: "待排", t_cancelled: "已取消",
  on_scene_in: "已到场 · 用时 {m} 分钟",
  start: "出发", t_arrive: "到达", complete: "完成", task_notes_ph: "服务情况", door_code: "服务码（老人手机或门卡上）",
  hot: "送达时饭菜是热的", started: "已出发", task_arrived: "已到达", task_far: "已到达，但距老人 {d} 米（超出200米，本次需服务码证明）",
  access_line: "入户：{x}", task_done: "已完成", notes_needed: "请填写服务情况", window: "时段", in_window: "{a}–{b}",
  queued: "待发送", queued_title: "待发送（{n}）", queued_hint: "网络恢复后自动发送，按操作时的时间记录",
  q_accept: "接单", q_decline: "拒绝", q_en_route: "我已出发", q_arrive: "我已到达", q_resolve: "处理完毕",
  q_task_start: "出发", q_task_arrive: "到达", q_task_complete: "完成",
  sent_late: "离线时的操作已送达（按 {time} 记录）", conn_live: "已连接", conn_connecting: "正在连接…", conn_offline: "网络断开，操作会先存在手机上",
  sign_out_confirm: "确定要退出吗？", call_elder: "☎ 打给老人", call_home: "☎ 打家中座机", call_contact: "☎ 打给{name}", care_level: "护理等级", health: "病情/过敏",
  medicines: "用药", diet: "饮食", key_holder: "钥匙",
  start_early: "这次服务的时段是 {a}–{b}，现在离开始还有 {h} 小时。确定现在出发吗？",
  start_late: "这次服务的时段 {a}–{b} 已过去 {h} 小时。确定现在出发吗？",
  complete_early: "预约时段是 {a}–{b}，现在还没到：提前完成不算这次预约的服务，会被拒绝。仍要提交吗？", sign_out_pending: "还有 {n} 项操作没发出，退出后会在您下次登录时再发送。确定退出吗？",
}, {
  on_duty: "On duty", off_duty: "Off duty", duty: "Duty", offer: "New emergency call", accept: "Accept", decline: "Decline",
  expires: "left", eta: "ETA {m} min", nobody_else: "Nobody else can be there in time", address: "Address", access: "Access", deadline: "Deadline",
  current: "Current call", en_route: "On my way", arrive: "I have arrived", resolve: "Done", notes_ph: "What was done (required)",
  route: "Today's route", nothing: "No tasks today", amap: "Amap", qq: "Tencent Maps", need_location: "Location is needed to report arrival",
  accepted: "Accepted, please set off", declined: "Declined", arrived: "Arrival reported", resolved: "Resolved, thank you",
  arrived_far: "You checked in {d} m from the elder's home: please check in again at the door", too_far: "Your check-in was {d} m from the elder's home and does not count as arrived yet: check in again at the door, or call the station if you are already there.",
  arrive_again: "I am at the door: check in again", confirmed_by_station: "The station confirmed your arrival", withdrawn: "This call was reassigned", lang_switch: "中文",
  st_accepted: "Accepted", st_en_route: "En route", st_arrived: "Arrived", sign_out: "Sign out", offer_gone: "This offer is no longer open",
  k_emergency: "Emergency", k_health: "Health", k_service: "Service", k_family: "Family",
  t_done: "done", t_planned: "planned", t_en_route: "on the way", t_in_progress: "in progress", t_open: "to plan", t_cancelled: "cancelled",
  on_scene_in: "On scene · took {m} min",
  start: "Set off", t_arrive: "Arrived", complete: "Done", task_notes_ph: "What was done", door_code: "Visit code (elder's phone or door card)",
  hot: "The food was hot on arrival", started: "On your way", task_arrived: "Arrival recorded", task_far: "Arrived, {d} m from the elder (over 200 m: the visit code proves this visit)",
  access_line: "Access: {x}", task_done: "Done", notes_needed: "Please say what was done", window: "Window", in_window: "{a}–{b}",
  queued: "not sent yet", queued_title: "Waiting to send ({n})", queued_hint: "Sent when the network is back, with the time you did it",
  q_accept: "Accept", q_decline: "Decline", q_en_route: "On my way", q_arrive: "Arrived", q_resolve: "Done",
  q_task_start: "Set off", q_task_arrive: "Arrived", q_task_complete: "Done",
  sent_late: "Sent from while you were offline (recorded at {time})", conn_live: "Connected", conn_connecting: "Connecting…", conn_offline: "No network: your steps are kept on the phone",
  sign_out_confirm: "Sign out?", call_elder: "☎ Phone the elder", call_home: "☎ Phone the home line", call_contact: "☎ Phone {name}", care_level: "Care level", health: "Conditions/allergies",
  medicines: "Medicines", diet: "Diet", key_holder: "Key",
  start_early: "This visit's window is {a}–{b}, {h} h from now. Set off now anyway?",
  start_late: "This visit's window {a}–{b} ended {h} h ago. Set off now anyway?",
  complete_early: "The booking's window is {a}–{b} and has not begun: done this early it is not that booking's visit and will be refused. Send anyway?", sign_out_pending: "{n} steps have not been sent yet; they will be sent when you sign in again. Sign out?",
});

const session = new Session("caregiver");
const S = { day: null, tasks: null, position: null, positionAt: 0, lastSent: 0, lastSentPos: null, watch: null };
window.__anxin = { state: S };  // for the browser tests

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
const fix = (p) => ({ lat: p.latitude, lng: p.longitude, coord_system: "wgs84", accuracy_m: p.accuracy || undefined });

// ----- data --------------------------------------------------------------------------------
// The day: offers and calls from the console's my-day view; the route from the task API
// (GET /me/tasks), with the titles in both languages from my-day.
async function snapshot() {
  const [d, mine] = await Promise.all([
    session.api("GET", "/api/v1/console/my-day"),
    // Without the task API (an older server) the route still shows, without its steps.
    session.api("GET", "/api/v1/me/tasks").catch((e) => { console.warn("me/tasks", e.status); return null; })]);
  syncClock(d.now);
  S.day = d;
  const titles = new Map(d.tasks.map((x) => [x.id, x.title_i18n]));
  // In the order she will do them: by planned start, then by window.
  const when = (x) => Date.parse(x.planned_start || x.window_start || "") || Infinity;
  S.tasks = (mine ? mine.tasks.map((x) => ({ ...x, title_i18n: titles.get(x.id) })) : d.tasks)
    .slice().sort((a, b) => when(a) - when(b) || a.id - b.id);
  S.snapAt = Date.parse(d.now);
  // The call card: the elder's phones and care notes, read (and audited) once per call.
  S.contacts ||= {};
  await Promise.all(d.incidents.filter((i) => !(i.id in S.contacts)).map(async (i) => {
    try { S.contacts[i.id] = (await session.api("GET", `/api/v1/incidents/${i.id}`)).elder_contact || null; }
    catch (e) { console.warn("incident", e.status); }
  }));
  S.taskApi = !!mine;
  watchLocation(d.caregiver.on_duty);
  render();
}

let snapTimer = null;
function onEvent(msg) {
  // Only what happens while the page is open is announced, not the history replayed to a
  // freshly signed-in phone (its snapshot shows where things stand).
  const fresh = !!S.snapAt && Date.parse(msg.at) >= S.snapAt - 2000 && now() - Date.parse(msg.at) < 60000;
  if (fresh && msg.type === "task.withdrawn") toast(t("withdrawn"), "err");
  if (fresh && msg.type === "incident.arrival_confirmed") toast(t("confirmed_by_station"));
  if (fresh && msg.type === "task.offered" && navigator.vibrate) navigator.vibrate([300, 100, 300]);
  clearTimeout(snapTimer);
  snapTimer = setTimeout(() => snapshot().catch(() => {}), 50);
}

// ----- the steps queue ---------------------------------------------------------------------
// Every step is queued on the phone (localStorage) with its own Idempotency-Key and the time
// it was taken (device_time), sent in order and retried until the server answers; until then
// it shows as "待发送". The server applies each once and records it at the device time.
function stepMessage(item, r) {
  switch (item.step) {
    case "accept": return t("accepted");
    case "decline": return t("declined");
    case "arrive": return r && r.flagged ? [t("arrived_far", { d: metres(r.distance_m) }), "err"] : t("arrived");
    case "resolve": return t("resolved");
    case "task_start": return t("started");
    case "task_arrive": return r && r.within_geofence === false && r.arrival_distance_m ? t("task_far", { d: Math.round(r.arrival_distance_m) }) : t("task_arrived");
    case "task_complete": return t("task_done");
    default: return null;
  }
}
const outbox = new Outbox(session, "caregiver", {
  onDone: (item, r) => {
    const msg = stepMessage(item, r);
    if (msg) toast(...(Array.isArray(msg) ? msg : [msg]));
    if (r && r.late && r.recorded_at) toast(t("sent_late", { time: hhmm(r.recorded_at) }));
    snapshotSoon();
  },
  onFail: (item, e) => { toast(e.status === 409 ? t("offer_gone") : e.message, "err"); snapshotSoon(); },
  onChange: () => render(),
});
window.__anxin.outbox = outbox;
function queueStep(step, path, body, ref, who) {
  outbox.add(path, { ...body, device_time: new Date().toISOString() }, { step, ref, who: who || "" });
}
const queuedFor = (step, ref) => outbox.items().some((x) => x.step === step && x.ref === ref);
function queuedTag(step) { return h("span", { class: "tag queued", "data-queued": step, text: `${t(`q_${step}`)} · ${t("queued")}` }); }
function snapshotSoon() { clearTimeout(snapTimer); snapTimer = setTimeout(() => snapshot().catch(() => {}), 50); }

function outboxCard() {
  const items = outbox.items();
  if (!items.length) return null;
  return h("section", { class: "card outbox", id: "outbox" },
    h("h2", { text: t("queued_title", { n: items.length }) }),
    h("ul", { class: "list" }, ...items.map((x) => h("li", { "data-pending-step": x.step },
      h("span", { class: "time", text: hhmm(new Date(x.created).toISOString()) }),
      h("span", { class: "grow", text: [t(`q_${x.step}`), x.who].filter(Boolean).join(" · ") }),
      h("span", { class: "tag queued", text: t("queued") })))),
    h("p", { class: "muted small", text: t("queued_hint") }));
}

// okMsg: a text, or a function of the answer giving a text or [text, kind].
async function act(fn, okMsg) {
  try {
    const r = await fn();
    const msg = typeof okMsg === "function" ? okMsg(r) : okMsg;
    if (msg) toast(...(Array.isArray(msg) ? msg : [msg]));
  }
  catch (e) { toast(e.status === 409 ? t("offer_gone") : e.message, "err"); }
  await snapshot().catch(() => {});
}

// ----- rendering ---------------------------------------------------------------------------
function metres(d) { return Math.round(d || 0).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB"); }
function deadlineClass(iso) { const left = (Date.parse(iso) - now()) / 1000; return left < 180 ? "red" : left < 480 ? "amber" : "green"; }

function offerCard(o) {
  return h("section", { class: "card offer", "data-offer": o.id },
    h("h2", {}, `⚠ ${t("offer")} · ${t(`k_${o.kind}`)}`),
    h("div", { class: "row" }, h("div", {}, h("div", { class: "step", text: o.elder_name }), h("div", { class: "muted", text: t("eta", { m: Math.max(1, Math.round(o.eta_s / 60)) }) })),
      h("div", { style: "text-align:right" }, h("div", { class: "cd", "data-until": o.expires_at, text: mmss((Date.parse(o.expires_at) - now()) / 1000) }), h("div", { class: "muted", text: t("expires") }))),
    o.nobody_else ? h("div", { class: "step", text: t("nobody_else") }) : null,
    h("dl", { class: "kv" }, h("dt", { text: t("address") }), h("dd", { text: o.address }),
      o.access_notes ? h("dt", { text: t("access") }) : null, o.access_notes ? h("dd", { text: o.access_notes }) : null),
    queuedFor("accept", `o${o.id}`) ? queuedTag("accept") : queuedFor("decline", `o${o.id}`) ? queuedTag("decline") :
    h("div", { class: "row" },
      h("button", { class: "btn ok", id: `accept-${o.id}`, onclick: () => queueStep("accept", `/api/v1/offers/${o.id}/accept`, {}, `o${o.id}`, o.elder_name) }, t("accept")),
      h("button", { class: "btn", id: `decline-${o.id}`, onclick: () => queueStep("decline", `/api/v1/offers/${o.id}/decline`, { reason: "" }, `o${o.id}`, o.elder_name) }, t("decline"))));
}

// Navigation: the map app itself where it is installed (its URI scheme), else its web page.
// Coordinates are GCJ-02, as stored, which both apps expect.
function navLinks(lat, lng, name) {
  const mode = (S.day && S.day.caregiver.travel_mode) || "ebike";
  const links = navTargets(lat, lng, name, mode);
  const open = (app, web) => (ev) => {
    ev.preventDefault();
    // If the app takes over, the page is hidden; if not (not installed, or WeChat blocks the
    // scheme), open the web page after a moment.
    const fallback = setTimeout(() => { if (document.visibilityState === "visible") location.href = web; }, 1500);
    document.addEventListener("visibilitychange", () => clearTimeout(fallback), { once: true });
    location.href = app;
  };
  return h("div", { class: "nav" },
    h("a", { href: links.amap.web, "data-app": links.amap.app, target: "_blank", rel: "noopener", class: "nav-amap", onclick: open(links.amap.app, links.amap.web) }, t("amap")),
    h("a", { href: links.qq.web, "data-app": links.qq.app, target: "_blank", rel: "noopener", class: "nav-qq", onclick: open(links.qq.app, links.qq.web) }, t("qq")));
}

function incidentCard(inc) {
  const notes = h("textarea", { id: "resolve-notes", rows: 2, placeholder: t("notes_ph"), maxlength: 2000 });
  const loc = inc.elder_location || inc.location;
  // On scene the 20-minute clock has done its job: say how long it took instead of counting on.
  const clock = inc.arrived_at
    ? h("span", { class: "deadline done", id: "cg-deadline", text: t("on_scene_in", { m: Math.max(1, Math.round((Date.parse(inc.arrived_at) - Date.parse(inc.opened_at)) / 60000)) }) })
    : h("span", { class: `deadline ${deadlineClass(inc.deadline_at)}`, id: "cg-deadline", "data-until": inc.deadline_at, text: mmss((Date.parse(inc.deadline_at) - now()) / 1000) });
  // A check-in too far from the elder is not an arrival: say so until she checks in again
  // nearby or the station confirms it.
  const tooFar = inc.arrival_flagged && ["accepted", "en_route"].includes(inc.status);
  const ref = `i${inc.id}`;
  return h("section", { class: "card current", "data-incident": inc.id },
    h("h2", {}, `${t("current")} · `, h("span", { id: "cg-status", text: t(`st_${inc.status}`) })),
    h("div", { class: "step", text: inc.elder_name }),
    h("dl", { class: "kv" },
      h("dt", { text: t("address") }), h("dd", { text: inc.address || "" }),
      inc.access_notes ? h("dt", { text: t("access") }) : null, inc.access_notes ? h("dd", { text: inc.access_notes }) : null,
      h("dt", { text: t("deadline") }), h("dd", {}, clock)),
    callCard(inc),
    tooFar ? h("p", { class: "warn-box", id: "cg-too-far", role: "alert", text: t("too_far", { d: metres(inc.arrival_distance_m) }) }) : null,
    navLinks(loc.lat, loc.lng, inc.elder_name),
    queuedFor("en_route", ref) ? queuedTag("en_route") :
    inc.status === "accepted" ? h("button", { class: "btn primary wide", id: "btn-en-route", onclick: () => {
      const p = S.position;
      queueStep("en_route", `/api/v1/incidents/${inc.id}/en-route`, p ? { location: fix(p) } : {}, ref, inc.elder_name);
    } }, t("en_route")) : null,
    queuedFor("arrive", ref) ? queuedTag("arrive") :
    ["accepted", "en_route"].includes(inc.status) ? h("button", { class: "btn ok wide", id: "btn-arrive", onclick: async () => {
      const p = await currentPosition();
      if (!p) { toast(t("need_location"), "err"); return; }
      queueStep("arrive", `/api/v1/incidents/${inc.id}/arrive`, { location: fix(p) }, ref, inc.elder_name);
    } }, tooFar ? t("arrive_again") : t("arrive")) : null,
    queuedFor("resolve", ref) ? queuedTag("resolve") :
    inc.status === "arrived" ? h("div", {}, notes, h("button", { class: "btn ok wide", id: "btn-resolve", onclick: () => {
      if (!notes.value.trim()) { notes.focus(); return; }
      queueStep("resolve", `/api/v1/incidents/${inc.id}/resolve`, { notes: notes.value.trim() }, ref, inc.elder_name);
    } }, t("resolve"))) : null);
}

// What the caregiver needs on the way: tap to phone the elder and the first contact, the care
// level, conditions and allergies, medicines, diet and who holds the key.
function callCard(inc) {
  const c = (S.contacts || {})[inc.id];
  if (!c) return null;
  const first = (c.contacts || []).filter((x) => x && x.phone).sort((a, b) => (a.order || 0) - (b.order || 0))[0];
  const item = (key, value) => value ? [h("dt", { text: t(key) }), h("dd", { text: value })] : [];
  return h("div", { class: "call-card", id: "call-card" },
    h("div", { class: "row" },
      c.phone ? h("a", { class: "btn primary tel", href: `tel:${c.phone}`, "data-tel": "elder" }, t("call_elder")) : null,
      c.landline ? h("a", { class: `btn tel${c.phone ? "" : " primary"}`, href: `tel:${c.landline}`, "data-tel": "home" }, t("call_home")) : null,
      first ? h("a", { class: "btn tel", href: `tel:${first.phone}`, "data-tel": "contact" }, t("call_contact", { name: first.name || first.relation || "" })) : null),
    h("dl", { class: "kv" }, ...item("care_level", c.care_level), ...item("health", c.health_notes), ...item("medicines", c.medicines),
      ...item("diet", c.diet_notes), ...item("key_holder", c.key_holder)));
}

// Hours between now and a visit's window: >0 before it opens (early), <0 after it closed.
function windowGap(x) {
  const t0 = Date.parse(x.window_start || ""); const t1 = Date.parse(x.window_end || "");
  if (!Number.isNaN(t0) && now() < t0) return (t0 - now()) / 3600000;
  if (!Number.isNaN(t1) && now() > t1) return -(now() - t1) / 3600000;
  return 0;
}
function windowOk(x, earlyKey, lateKey, slackH = 1) {
  const gap = windowGap(x);
  const vars = { a: hhmm(x.window_start), b: hhmm(x.window_end), h: Math.abs(gap).toFixed(1) };
  if (gap > slackH) return confirm(t(earlyKey, vars));
  if (lateKey && gap < -slackH) return confirm(t(lateKey, vars));
  return true;
}

// One visit of the day's route: where and when, how to get there, and the step it is at.
// The visit she is at (or the next one) shows its steps; tapping another one opens it instead.
function expandedTask() {
  const list = S.tasks || [];
  const open = (x) => x.status !== "done" && !x.completed_at;
  if (S.expanded && list.some((x) => x.id === S.expanded && open(x))) return S.expanded;
  const here = list.find((x) => open(x) && (x.status === "in_progress" || x.status === "en_route"));
  return (here || list.find(open) || {}).id;
}

function taskItem(x, expanded) {
  const done = x.status === "done" || !!x.completed_at;
  const arrived = !done && (x.status === "in_progress" || !!x.arrived_at);
  const started = !done && !arrived && (x.status === "en_route" || !!x.started_at);
  const when = hhmm(x.planned_start || x.window_start);
  const windowText = x.window_start && x.window_end ? t("in_window", { a: hhmm(x.window_start), b: hhmm(x.window_end) }) : "";
  const actions = [];
  const mine = x.id === expanded;
  const ref = `t${x.id}`;
  const who = x.elder_name || tr(x.title_i18n, x.title);
  if (S.taskApi && !done && mine) {
    if (queuedFor("task_start", ref)) actions.push(queuedTag("task_start"));
    else if (!started && !arrived) {
      actions.push(h("button", { class: "btn primary", "data-start": x.id, onclick: () => {
        // Hours outside its window: a warning she must confirm, not a silent refusal.
        if (!windowOk(x, "start_early", "start_late")) return;
        queueStep("task_start", `/api/v1/tasks/${x.id}/start`, {}, ref, who);
      } }, t("start")));
    }
    if (queuedFor("task_arrive", ref)) actions.push(queuedTag("task_arrive"));
    else if (!arrived) {
      actions.push(h("button", { class: "btn ok", "data-arrive": x.id, onclick: async () => {
        const p = await currentPosition();
        if (!p) { toast(t("need_location"), "err"); return; }
        queueStep("task_arrive", `/api/v1/tasks/${x.id}/arrive`, { location: fix(p) }, ref, who);
      } }, t("t_arrive")));
    }
  }
  const form = S.taskApi && mine && queuedFor("task_complete", ref) ? queuedTag("task_complete")
    : S.taskApi && (arrived || queuedFor("task_arrive", ref)) && mine ? completeForm(x) : null;
  return h("li", { class: `task${done ? " is-done" : ""}${arrived ? " is-here" : ""}${mine ? " is-open" : ""}`, "data-task": x.id,
    onclick: (ev) => { if (!done && !mine && !ev.target.closest("a, button, form")) { S.expanded = x.id; render(); } } },
    h("span", { class: "time", text: when }),
    h("span", { class: "grow" },
      h("div", { class: "task-title", text: `${tr(x.title_i18n, x.title)}${x.elder_name ? " · " + x.elder_name : ""}` }),
      h("div", { class: "muted", text: [x.address, windowText].filter(Boolean).join(" · ") }),
      x.access_notes ? h("div", { class: "muted access", text: t("access_line", { x: x.access_notes }) }) : null,
      !done && mine && x.lat ? navLinks(x.lat, x.lng, x.elder_name || x.title) : null,
      actions.length ? h("div", { class: "row task-actions" }, ...actions) : null,
      form),
    h("span", { class: `tag ${done ? "done" : ""}`, "data-task-status": x.status, text: t(`t_${x.status}`) === `t_${x.status}` ? x.status : t(`t_${x.status}`) }));
}

function completeForm(x) {
  const notes = h("textarea", { rows: 2, name: "task-notes", placeholder: t("task_notes_ph"), maxlength: 1000 });
  const code = h("input", { name: "door-code", inputmode: "numeric", autocomplete: "off", maxlength: 12, placeholder: t("door_code") });
  const hot = h("input", { type: "checkbox", name: "hot", checked: true });
  const meal = x.kind === "meal_delivery";
  return h("form", { class: "complete-form", "data-complete": x.id, onsubmit: (ev) => {
    ev.preventDefault();
    const body = { notes: notes.value.trim() };
    if (meal) body.hot = hot.checked;
    else if (code.value.trim()) body.door_code = code.value.trim();
    if (!meal && !x.booking_id && !body.notes) { toast(t("notes_needed"), "err"); notes.focus(); return; }
    if (x.booking_id && !windowOk(x, "complete_early", null, 0.25)) return;
    queueStep("task_complete", `/api/v1/tasks/${x.id}/complete`, body, `t${x.id}`, x.elder_name || tr(x.title_i18n, x.title));
  } },
    notes,
    meal ? h("label", { class: "check" }, hot, t("hot")) : code,
    h("button", { class: "btn ok wide", type: "submit" }, t("complete")));
}

function render() {
  const d = S.day; if (!d) return;
  const on = d.caregiver.on_duty;
  // Live updates re-render the page: keep what is being typed.
  const kept = $$("textarea, input[name=door-code]").map((el) => [el.closest("[data-complete], [data-incident]")?.dataset.complete || "", el.name || el.id, el.value]);
  $("#who").textContent = d.caregiver.name;
  const route = S.tasks || [];
  $("#body").replaceChildren(
    outboxCard(),
    h("section", { class: "card duty" },
      h("div", {}, h("div", { class: "muted", text: t("duty") }), h("div", { class: "step", id: "duty-label", text: on ? t("on_duty") : t("off_duty") })),
      h("button", { class: "switch", id: "duty", role: "switch", "aria-checked": String(on), "aria-label": t("duty"), onclick: () =>
        act(async () => { await session.api("POST", "/api/v1/caregivers/me/duty", { on_duty: !on }); if (!on) { await currentPosition(); sendLocation(true); } }) })),
    ...d.offers.map(offerCard),
    ...d.incidents.map(incidentCard),
    h("section", { class: "card" }, h("h2", { text: t("route") }),
      h("ol", { class: "list", id: "route" }, ...(route.length ? route.map((x) => taskItem(x, expandedTask())) : [h("li", { class: "muted", text: t("nothing") })]))));
  for (const [form, name, value] of kept) {
    if (!value) continue;
    const scope = form ? $(`[data-complete="${form}"]`) : document;
    const el = scope && (scope.querySelector(`[name="${name}"]`) || scope.querySelector(`#${name}`));
    if (el) el.value = value;
  }
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
      h("button", { class: "link", id: "sign-out", onclick: () => {
        const n = outbox.items().length;
        if (!confirm(n ? t("sign_out_pending", { n }) : t("sign_out_confirm"))) return;
        live.stop(); watchLocation(false); session.signOut();
      } }, t("sign_out"))),
    h("div", { id: "body" }));
}

const live = new Live(session, {
  onEvent, onSnapshot: snapshot,
  onState: (s) => {
    const el = $("#conn"); if (el) { el.className = `conn ${s}`; el.textContent = `${s === "live" ? "●" : "○"} ${t(`conn_${s}`)}`; }
    if (s === "live") outbox.flush();
  },
});
session.onSignedOut = () => start();

function start() {
  if (!session.signedIn || session.data.role !== "caregiver") {
    session.data = null;
    $("#app").replaceChildren(loginForm(session, { hint: "demo: caregiver1 / anxin1234", defaultLogin: "caregiver1", onDone: start }));
    return;
  }
  page(); live.start();
  outbox.flush();   // steps taken before a reload or a restart go out now
}
keepFresh(session);
start();
