// The assessor's tablet page (老年人能力评估): choose an elder, score the scale item by item
// (the scale file's sections, items and score descriptions), save a draft (the missing items
// are listed and marked), submit to score, then edit and accept the suggested service plan.
import { staffPage, session, stationId, serverToday, say, h, t, lang } from "./staff.js";
import { addStrings, $, $$ } from "./common.js";

addStrings({
  assess_title: "老年人能力评估", find_elder: "选择老人", search_ph: "姓名、地址或手机尾号", search: "查找",
  no_elders: "没有找到老人", current_level: "当前能力等级：{lv}（{care}）", never_assessed: "尚未评估",
  flags: "直接上调一级的情况", flag_dementia: "确诊痴呆", flag_psychiatric: "确诊精神疾病", flag_risk_events_30d: "近30天内发生过跌倒、噎食、自杀、走失",
  save_draft: "保存草稿", submit: "提交评分", saved_draft: "已保存为草稿（#{id}）。", missing_n: "还缺 {n} 项未评：{names}",
  all_answered: "各项均已评分，可以提交。", scored: "评估完成", total: "总分 {total}", level: "能力等级", care_level: "照护等级",
  raised_by: "因以下情况上调一级：{x}", plan: "建议服务计划（可修改后接受）", plan_empty: "此等级没有建议的上门服务。",
  item: "服务项目", per_week: "每周 {n} 次", per_month: "每月 {n} 次", weekdays: "星期", time: "时间", starts_on: "开始日期",
  every_weeks: "每几周", remove: "删除", accept_plan: "接受计划，生成周期预约", plan_accepted: "计划已接受：生成了 {n} 条周期预约。",
  plan_was_accepted: "此评估的服务计划已接受。", new_assessment: "重新评估", choose_first: "请先选择老人",
  wd0: "一", wd1: "二", wd2: "三", wd3: "四", wd4: "五", wd5: "六", wd6: "日", add_line: "添加服务项目", add: "添加", custom: "自定",
}, {
  assess_title: "Capability assessment", find_elder: "Choose the elder", search_ph: "name, address or phone end", search: "Find",
  no_elders: "No elder found", current_level: "Current level: {lv} ({care})", never_assessed: "Not assessed yet",
  flags: "Conditions that raise the level by one", flag_dementia: "Diagnosed dementia", flag_psychiatric: "Diagnosed psychiatric illness", flag_risk_events_30d: "A fall, choking, suicide attempt or wandering off in the last 30 days",
  save_draft: "Save draft", submit: "Submit for scoring", saved_draft: "Saved as a draft (#{id}).", missing_n: "{n} items still to score: {names}",
  all_answered: "Every item is scored; it can be submitted.", scored: "Assessment scored", total: "Total {total}", level: "Capability level", care_level: "Care level",
  raised_by: "Raised one level because of: {x}", plan: "Suggested service plan (edit, then accept)", plan_empty: "No home services are suggested at this level.",
  item: "Service", per_week: "{n} a week", per_month: "{n} a month", weekdays: "Days", time: "Time", starts_on: "Starts on",
  every_weeks: "Every n weeks", remove: "Remove", accept_plan: "Accept the plan as recurring bookings", plan_accepted: "Plan accepted: {n} recurring bookings made.",
  plan_was_accepted: "This assessment's plan has been accepted.", new_assessment: "Assess again", choose_first: "Choose an elder first",
  wd0: "Mon", wd1: "Tue", wd2: "Wed", wd3: "Thu", wd4: "Fri", wd5: "Sat", wd6: "Sun", add_line: "Add a service", add: "Add", custom: "custom",
});

