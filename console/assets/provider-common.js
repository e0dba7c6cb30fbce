// What the providers pages (issue 14) share: the district in view, its providers by id, the
// texts (Chinese first), money in yuan, tables, and downloads that carry the session's token.
import { session, say, h, t } from "./staff.js";
import { addStrings, $ } from "./common.js";

addStrings({
  providers_title: "服务组织", district: "辖区", tab_providers: "服务组织", tab_contract: "街道签约", tab_ratings: "年度评定",
  tab_lists: "红黑名单", tab_fraud: "虚假记录复核", tab_settlements: "季度结算", no_district: "您的账号没有可管理的辖区。",
  name: "名称", credit_code: "统一社会信用代码", licence: "营业执照/资质", expires: "有效期至", valid: "有效", expired: "已过期",
  red: "红名单", black: "黑名单", show: "详情", none: "无", documents: "资质证件", contacts: "联系人", contracts: "签约街道",
  street: "街道", period: "合同期", items: "服务项目与价格", status: "状态", caregivers: "护理员", certificates: "证书",
  c_active: "履约中", c_ending: "到期终止", c_ended: "已终止", no_contracts: "尚未与任何街道签约。", no_caregivers: "暂无护理员。",
  register: "登记服务组织", licence_no: "执照编号", save: "保存", registered: "已登记：{name}",
  choose_street: "选择街道", providers_for_street: "可签约的服务组织（红名单优先）", contracted: "已签约",
  sign_contract: "签约", starts_on: "开始日期", ends_on: "结束日期", item_code: "项目代码", price: "价格（元）", add_item: "加一项",
  contract_done: "已签约：{name}，{street}，{from} 至 {to}", pick_provider: "请先选择服务组织",
  year: "年度", compute: "生成评定", score: "得分", computed_grade: "计算等级", grade: "评定等级", g_excellent: "优良",
  g_qualified: "合格", g_unqualified: "不合格", r_draft: "待签署", r_signed: "已签署", evidence: "评定依据", sign: "签署",
  reason: "理由", adjust_reason: "调整理由（改等级必填）", signed_ok: "已签署：{grade}", ending_contracts: "以下合同将在期满时终止：{ids}",
  ev_satisfaction: "满意率", ev_complaints: "投诉（属实）", ev_punctuality: "准时（迟到、漏服务）", ev_proof: "到场凭证覆盖",
  ev_fraud: "虚假记录（认定）", ev_return_visits: "回访覆盖", ev_part: "项目", ev_value: "得分", ev_weight: "权重",
  no_ratings: "还没有评定。", fact_visits: "服务 {n} 次", fact_satisfied: "满意 {n}", fact_answers: "满意度回答 {n}",
  fact_complaints_upheld: "投诉属实 {n}", fact_late: "迟到 {n}", fact_missed: "漏服务 {n}", fact_proven: "有到场凭证 {n}",
  fact_fraud_upheld: "虚假记录认定 {n}", fact_return_visits: "已回访 {n}", list_add: "列入名单", subject: "对象", s_provider: "服务组织", s_caregiver: "护理员",
  subject_id: "编号", kind: "名单", evidence_lines: "证据（每行一条）", from: "起始", until: "截止（可空）", lift: "解除",
  published: "本辖区公示名单（今日有效）", export_csv: "导出 CSV", export_xlsx: "导出 Excel", public_page: "公开页面",
  no_listings: "名单为空。", listed_ok: "已列入{kind}：{name}", lifted_ok: "已解除", replanned: "，今日 {n} 项任务已退回重新派单",
  holds: "待复核的记录", record: "服务记录", signal: "信号", elder: "老人", caregiver: "护理员", visit: "服务", proofs: "到场凭证",
  paid: "已付补贴", recovered: "已追回", decision: "处理", note: "处理意见（必填）", recover_yuan: "追回金额（元）",
  dismiss: "驳回（正常结算）", uphold: "认定并追回", list_black: "列入黑名单", h_held: "待复核", h_upheld: "已认定", h_dismissed: "已驳回",
  no_holds: "没有待复核的记录。", decided_ok: "已处理：{status}", stop_subsidy: "停发该老人补贴",
  stopped_ok: "已停发老人 #{elder} 的补贴（自 {from} 起）", stops: "停发补贴", no_stops: "没有停发的补贴。", st_active: "停发中", st_lifted: "已解除",
  "sig_fraud.short_visit": "服务时长远低于项目时长",
  "sig_fraud.caregiver_overlap": "同一护理员时间重叠", "sig_fraud.while_in_hospital": "老人住院期间的服务",
  "sig_fraud.no_arrival_check": "无到场凭证", "sig_fraud.door_code_reuse": "同一门卡码用于多次服务",
  ev_recorded_s: "记录时长 {v} 秒", ev_item_min: "项目时长 {v} 分钟", ev_record_id: "重叠记录 #{v}", ev_stay_id: "住院记录 #{v}",
  ev_visits: "同一门卡 {v} 次服务无定位", ev_days: "{v} 天内", ev_card: "门卡第 {v} 版", ev_proofs: "凭证：{v}",
  signals_of: "{quarter} 尚未复核的信号", no_signals: "没有新的信号。", hold_it: "暂停结算并复核", held_ok: "已暂停结算，进入复核",
  quarter: "季度", load: "查看", records: "服务记录", held: "复核中", gross: "应付", net: "实付", satisfaction: "满意",
  complaints: "投诉", totals: "合计", download: "下载", settlement_of: "{quarter} 各服务组织结算", no_settlement: "本季度没有服务记录。",
  minutes: "{n} 分钟", proof_geofence: "定位", proof_door_code: "门码", proof_elder_confirmed: "老人确认",
}, {
  providers_title: "Providers", district: "District", tab_providers: "Providers", tab_contract: "Street contracts", tab_ratings: "Annual rating",
  tab_lists: "Red and black lists", tab_fraud: "Fraud review", tab_settlements: "Settlements", no_district: "Your account manages no district.",
  name: "Name", credit_code: "Unified social credit code", licence: "Licence", expires: "Expires", valid: "valid", expired: "expired",
  red: "red list", black: "black list", show: "Details", none: "none", documents: "Documents", contacts: "Contacts", contracts: "Streets contracted",
  street: "Street", period: "Period", items: "Items and prices", status: "Status", caregivers: "Caregivers", certificates: "Certificates",
  c_active: "active", c_ending: "ending at period end", c_ended: "ended", no_contracts: "No street contracts yet.", no_caregivers: "No caregivers.",
  register: "Register a provider", licence_no: "Licence no.", save: "Save", registered: "Registered: {name}",
  choose_street: "Street", providers_for_street: "Providers the street may contract (red list first)", contracted: "contracted",
  sign_contract: "Contract", starts_on: "From", ends_on: "Until", item_code: "Item code", price: "Price (yuan)", add_item: "Add an item",
  contract_done: "Contracted: {name}, {street}, {from} to {to}", pick_provider: "Choose a provider first",
  year: "Year", compute: "Compute the rating", score: "Score", computed_grade: "Computed", grade: "Grade", g_excellent: "excellent",
  g_qualified: "qualified", g_unqualified: "unqualified", r_draft: "to sign", r_signed: "signed", evidence: "Evidence", sign: "Sign",
  reason: "Reason", adjust_reason: "Reason for a changed grade (required)", signed_ok: "Signed: {grade}", ending_contracts: "These contracts end at their period's end: {ids}",
  ev_satisfaction: "Satisfaction", ev_complaints: "Complaints upheld", ev_punctuality: "Punctuality (late, missed)", ev_proof: "Visit-proof coverage",
  ev_fraud: "Fraud upheld", ev_return_visits: "Return-visit coverage", ev_part: "Part", ev_value: "Score", ev_weight: "Weight",
  no_ratings: "No ratings yet.", fact_visits: "{n} visits", fact_satisfied: "{n} satisfied", fact_answers: "{n} answers",
  fact_complaints_upheld: "{n} complaints upheld", fact_late: "{n} late", fact_missed: "{n} missed", fact_proven: "{n} with proof",
  fact_fraud_upheld: "{n} fraud upheld", fact_return_visits: "{n} followed up", list_add: "List", subject: "Subject", s_provider: "provider", s_caregiver: "caregiver",
  subject_id: "Id", kind: "List", evidence_lines: "Evidence (one per line)", from: "From", until: "Until (optional)", lift: "Lift",
  published: "The district's published lists (in force today)", export_csv: "Export CSV", export_xlsx: "Export Excel", public_page: "Public page",
  no_listings: "Nobody is listed.", listed_ok: "Listed on the {kind}: {name}", lifted_ok: "Lifted", replanned: "; {n} of today's tasks re-planned",
  holds: "Records under review", record: "Record", signal: "Signal", elder: "Elder", caregiver: "Caregiver", visit: "Visit", proofs: "Proof",
  paid: "Subsidy paid", recovered: "Recovered", decision: "Decision", note: "Note (required)", recover_yuan: "Recover (yuan)",
  dismiss: "Dismiss (pay as usual)", uphold: "Uphold and recover", list_black: "Black-list", h_held: "held", h_upheld: "upheld", h_dismissed: "dismissed",
  no_holds: "No records under review.", decided_ok: "Decided: {status}", stop_subsidy: "Stop the elder's subsidy",
  stopped_ok: "Subsidy of elder #{elder} stopped from {from}", stops: "Stopped subsidies", no_stops: "No subsidy is stopped.", st_active: "stopped", st_lifted: "lifted",
  "sig_fraud.short_visit": "Far shorter than the item", "sig_fraud.caregiver_overlap": "One caregiver in two places",
  "sig_fraud.while_in_hospital": "While the elder was in hospital", "sig_fraud.no_arrival_check": "No arrival proof",
  "sig_fraud.door_code_reuse": "One door-card code for many visits",
  ev_recorded_s: "recorded {v} s", ev_item_min: "item {v} min", ev_record_id: "overlaps record #{v}", ev_stay_id: "hospital stay #{v}",
  ev_visits: "one door card, {v} visits with no location", ev_days: "within {v} days", ev_card: "card {v}", ev_proofs: "proof: {v}",
  signals_of: "{quarter}: signals not yet reviewed", no_signals: "No new signals.", hold_it: "Hold for review", held_ok: "Held for review (not paid until decided)",
  quarter: "Quarter", load: "Show", records: "Records", held: "Held", gross: "Gross", net: "Net", satisfaction: "Satisfied",
  complaints: "Complaints", totals: "Totals", download: "Download", settlement_of: "{quarter}: every provider", no_settlement: "No records this quarter.",
  minutes: "{n} min", proof_geofence: "location", proof_door_code: "door code", proof_elder_confirmed: "elder confirmed",
});

