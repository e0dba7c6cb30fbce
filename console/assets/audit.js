// The audit log (审计日志): who revealed, disclosed, changed or signed what, newest first. An
// operator reads what their station's staff did; a district officer, the district's; an
// admin, everyone's. Filters by day and action; "more" pages back by id.
import { staffPage, session, say, h, t } from "./staff.js";
import { addStrings, $, clockTime } from "./common.js";

addStrings({
  audit_title: "审计日志", from: "从", to: "到", action: "操作", any_action: "全部操作", filter: "筛选", more: "更多",
  at: "时间", actor: "操作人", role: "角色", object: "对象", detail: "详情", nobody: "系统/命令行", no_rows: "没有符合条件的记录。",
  r_operator: "调度员", r_admin: "管理员", r_caregiver: "护理员", r_elder: "老人", r_family: "家属", r_street_officer: "街道审核员", r_district_officer: "区审核员",
  a_reveal: "查看完整信息", a_disclose_120: "向120披露", a_sign_out: "退出登录", a_sign_out_all: "全部设备退出", a_password_reset: "重置密码",
  a_password_change: "修改密码", a_read_visit_code: "查看上门码", a_close_period: "结账", a_reverse: "冲正", a_fraud_hold: "疑点冻结",
  a_create_officer: "新建审核员", a_import: "导入", a_check_in: "签到", a_check_out: "签退", a_roll_call: "点名", a_accept_plan: "采纳服务计划",
}, {
  audit_title: "Audit log", from: "From", to: "To", action: "Action", any_action: "Any action", filter: "Filter", more: "More",
  at: "When", actor: "Who", role: "Role", object: "Object", detail: "Detail", nobody: "system / command line", no_rows: "Nothing matches.",
  r_operator: "operator", r_admin: "admin", r_caregiver: "caregiver", r_elder: "elder", r_family: "family", r_street_officer: "street officer", r_district_officer: "district officer",
  a_reveal: "revealed in full", a_disclose_120: "disclosed to 120", a_sign_out: "signed out", a_sign_out_all: "signed out everywhere", a_password_reset: "password reset",
  a_password_change: "password changed", a_read_visit_code: "read a visit code", a_close_period: "closed a period", a_reverse: "reversed", a_fraud_hold: "fraud hold",
  a_create_officer: "officer created", a_import: "import", a_check_in: "check-in", a_check_out: "check-out", a_roll_call: "roll call", a_accept_plan: "plan accepted",
});

const ACTIONS = ["reveal", "disclose_120", "read_visit_code", "password_reset", "password_change", "sign_out", "sign_out_all", "close_period", "reverse", "fraud_hold", "create_officer", "import"];
const LIMIT = 50;
const S = { rows: [], query: "" };
const shanghaiDay = (iso) => new Date(iso).toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
const label = (prefix, code) => { const k = `${prefix}_${code}`; const s = t(k); return s === k ? code : s; };

async function render(main) {
  const input = (id, type) => h("input", { id, type, "aria-label": t(id) });
  main.replaceChildren(
    h("div", { class: "panel" }, h("form", { class: "row", id: "filters", onsubmit: (e) => { e.preventDefault(); load(false); } },
      h("label", { text: t("from") }), input("from", "date"), h("label", { text: t("to") }), input("to", "date"),
      h("select", { id: "action", "aria-label": t("action") }, h("option", { value: "", text: t("any_action") }),
        ACTIONS.map((a) => h("option", { value: a, text: label("a", a) }))),
      h("button", { class: "btn primary big", type: "submit" }, t("filter")))),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "audit-log" }));
  await load(false);
}

async function load(more) {
  const q = new URLSearchParams({ limit: String(LIMIT) });
  for (const id of ["from", "to", "action"]) if ($(`#${id}`).value) q.set(id, $(`#${id}`).value);
  if (more && S.rows.length) q.set("before", String(S.rows[S.rows.length - 1].id));
  try {
    const page = await session.api("GET", `/api/v1/audit-log?${q}`);
    S.rows = more ? S.rows.concat(page) : page;
    say($("#msg"), "");
    draw(page.length === LIMIT);
  } catch (e) { say($("#msg"), e.message); }
}

function draw(hasMore) {
  if (!S.rows.length) { $("#audit-log").replaceChildren(h("p", { id: "no-rows", text: t("no_rows") })); return; }
  $("#audit-log").replaceChildren(
    h("table", { class: "list", id: "audit" },
      h("thead", {}, h("tr", {}, [t("at"), t("actor"), t("role"), t("action"), t("object"), t("detail")].map((x) => h("th", { text: x })))),
      h("tbody", {}, S.rows.map((r) => h("tr", { dataset: { id: r.id, action: r.action } },
        h("td", { text: `${shanghaiDay(r.at)} ${clockTime(r.at)}` }),
        h("td", { text: r.actor_name || t("nobody") }),
        h("td", { text: r.actor_role ? label("r", r.actor_role) : "" }),
        h("td", { class: "action", text: label("a", r.action) }),
        h("td", { text: `${r.object_type} #${r.object_id}` }),
        h("td", { class: "audit-detail", text: Object.keys(r.detail || {}).length ? JSON.stringify(r.detail) : "" }))))),
    ...(hasMore ? [h("button", { class: "btn big", id: "btn-more", onclick: () => load(true) }, t("more"))] : []));
}

staffPage({ here: "/console/audit", titleKey: "audit_title", render, roles: ["operator", "admin", "district_officer"], needsStation: false });