const S = { scale: null, elder: null, answers: {}, flags: new Set(), assessment: null, plan: [], menu: [] };
const nm = (o) => (lang() === "en" ? o.name_en : o.name_zh) || o.name_zh;
// A service by its menu name (the station's catalogue), and its length for the default end.
const menuItem = (code) => S.menu.find((m) => m.code === code);
const itemName = (code) => { const m = menuItem(code); return m ? nm(m) : code; };
function plusMinutes(hm, min) {
  const [hh, mm] = hm.split(":").map(Number); const x = Math.min(23 * 60 + 59, hh * 60 + mm + min);
  return `${String(Math.floor(x / 60)).padStart(2, "0")}:${String(x % 60).padStart(2, "0")}`;
}

async function render(main) {
  const scales = await session.api("GET", "/api/v1/assessment-scales");
  S.scale = scales.find((s) => s.id === "GB/T 42195-2022") || scales[0];
  const q = h("input", { id: "elder-q", placeholder: t("search_ph"), style: "min-width:260px" });
  const list = h("div", { id: "elder-list", class: "row" });
  const find = async () => {
    const r = await session.api("GET", `/api/v1/elders?page_size=30&active=true&station_id=${stationId()}${q.value.trim() ? `&q=${encodeURIComponent(q.value.trim())}` : ""}`);
    list.replaceChildren(...(r.items.length ? r.items.map((e) =>
      h("button", { class: "btn big", dataset: { elder: e.id }, onclick: () => chooseElder(e) }, e.name)) : [h("span", { text: t("no_elders") })]));
  };
  main.replaceChildren(
    h("section", { class: "panel" }, h("h2", { text: t("find_elder") }),
      h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); find().catch(showErr); } },
        q, h("button", { class: "btn big", type: "submit" }, t("search"))),
      list, h("div", { id: "current", class: "row" })),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("div", { id: "form" }),
    h("div", { id: "result" }));
  await find();
}

function showErr(e) { say($("#msg"), e.message, "err"); }

async function chooseElder(e) {
  S.elder = e; S.answers = {}; S.flags = new Set(); S.assessment = null; S.plan = [];
  say($("#msg"), "");
  $$("#elder-list .btn").forEach((b) => b.classList.toggle("primary", Number(b.dataset.elder) === e.id));
  try {
    S.menu = await session.api("GET", `/api/v1/elders/${e.id}/menu`).catch(() => []);
    await showCurrent();
  } catch (err) { showErr(err); }
  drawForm(); $("#result").replaceChildren();
}

// The elder's level on file (after a scoring too: the page never shows a stale one).
async function showCurrent() {
  const cap = await session.api("GET", `/api/v1/elders/${S.elder.id}/capability`);
  $("#current").replaceChildren(h("span", { class: "pill", id: "current-level", text: cap.level === null ? t("never_assessed")
    : t("current_level", { lv: levelName(cap.level), care: cap.care_level }) }));
}

function levelName(lv) {
  const l = S.scale.levels.find((x) => x.level === lv);
  return l ? `${lv} ${nm(l)}` : String(lv);
}

