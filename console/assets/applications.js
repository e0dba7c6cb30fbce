// Subsidy applications and their review chain (补贴申请审批): the station's applications (an
// operator) or the officer's review queue (street, district), each step's due day, the
// history, the decision (pass, or refuse with a written reason), an objection during the
// public notice (公示), and the printable notice or decision opened for printing.
import { staffPage, session, stationId, say, h, t } from "./staff.js";
import { addStrings, $, $$, ApiError, clockTime } from "./common.js";

addStrings({
  apps_title: "补贴申请审批", apps_station: "本站申请（{n} 件）", apps_queue: "待我审核（{n} 件）", overdue_only: "只看逾期", refresh: "刷新",
  none: "没有申请。", col_id: "编号", col_elder: "老人", col_rule: "申请项目", col_status: "环节", col_received: "收件", col_due: "办结期限", col_actions: "",
  s_community: "社区初审", s_street: "街道复审", s_public_notice: "公示中", s_district: "区民政核准", s_approved: "已批准", s_refused: "不予批准",
  ac_received: "收件", ac_passed: "通过", ac_refused: "不予通过", ac_document: "材料", ac_overdue: "逾期", ac_due_recomputed: "期限重算", ac_objection: "公示异议", ac_notice_ended: "公示期满",
  overdue: "已逾期", provisional: "暂按预估日历", open: "查看", history: "办理经过（#{id}）", pass: "通过", refuse: "不予通过", reason_ph: "意见或不予通过的理由（不予通过时必填）",
  objection_ph: "异议内容（谁、何时、反映了什么）", object: "登记异议", print: "打印公示 / 决定书", passed_ok: "#{id} 已通过，现处于：{status}",
  refused_ok: "#{id} 不予通过", objected_ok: "#{id} 已登记异议，公示期满后由街道处理", docs: "材料 {n} 份",
}, {
  apps_title: "Subsidy applications", apps_station: "This station's applications ({n})", apps_queue: "Waiting for me ({n})", overdue_only: "Overdue only", refresh: "Refresh",
  none: "No applications.", col_id: "No.", col_elder: "Elder", col_rule: "Applied for", col_status: "Step", col_received: "Received", col_due: "Due", col_actions: "",
  s_community: "community", s_street: "street", s_public_notice: "public notice", s_district: "district", s_approved: "approved", s_refused: "refused",
  ac_received: "received", ac_passed: "passed", ac_refused: "refused", ac_document: "document", ac_overdue: "overdue", ac_due_recomputed: "due day recomputed", ac_objection: "objection", ac_notice_ended: "notice ended",
  overdue: "overdue", provisional: "provisional calendar", open: "Open", history: "History (#{id})", pass: "Pass", refuse: "Refuse", reason_ph: "Note, or the reason for a refusal (required then)",
  objection_ph: "The objection (who, when, what)", object: "Record objection", print: "Print notice / decision", passed_ok: "#{id} passed, now at: {status}",
  refused_ok: "#{id} refused", objected_ok: "#{id}: objection recorded; the street hears it when the notice ends", docs: "{n} documents",
});

const S = { list: [], names: new Map(), open: null };
const OFFICER = () => ["street_officer", "district_officer"].includes(session.data.role);

async function render(main) {
  main.replaceChildren(
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "apps" }),
    h("section", { class: "panel", id: "app-detail", hidden: true }));
  await load();
}

async function load() {
  const overdue = $("#overdue-only") && $("#overdue-only").checked ? "?overdue=1" : "";
  const sid = stationId();
  const queue = OFFICER() || !sid;
  S.list = await session.api("GET", queue ? `/api/v1/welfare/review-queue${overdue}` : `/api/v1/stations/${sid}/applications${overdue}`);
  if (!OFFICER()) await names(S.list);
  drawList(queue, Boolean(overdue));
  if (S.open) { const a = S.list.find((x) => x.id === S.open); if (a) drawDetail(a); }
}

async function names(list) {
  const ids = [...new Set(list.map((a) => a.elder_id))].filter((id) => !S.names.has(id));
  const got = await Promise.all(ids.map((id) => session.api("GET", `/api/v1/elders/${id}`).catch(() => null)));
  for (const e of got) if (e) S.names.set(e.id, e.name);
}

