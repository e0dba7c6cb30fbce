// The station's day-care page (日间托老): today's attendance list with check-in and check-out,
// absences (told, or silent at the roll call: a welfare check), and the programme's capacity
// by weekday with its waiting list.
import { staffPage, session, stationId, serverToday, say, h, t } from "./staff.js";
import { addStrings, $, hhmm } from "./common.js";

addStrings({
  daycare_title: "日间托老", programme: "开放时间与名额", hours: "每周{days} {opens}–{closes}", capacity: "名额 {n} 人",
  no_programme: "本站尚未设置日间托老（开放日、时间和名额）。", attendance: "今日出勤（{day}）", closed_today: "今天不开放。",
  not_opened: "今日名单尚未生成（每天 07:00 自动生成）。", open_day: "生成今日名单", roll_call: "点名（未到且未请假的记为缺席并派探访）",
  refresh: "刷新", name: "老人", status: "状态", in_at: "签到", out_at: "签退", lunch: "午餐", actions: "操作",
  check_in: "签到", check_out: "签退", excuse: "请假", checked_in: "{name} 已签到", checked_out: "{name} 已签退", excused_ok: "{name} 今天请假，已登记",
  st_expected: "待到", st_present: "在站", st_left: "已离开", st_excused: "请假", st_absent: "缺席（已派探访）",
  lunch_ordered: "已订", lunch_no_menu: "无菜单", lunch_too_late: "已过订餐截止", lunch_own_order: "自订", lunch_none: "不用餐", lunch_cancelled: "已取消",
  present_n: "在站 {present} / 应到 {expected}", absences: "缺席与请假", no_absences: "今天没有缺席或请假。",
  by_weekday: "各日名额", weekday: "星期", enrolled: "已报名", free: "空余", waiting: "候补名单", no_waiting: "没有候补。",
  position: "候补序号", days: "报名日", full_days: "已满的日子", since: "开始日期",
  enrol: "报名日间托老", search_ph: "老人姓名或电话", search: "查找", no_elders: "没有找到老人。", lunch_too: "在站午餐",
  enrol_btn: "报名", pick_elder: "请先选择老人", pick_days: "请至少选择一天", enrolled_ok: "{name} 已报名（{days}）",
  waiting_ok: "{name} 所选日子已满（{full}），排在候补第 {n} 位", enrolled_list: "已报名（{n} 人）", end: "退出", ended_ok: "{name} 已退出日间托老",
  no_enrolled: "还没有人报名。",
  wd0: "一", wd1: "二", wd2: "三", wd3: "四", wd4: "五", wd5: "六", wd6: "日", list_sep: "、",
}, {
  daycare_title: "Day care", programme: "Opening hours and places", hours: "{days} {opens}–{closes}", capacity: "{n} places",
  no_programme: "This station has no day-care programme yet (days, hours and places).", attendance: "Attendance today ({day})", closed_today: "Closed today.",
  not_opened: "Today's list is not made yet (it is made at 07:00 every day).", open_day: "Make today's list", roll_call: "Roll call (silent absences become welfare checks)",
  refresh: "Refresh", name: "Elder", status: "Status", in_at: "In", out_at: "Out", lunch: "Lunch", actions: "",
  check_in: "Check in", check_out: "Check out", excuse: "Excuse", checked_in: "{name} checked in", checked_out: "{name} checked out", excused_ok: "{name} excused today",
  st_expected: "expected", st_present: "here", st_left: "left", st_excused: "excused", st_absent: "absent (welfare check sent)",
  lunch_ordered: "ordered", lunch_no_menu: "no menu", lunch_too_late: "past the cut-off", lunch_own_order: "own order", lunch_none: "none", lunch_cancelled: "cancelled",
  present_n: "{present} here of {expected} expected", absences: "Absences", no_absences: "No absences today.",
  by_weekday: "Places by weekday", weekday: "Day", enrolled: "Enrolled", free: "Free", waiting: "Waiting list", no_waiting: "Nobody waiting.",
  position: "Position", days: "Days", full_days: "Full days", since: "From",
  enrol: "Enrol in day care", search_ph: "Elder's name or phone", search: "Find", no_elders: "No elders found.", lunch_too: "Lunch at the station",
  enrol_btn: "Enrol", pick_elder: "Choose an elder first", pick_days: "Choose at least one day", enrolled_ok: "{name} enrolled ({days})",
  waiting_ok: "{name}: {full} full, waiting at position {n}", enrolled_list: "Enrolled ({n})", end: "End", ended_ok: "{name} left day care",
  no_enrolled: "Nobody enrolled yet.",
  wd0: "Mon", wd1: "Tue", wd2: "Wed", wd3: "Thu", wd4: "Fri", wd5: "Sat", wd6: "Sun", list_sep: ", ",
});