function drawForm() {
  const sc = S.scale; const missing = new Set((S.assessment && S.assessment.missing) || []);
  const sections = (sc.sections && sc.sections.length) ? sc.sections : [...new Set(sc.items.map((i) => i.section))].map((c) => ({ code: c, name_zh: c, name_en: c }));
  const card = (it) => {
    const opts = it.options && it.options.length ? it.options
      : Array.from({ length: it.max + 1 }, (_, i) => ({ score: it.max - i, zh: "", en: "" }));
    return h("div", { class: `item${missing.has(it.code) ? " missing" : ""}`, dataset: { item: it.code } },
      h("div", { class: "iname" }, nm(it), h("span", { class: "count", text: ` (0–${it.max})` })),
      h("div", { class: "opts", role: "group", "aria-label": nm(it) }, opts.map((o) =>
        h("button", { type: "button", class: "opt", dataset: { score: o.score }, "aria-pressed": S.answers[it.code] === o.score ? "true" : "false",
          onclick: (ev) => { S.answers[it.code] = o.score; $$(".opt", ev.currentTarget.parentElement).forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.score) === o.score))); ev.currentTarget.closest(".item").classList.remove("missing"); } },
          h("span", { class: "sc", text: String(o.score) }), (lang() === "en" ? o.en : o.zh) || ""))));
  };
  const flags = (sc.raise_one_level_if || []).map((f) => h("label", {},
    h("input", { type: "checkbox", name: `flag-${f}`, checked: S.flags.has(f), onchange: (ev) => { if (ev.target.checked) S.flags.add(f); else S.flags.delete(f); } }),
    " ", t(`flag_${f}`)));
  $("#form").replaceChildren(h("section", { class: "panel" },
    h("h2", {}, S.elder.name, " · ", lang() === "en" ? sc.id : sc.title_zh || sc.id),
    sections.map((s) => h("div", { class: "section", dataset: { section: s.code } }, h("h3", { text: nm(s) }),
      sc.items.filter((i) => i.section === s.code).map(card))),
    h("div", { class: "flags" }, h("h3", { text: t("flags") }), flags),
    h("div", { class: "actions" },
      h("button", { class: "btn big", id: "btn-draft", onclick: () => save(false) }, t("save_draft")),
      h("button", { class: "btn big primary", id: "btn-submit", onclick: () => save(true) }, t("submit")))));
}

async function save(submit) {
  if (!S.elder) { say($("#msg"), t("choose_first")); return; }
  const body = { answers: S.answers, flags: [...S.flags], submit };
  try {
    const a = S.assessment && S.assessment.status === "draft"
      ? await session.api("PATCH", `/api/v1/assessments/${S.assessment.id}`, body)
      : await session.api("POST", `/api/v1/elders/${S.elder.id}/assessments`, { ...body, kind: "initial" });
    S.assessment = a;
    if (a.status === "draft") {
      const names = a.missing.map((c) => { const it = S.scale.items.find((i) => i.code === c); return it ? nm(it) : c; });
      const text = t("saved_draft", { id: a.id }) + " " + (a.missing.length ? t("missing_n", { n: a.missing.length, names: names.join("、") }) : t("all_answered"));
      say($("#msg"), text, a.missing.length ? "warn" : "ok");
      $("#msg").dataset.status = "draft";
      drawForm();
      const first = $(".item.missing"); if (first) first.scrollIntoView({ block: "center" });
    } else {
      say($("#msg"), "");
      $("#msg").dataset.status = a.status;
      $("#form").replaceChildren();
      S.plan = await defaultPlan(a.plan); S.acceptedN = null;
      drawResult();
      await showCurrent();
    }
  } catch (e) { showErr(e); }
}