function drawList(queue, overdue) {
  const rows = S.list.map((a) => h("tr", { dataset: { app: a.id, status: a.status } },
    h("td", { text: `#${a.id}` }), h("td", { text: S.names.get(a.elder_id) || `#${a.elder_id}` }), h("td", { text: a.rule_id }),
    h("td", {}, h("span", { class: `pill ${a.status === "approved" ? "ok" : a.status === "refused" ? "bad" : ""}`, text: t(`s_${a.status}`) })),
    h("td", { text: a.step_received_on || "" }),
    h("td", {}, a.step_due_on || "", a.overdue ? h("span", { class: "pill bad", text: ` ${t("overdue")}` }) : null),
    h("td", {}, h("button", { class: "btn big open", onclick: () => { S.open = a.id; drawDetail(a); } }, t("open")))));
  $("#apps").replaceChildren(
    h("div", { class: "row" }, h("h2", { style: "flex:1", text: t(queue ? "apps_queue" : "apps_station", { n: S.list.length }) }),
      h("label", {}, h("input", { type: "checkbox", id: "overdue-only", checked: overdue, onchange: () => load().catch(err) }), ` ${t("overdue_only")}`),
      h("button", { class: "btn big", onclick: () => load().catch(err) }, t("refresh"))),
    S.list.length ? h("table", { class: "list", id: "app-list" },
      h("thead", {}, h("tr", {}, ["col_id", "col_elder", "col_rule", "col_status", "col_received", "col_due", "col_actions"].map((k) => h("th", { text: t(k) })))),
      h("tbody", {}, rows)) : h("p", { text: t("none") }));
}

function drawDetail(a) {
  $$("#app-list tr").forEach((tr) => tr.classList.toggle("sel", Number(tr.dataset.app) === a.id));
  const open = !["approved", "refused"].includes(a.status);
  const reason = h("textarea", { id: "reason", rows: 2, placeholder: t("reason_ph"), style: "width:100%" });
  const objection = h("textarea", { id: "objection", rows: 2, placeholder: t("objection_ph"), style: "width:100%" });
  const el = $("#app-detail");
  el.hidden = false; el.dataset.app = a.id;
  el.replaceChildren(h("h2", { text: t("history", { id: a.id }) }),
    h("p", {}, h("span", { class: "pill", id: "detail-status", text: t(`s_${a.status}`) }), " ", t("docs", { n: a.documents.length })),
    h("table", { class: "list", id: "events" }, h("tbody", {}, a.events.map((e) => h("tr", { dataset: { action: e.action } },
      h("td", { text: `${e.at.slice(0, 10)} ${clockTime(e.at)}` }), h("td", { text: t(`s_${e.step}`) }), h("td", { text: t(`ac_${e.action}`) }),
      h("td", { text: e.due_on ? `→ ${e.due_on}` : "" }), h("td", { text: e.note || "" }))))),
    open ? h("div", {}, reason, h("div", { class: "actions" },
      h("button", { class: "btn big primary", id: "btn-pass", onclick: () => decide(a, "pass") }, t("pass")),
      h("button", { class: "btn big", id: "btn-refuse", onclick: () => decide(a, "refuse") }, t("refuse")))) : null,
    a.status === "public_notice" ? h("div", {}, objection,
      h("button", { class: "btn big", id: "btn-object", onclick: () => object(a) }, t("object"))) : null,
    ["public_notice", "approved", "refused"].includes(a.status)
      ? h("button", { class: "btn big", id: "btn-print", onclick: () => printNotice(a) }, t("print")) : null);
}

const err = (e) => say($("#msg"), e.message);

async function decide(a, decision) {
  try {
    const r = await session.api("POST", `/api/v1/applications/${a.id}/decision`, { decision, reason: $("#reason").value.trim() });
    say($("#msg"), decision === "pass" ? t("passed_ok", { id: a.id, status: t(`s_${r.status}`) }) : t("refused_ok", { id: a.id }), "ok");
  } catch (e) { err(e); }
  await reloadWith(a.id);
}

async function object(a) {
  try {
    await session.api("POST", `/api/v1/applications/${a.id}/objections`, { note: $("#objection").value.trim() });
    say($("#msg"), t("objected_ok", { id: a.id }), "ok");
  } catch (e) { err(e); }
  await reloadWith(a.id);
}

// The application may have left this list (an officer's queue): show it as it now is.
async function reloadWith(id) {
  await load().catch(err);
  if (!S.list.some((x) => x.id === id)) {
    const a = await session.api("GET", `/api/v1/applications/${id}`).catch(() => null);
    if (a) drawDetail(a);
  }
}

// The notice is served to the signed-in reader: fetched with the token, opened for printing.
async function printNotice(a) {
  try {
    const r = await fetch(`/api/v1/applications/${a.id}/notice`, { headers: { Authorization: `Bearer ${session.token}` } });
    if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({})));
    const url = URL.createObjectURL(new Blob([await r.text()], { type: "text/html;charset=utf-8" }));
    window.open(url, "_blank");
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) { err(e); }
}

staffPage({
  here: "/console/applications", titleKey: "apps_title", render,
  roles: ["operator", "admin", "street_officer", "district_officer"], needsStation: false,
});