// The page's state: the district in view, its providers (by id), the server's today.
export const S = { district: null, scope: null, today: null, providers: new Map() };

export const yuan = (fen) => `¥${(Number(fen || 0) / 100).toFixed(2)}`;
export const fen = (text) => Math.round(Number(String(text || "0").trim()) * 100);
export const nameOf = (pid) => (S.providers.get(pid) || {}).name || (pid ? `#${pid}` : "—");
export const quarterOf = (iso) => `${iso.slice(0, 4)}Q${Math.floor((Number(iso.slice(5, 7)) - 1) / 3) + 1}`;

export function table(id, heads, rows) {
  return h("table", { class: "list", id },
    h("thead", {}, h("tr", {}, heads.map((x) => h("th", { text: x })))), h("tbody", {}, rows));
}

// An expiry as a pill: valid (green) or expired (red), by the server's today.
export function expiryPill(expires) {
  if (!expires) return h("span", { class: "pill", text: t("none") });
  const ok = expires >= S.today;
  return h("span", { class: `pill ${ok ? "ok" : "bad"}`, dataset: { expired: ok ? "0" : "1" } }, `${expires} · ${t(ok ? "valid" : "expired")}`);
}

export function listPills(x) {
  return [x.red_listed ? h("span", { class: "pill ok red-listed", text: t("red") }) : null,
    x.black_listed ? h("span", { class: "pill bad black-listed", text: t("black") }) : null];
}

// Run an action, redraw, then say how it went (ok, or the refusal in the reader's language):
// the message comes last, so once it shows the page below it is already the new one.
export async function act(fn, okText, redraw) {
  let text, kind = "ok";
  try {
    const got = await fn();
    text = typeof okText === "function" ? okText(got) : okText;
  } catch (e) { text = e.message; kind = "err"; }
  try { if (redraw) await redraw(); } catch (e) { text = e.message; kind = "err"; }
  say($("#msg"), text, kind);
}

// A file behind the session's token (settlements): fetched, then saved under its own name.
export async function download(path, filename) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!r.ok) throw new Error(t("err_http", { status: r.status }));
  const a = h("a", { href: URL.createObjectURL(await r.blob()), download: filename });
  document.body.append(a); a.click(); a.remove();
}

export function field(label, input) {
  return h("label", { class: "field" }, h("span", { text: label }), input);
}

export { session, say, h, t, $ };