const S = { sid: null, day: null, names: new Map(), timer: null };
// Another tablet (or the elder's code at the door) may check someone in: redraw now and then.
const REFRESH_MS = 20000;
const PILL = { expected: "", present: "ok", left: "", excused: "warn", absent: "bad" };
const wds = (ds) => ds.map((d) => t(`wd${d}`)).join(t("list_sep"));

async function render(main) {
  S.sid = stationId();
  S.day = await serverToday();
  main.replaceChildren(
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "programme" }),
    h("section", { class: "panel", id: "day" }),
    h("section", { class: "panel", id: "absences" }),
    h("section", { class: "panel", id: "waiting" }),
    h("section", { class: "panel", id: "enrol" }));
  await load();
  clearInterval(S.timer);
  S.timer = setInterval(() => { if (document.visibilityState === "visible") reload(); }, REFRESH_MS);
}

// The waiting elders' names (a few: each read once).
async function names(enrolments) {
  const ids = [...new Set(enrolments.filter((e) => e.status !== "ended").map((e) => e.elder_id))].filter((id) => !S.names.has(id));
  const got = await Promise.all(ids.map((id) => session.api("GET", `/api/v1/elders/${id}`).catch(() => null)));
  for (const e of got) if (e) S.names.set(e.id, e.name);
}

async function load() {
  const base = `/api/v1/stations/${S.sid}/daycare`;
  let prog;
  try { prog = await session.api("GET", `${base}/programme`); }
  catch (e) {
    if (e.status !== 404) throw e;
    $("#programme").replaceChildren(h("h2", { text: t("programme") }), h("p", { id: "no-programme", text: t("no_programme") }));
    for (const id of ["day", "absences", "waiting", "enrol"]) $(`#${id}`).hidden = true;
    return;
  }
  const [day, enrolments] = await Promise.all([session.api("GET", `${base}/days/${S.day}`), session.api("GET", `${base}/enrolments`)]);
  await names(enrolments);
  $("#programme").replaceChildren(h("h2", { text: t("programme") }),
    h("p", { class: "row" }, h("span", { class: "pill", text: t("hours", { days: wds(prog.days), opens: prog.opens, closes: prog.closes }) }),
      h("span", { class: "pill", id: "capacity", text: t("capacity", { n: prog.capacity }) })));
  drawDay(day);
  drawWaiting(prog, enrolments);
  drawEnrol(prog, enrolments);
}

// Enrolment: find the elder, tick the days (the programme's), the start and lunch; a full day
// puts the elder on the waiting list, and the answer says where. The enrolled can end.
function drawEnrol(prog, enrolments) {
  const live = enrolments.filter((e) => e.status === "enrolled");
  // The form is drawn once (the page's refresh must not wipe what the operator is typing).
  if (!$("#enrol-form")) $("#enrol").replaceChildren(enrolForm(prog), h("div", { id: "enrolled-wrap" }));
  $("#enrolled-wrap").replaceChildren(h("h2", { text: t("enrolled_list", { n: live.length }) }),
    live.length ? h("table", { class: "list", id: "enrolled" },
      h("tbody", {}, live.map((e) => h("tr", { dataset: { enrolment: e.id, elder: e.elder_id } },
        h("td", { text: S.names.get(e.elder_id) || `#${e.elder_id}` }), h("td", { text: wds(e.weekdays) }), h("td", { text: e.starts_on }),
        h("td", {}, h("button", { class: "btn big end", onclick: () => end(e) }, t("end")))))))
      : h("p", { text: t("no_enrolled") }));
}