// A plan line ("twice a week") as a recurring rule the operator can edit.
async function defaultPlan(lines) {
  const today = await serverToday();
  const d = new Date(`${today}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1);
  const startsOn = d.toISOString().slice(0, 10);
  S.startsOn = startsOn;
  const spread = { 1: [0], 2: [0, 3], 3: [0, 2, 4], 4: [0, 1, 3, 4], 5: [0, 1, 2, 3, 4] };
  return lines.map((l) => planLine(l.item_code, startsOn, l.per === "week"
    ? { weekdays: spread[Math.min(5, l.times)] || [0], every_weeks: 1, label: t("per_week", { n: l.times }) }
    : { weekdays: [0], every_weeks: Math.max(1, Math.min(8, Math.round(4 / Math.max(1, l.times)))), label: t("per_month", { n: l.times }) }));
}

function planLine(code, startsOn, extra) {
  const m = menuItem(code);
  return { item_code: code, weekdays: [0], every_weeks: 1, start: "09:00", end: plusMinutes("09:00", (m && m.duration_min) || 60), starts_on: startsOn, label: t("custom"), ...extra };
}

function drawResult() {
  const a = S.assessment;
  const rows = S.plan.map((r, i) => h("tr", { dataset: { line: i } },
    h("td", {}, itemName(r.item_code), h("div", { class: "count", text: r.label })),
    h("td", {}, [0, 1, 2, 3, 4, 5, 6].map((wd) => h("label", { style: "margin-right:6px" },
      h("input", { type: "checkbox", checked: r.weekdays.includes(wd), onchange: (ev) => {
        r.weekdays = ev.target.checked ? [...new Set([...r.weekdays, wd])].sort() : r.weekdays.filter((x) => x !== wd); } }), t(`wd${wd}`)))),
    h("td", {}, h("input", { type: "number", min: 1, max: 8, value: r.every_weeks, style: "width:4em", onchange: (ev) => { r.every_weeks = Number(ev.target.value) || 1; } })),
    h("td", {}, h("input", { type: "time", value: r.start, onchange: (ev) => { r.start = ev.target.value; } }), "–",
      h("input", { type: "time", value: r.end, onchange: (ev) => { r.end = ev.target.value; } })),
    h("td", {}, h("input", { type: "date", value: r.starts_on, onchange: (ev) => { r.starts_on = ev.target.value; } })),
    h("td", {}, h("button", { class: "btn small", onclick: () => { S.plan.splice(i, 1); drawResult(); } }, t("remove")))));
  const raised = a.raised_by && a.raised_by.length ? h("p", { text: t("raised_by", { x: a.raised_by.map((f) => t(`flag_${f}`)).join("、") }) }) : null;
  $("#result").replaceChildren(
    h("section", { class: "panel result", id: "scored", dataset: { level: a.level, assessment: a.id } },
      h("h2", { text: t("scored") }),
      h("p", { class: "lv" }, `${t("level")}：`, h("span", { id: "level", text: levelName(a.level) })),
      h("p", { class: "lv" }, `${t("care_level")}：`, h("span", { id: "care-level", text: a.care_level })),
      h("p", { text: t("total", { total: a.total }) }), raised),
    h("section", { class: "panel", id: "plan" }, h("h2", { text: t("plan") }),
      a.plan_accepted ? h("div", { class: "msg ok", id: "plan-done", text: S.acceptedN === null ? t("plan_was_accepted") : t("plan_accepted", { n: S.acceptedN }) })
        : S.plan.length ? [
          h("table", { class: "list" }, h("thead", {}, h("tr", {}, [t("item"), t("weekdays"), t("every_weeks"), t("time"), t("starts_on"), ""].map((x) => h("th", { text: x })))), h("tbody", {}, rows)),
          addLine(),
          h("div", { class: "actions" }, h("button", { class: "btn big primary", id: "btn-accept", onclick: acceptPlan }, t("accept_plan")))]
          : [h("p", { text: t("plan_empty") }), addLine()],
      h("div", { id: "plan-msg", class: "msg", role: "alert", hidden: true })),
    h("div", { class: "actions" }, h("button", { class: "btn big", onclick: () => chooseElder(S.elder) }, t("new_assessment"))));
}

// Another service from the station's menu (the operator's own judgement beside the scale's).
function addLine() {
  const sel = h("select", { id: "add-item", "aria-label": t("add_line") },
    S.menu.filter((m) => m.active !== false).map((m) => h("option", { value: m.code, text: nm(m) })));
  return h("div", { class: "row", style: "margin-top:8px" }, h("span", { text: t("add_line") }), sel,
    h("button", { class: "btn big", id: "btn-add-line", onclick: () => {
      S.plan.push(planLine(sel.value, S.startsOn, {})); drawResult(); } }, t("add")));
}

async function acceptPlan() {
  const rules = S.plan.map(({ label, ...r }) => r);
  try {
    const r = await session.api("POST", `/api/v1/assessments/${S.assessment.id}/plan/accept`, { rules });
    S.assessment = { ...S.assessment, plan_accepted: true }; S.acceptedN = r.rule_ids.length;
    drawResult();
  } catch (e) { say($("#plan-msg"), e.message, "err"); }
}

staffPage({ here: "/console/assess", titleKey: "assess_title", render });