function enrolForm(prog) {
  const q = h("input", { id: "enrol-q", placeholder: t("search_ph"), style: "min-width:240px" });
  const list = h("div", { id: "enrol-elders", class: "row" });
  const days = prog.days.map((d) => h("label", { class: "day-opt" }, h("input", { type: "checkbox", value: d, name: "enrol-day" }), ` ${t(`wd${d}`)}`));
  const starts = h("input", { type: "date", id: "enrol-start", value: S.day });
  const lunch = h("input", { type: "checkbox", id: "enrol-lunch", checked: true });
  const find = async () => {
    const r = await session.api("GET", `/api/v1/elders?page_size=20&active=true&station_id=${S.sid}${q.value.trim() ? `&q=${encodeURIComponent(q.value.trim())}` : ""}`);
    list.replaceChildren(...(r.items.length ? r.items.map((e) => h("button", { type: "button", class: "btn big", dataset: { elder: e.id }, onclick: () => {
      S.picked = e; list.querySelectorAll(".btn").forEach((b) => b.classList.toggle("primary", Number(b.dataset.elder) === e.id));
    } }, e.name)) : [h("span", { text: t("no_elders") })]));
  };
  S.picked = null;
  return h("div", { id: "enrol-form" }, h("h2", { text: t("enrol") }),
    h("form", { class: "row", id: "enrol-find", onsubmit: (ev) => { ev.preventDefault(); find().catch((e) => say($("#msg"), e.message)); } },
      q, h("button", { class: "btn big", type: "submit" }, t("search"))),
    list,
    h("div", { class: "row" }, ...days, h("label", {}, `${t("since")} `, starts), h("label", {}, lunch, ` ${t("lunch_too")}`),
      h("button", { class: "btn big primary", id: "btn-enrol", onclick: () => enrol(starts.value, lunch.checked) }, t("enrol_btn"))));
}

async function enrol(startsOn, lunch) {
  const days = [...document.querySelectorAll("input[name=enrol-day]:checked")].map((i) => Number(i.value));
  if (!S.picked) { say($("#msg"), t("pick_elder")); return; }
  if (!days.length) { say($("#msg"), t("pick_days")); return; }
  const who = S.picked;
  try {
    const r = await session.api("POST", `/api/v1/elders/${who.id}/daycare/enrolments`, { weekdays: days, starts_on: startsOn, lunch });
    S.names.set(who.id, who.name);
    say($("#msg"), r.status === "waiting" ? t("waiting_ok", { name: who.name, full: wds(r.full_days), n: r.waiting_position })
      : t("enrolled_ok", { name: who.name, days: wds(r.weekdays) }), r.status === "waiting" ? "warn" : "ok");
  } catch (e) { say($("#msg"), e.message); return; }
  await load();
}

async function end(e) {
  const name = S.names.get(e.elder_id) || `#${e.elder_id}`;
  try {
    await session.api("POST", `/api/v1/daycare/enrolments/${e.id}/end`);
    say($("#msg"), t("ended_ok", { name }), "ok");
  } catch (err) { say($("#msg"), err.message); return; }
  await load();
}

function drawDay(day) {
  const rows = day.attendance;
  const expected = rows.filter((r) => r.status !== "excused").length;
  const present = rows.filter((r) => r.status === "present").length;
  const head = h("div", { class: "row" }, h("h2", { text: t("attendance", { day: S.day }), style: "flex:1" }),
    day.open && rows.length ? h("span", { class: "pill ok", id: "present-count", text: t("present_n", { present, expected }) }) : null,
    h("button", { class: "btn big", id: "btn-refresh", onclick: () => reload() }, t("refresh")));
  if (!day.open) { $("#day").replaceChildren(head, h("p", { text: t("closed_today") })); return; }
  const act = (label, cls, fn) => h("button", { class: `btn big ${cls}`, onclick: fn }, label);
  const body = rows.map((r) => h("tr", { dataset: { attendance: r.id, elder: r.elder_id, status: r.status } },
    h("td", { class: "nm", style: "font-size:16px", text: r.elder_name }),
    h("td", {}, h("span", { class: `pill ${PILL[r.status] || ""}`, text: t(`st_${r.status}`) })),
    h("td", { class: "in", text: hhmm(r.checked_in_at) || "—" }),
    h("td", { class: "out", text: hhmm(r.checked_out_at) || "—" }),
    h("td", { text: t(`lunch_${r.lunch}`) }),
    h("td", { class: "row" },
      ["expected", "absent", "excused"].includes(r.status) ? act(t("check_in"), "primary check-in", () => move(r, "check-in", "checked_in")) : null,
      r.status === "present" ? act(t("check_out"), "check-out", () => move(r, "check-out", "checked_out")) : null,
      r.status === "expected" ? act(t("excuse"), "excuse", () => excuse(r)) : null)));
  $("#day").replaceChildren(head,
    rows.length ? h("table", { class: "list", id: "attendance" },
      h("thead", {}, h("tr", {}, [t("name"), t("status"), t("in_at"), t("out_at"), t("lunch"), t("actions")].map((x) => h("th", { text: x })))),
      h("tbody", {}, body)) : h("p", { text: t("not_opened") }),
    h("div", { class: "actions" },
      h("button", { class: "btn big", id: "btn-open", onclick: () => post("open") }, t("open_day")),
      rows.length ? h("button", { class: "btn big", id: "btn-roll-call", onclick: () => post("roll-call") }, t("roll_call")) : null));
  const off = rows.filter((r) => ["excused", "absent"].includes(r.status));
  $("#absences").replaceChildren(h("h2", { text: t("absences") }),
    off.length ? h("ul", { id: "absence-list" }, off.map((r) => h("li", { dataset: { elder: r.elder_id } }, `${r.elder_name} · ${t(`st_${r.status}`)}`)))
      : h("p", { text: t("no_absences") }));
}

function drawWaiting(prog, enrolments) {
  const live = enrolments.filter((e) => e.status === "enrolled");
  const waiting = enrolments.filter((e) => e.status === "waiting").sort((a, b) => (a.waiting_position ?? 0) - (b.waiting_position ?? 0));
  const perDay = prog.days.map((d) => [d, live.filter((e) => e.weekdays.includes(d)).length]);
  $("#waiting").replaceChildren(
    h("h2", { text: t("by_weekday") }),
    h("table", { class: "list", id: "places" },
      h("thead", {}, h("tr", {}, [t("weekday"), t("enrolled"), t("free")].map((x) => h("th", { text: x })))),
      h("tbody", {}, perDay.map(([d, n]) => h("tr", { dataset: { weekday: d } }, h("td", { text: t(`wd${d}`) }), h("td", { text: `${n} / ${prog.capacity}` }),
        h("td", {}, h("span", { class: `pill ${n >= prog.capacity ? "bad" : "ok"}`, text: String(Math.max(0, prog.capacity - n)) })))))),
    h("h2", { text: t("waiting") }),
    waiting.length ? h("table", { class: "list", id: "waiting-list" },
      h("thead", {}, h("tr", {}, [t("position"), t("name"), t("days"), t("full_days"), t("since")].map((x) => h("th", { text: x })))),
      h("tbody", {}, waiting.map((e) => h("tr", { dataset: { enrolment: e.id } },
        h("td", { text: String(e.waiting_position ?? "") }), h("td", { text: S.names.get(e.elder_id) || `#${e.elder_id}` }),
        h("td", { text: wds(e.weekdays) }), h("td", { text: wds(e.full_days) }), h("td", { text: e.starts_on })))))
      : h("p", { text: t("no_waiting") }));
}

async function reload() {
  try { await load(); } catch (e) { say($("#msg"), e.message); }
}

async function move(row, what, okKey) {
  try {
    await session.api("POST", `/api/v1/daycare/attendance/${row.id}/${what}`);
    say($("#msg"), t(okKey, { name: row.elder_name }), "ok");
  } catch (e) { say($("#msg"), e.message); }
  await reload();
}

async function excuse(row) {
  try {
    await session.api("POST", `/api/v1/elders/${row.elder_id}/daycare/absences/${S.day}`, { reason: "" });
    say($("#msg"), t("excused_ok", { name: row.elder_name }), "ok");
  } catch (e) { say($("#msg"), e.message); }
  await reload();
}

async function post(what) {
  try { await session.api("POST", `/api/v1/stations/${S.sid}/daycare/days/${S.day}/${what}`); say($("#msg"), ""); }
  catch (e) { say($("#msg"), e.message); }
  await reload();
}

staffPage({ here: "/console/daycare", titleKey: "daycare_title", render });
