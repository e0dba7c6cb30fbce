// Eligibility, the ledger and the statements (补贴资格、台账与对账单): an elder's funding class and
// quota with the rules' reasons, the service records with the station's review, the ledger's
// lines, and the downloads (the elder's monthly record book, the station's quarterly
// settlement) as Excel or CSV.
import { staffPage, session, stationId, serverToday, say, h, t } from "./staff.js";
import { addStrings, $ } from "./common.js";
import { download as fetchFile } from "./download.js";

addStrings({
  welfare_title: "补贴与对账", find: "查找老人", search_ph: "老人姓名或电话", search: "查找", no_elders: "没有找到老人。",
  eligibility: "补贴资格", cls: "类别 {c}（{f}）", quota: "每月额度 {q} 元", left: "本期剩余 {l} 元", period: "期间 {p}", none_rule: "不符合补贴条件",
  matched: "符合的政策", reasons: "依据", records: "服务记录", no_records: "没有服务记录。", date: "日期", item: "项目", price: "金额", subsidy: "补贴", self_pay: "自付",
  review: "审核", payable: "可结算", pass: "通过", reject: "不通过", rv_pending: "待审核", rv_passed: "已通过", rv_rejected: "不通过", yes: "是", no: "否",
  ledger: "台账", balances: "余额", col_period: "期间", kind: "类型", amount: "金额", memo: "说明", statements: "对账单下载", month: "月份", quarter: "季度",
  book: "服务记录本（{m}）", settlement: "本站季度结算（{q}）", reviewed: "记录 #{id}：{r}",
}, {
  welfare_title: "Subsidy and statements", find: "Find an elder", search_ph: "Elder's name or phone", search: "Find", no_elders: "No elders found.",
  eligibility: "Eligibility", cls: "Class {c} ({f})", quota: "Monthly quota {q} yuan", left: "Left this period {l} yuan", period: "Period {p}", none_rule: "Not eligible",
  matched: "Rules matched", reasons: "Reasons", records: "Service records", no_records: "No service records.", date: "Date", item: "Service", price: "Price", subsidy: "Subsidy", self_pay: "Self-paid",
  review: "Review", payable: "Payable", pass: "Pass", reject: "Reject", rv_pending: "pending", rv_passed: "passed", rv_rejected: "rejected", yes: "yes", no: "no",
  ledger: "Ledger", balances: "Balances", col_period: "Period", kind: "Kind", amount: "Amount", memo: "Memo", statements: "Statements", month: "Month", quarter: "Quarter",
  book: "Service record book ({m})", settlement: "Station settlement ({q})", reviewed: "Record #{id}: {r}",
});

const S = { elder: null, today: null };
const yuan = (fen) => (fen / 100).toFixed(2);
const err = (e) => say($("#msg"), e.message);

async function render(main) {
  S.today = await serverToday();
  const q = h("input", { id: "w-q", placeholder: t("search_ph"), style: "min-width:240px" });
  const list = h("div", { id: "w-elders", class: "row" });
  const find = async () => {
    const r = await session.api("GET", `/api/v1/elders?page_size=20&active=true&station_id=${stationId()}${q.value.trim() ? `&q=${encodeURIComponent(q.value.trim())}` : ""}`);
    list.replaceChildren(...(r.items.length ? r.items.map((e) => h("button", { class: "btn big", dataset: { elder: e.id }, onclick: () => choose(e) }, e.name)) : [h("span", { text: t("no_elders") })]));
  };
  const quarter = `${S.today.slice(0, 4)}Q${Math.floor((Number(S.today.slice(5, 7)) - 1) / 3) + 1}`;
  main.replaceChildren(
    h("section", { class: "panel" }, h("h2", { text: t("find") }),
      h("form", { class: "row", id: "w-find", onsubmit: (ev) => { ev.preventDefault(); find().catch(err); } }, q, h("button", { class: "btn big", type: "submit" }, t("search"))), list),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "w-elig", hidden: true }),
    h("section", { class: "panel", id: "w-records", hidden: true }),
    h("section", { class: "panel", id: "w-ledger", hidden: true }),
    h("section", { class: "panel", id: "w-statements" }, h("h2", { text: t("statements") }),
      h("div", { class: "row" }, h("label", {}, `${t("quarter")} `, h("input", { id: "w-quarter", value: quarter, size: 8 })),
        ...["xlsx", "csv"].map((fmt) => h("button", { class: "btn big", dataset: { fmt }, onclick: () =>
          download(`/api/v1/stations/${stationId()}/settlements/${$("#w-quarter").value.trim()}.${fmt}`, `settlement-${$("#w-quarter").value.trim()}.${fmt}`) },
          `${t("settlement", { q: $("#w-quarter") ? $("#w-quarter").value : quarter })} · ${fmt.toUpperCase()}`)))));
}

async function choose(e) {
  S.elder = e;
  document.querySelectorAll("#w-elders .btn").forEach((b) => b.classList.toggle("primary", Number(b.dataset.elder) === e.id));
  try { say($("#msg"), ""); await load(); } catch (x) { err(x); }
}

async function load() {
  const id = S.elder.id;
  const [el, recs, led] = await Promise.all([
    session.api("GET", `/api/v1/elders/${id}/eligibility`),
    session.api("GET", `/api/v1/elders/${id}/service-records`),
    session.api("GET", `/api/v1/elders/${id}/ledger`)]);
  drawEligibility(el);
  drawRecords(recs);
  drawLedger(led);
}

function drawEligibility(el) {
  const box = $("#w-elig"); box.hidden = false;
  const month = S.today.slice(0, 7);
  box.replaceChildren(h("h2", { text: `${t("eligibility")} · ${S.elder.name}` }),
    h("p", { class: "row" },
      h("span", { class: `pill ${el.monthly_quota_fen ? "ok" : ""}`, id: "w-class", text: t("cls", { c: el.funding_class, f: el.funding }) }),
      h("span", { class: "pill", id: "w-quota", text: t("quota", { q: yuan(el.monthly_quota_fen) }) }),
      h("span", { class: "pill", id: "w-left", text: t("left", { l: yuan(el.quota_left_fen) }) }),
      el.period ? h("span", { class: "pill", text: t("period", { p: el.period }) }) : null),
    h("p", { text: `${t("matched")}：${el.matched_rules.join("、") || t("none_rule")}` }),
    h("ul", { id: "w-reasons" }, el.reasons.map((r) => h("li", { text: r }))),
    h("div", { class: "row" }, h("label", {}, `${t("month")} `, h("input", { id: "w-month", value: month, size: 8 })),
      ...["xlsx", "csv"].map((fmt) => h("button", { class: "btn big", dataset: { book: fmt }, onclick: () => {
        const m = $("#w-month").value.trim();
        download(`/api/v1/elders/${S.elder.id}/statements/${m}.${fmt}`, `service-record-book-${S.elder.id}-${m}.${fmt}`);
      } }, `${t("book", { m: month })} · ${fmt.toUpperCase()}`))));
}

function drawRecords(recs) {
  const box = $("#w-records"); box.hidden = false;
  box.replaceChildren(h("h2", { text: t("records") }),
    recs.length ? h("table", { class: "list", id: "w-record-list" },
      h("thead", {}, h("tr", {}, ["date", "item", "price", "subsidy", "self_pay", "review", "payable", ""].map((k) => h("th", { text: k ? t(k) : "" })))),
      h("tbody", {}, recs.map((r) => h("tr", { dataset: { record: r.id, review: r.review } },
        h("td", { text: r.started_at.slice(0, 10) }), h("td", { text: r.item_name }),
        h("td", { class: "num", text: yuan(r.price_fen) }), h("td", { class: "num", text: yuan(r.subsidy_fen) }), h("td", { class: "num", text: yuan(r.self_pay_fen) }),
        h("td", { text: t(`rv_${r.review}`) }), h("td", { text: r.payable ? t("yes") : t("no") }),
        h("td", {}, r.review === "pending" && !r.reversed ? [
          h("button", { class: "btn pass", onclick: () => review(r, "passed") }, t("pass")),
          h("button", { class: "btn reject", onclick: () => review(r, "rejected") }, t("reject"))] : null)))))
      : h("p", { text: t("no_records") }));
}

function drawLedger(led) {
  const box = $("#w-ledger"); box.hidden = false;
  box.replaceChildren(h("h2", { text: t("ledger") }),
    h("p", { class: "row", id: "w-balances" }, Object.entries(led.balances).map(([acc, fen]) => h("span", { class: "pill", dataset: { account: acc }, text: `${acc}: ${yuan(fen)}` }))),
    h("table", { class: "list", id: "w-entries" },
      h("thead", {}, h("tr", {}, ["date", "kind", "amount", "col_period", "memo"].map((k) => h("th", { text: t(k) })))),
      h("tbody", {}, led.entries.map((e) => h("tr", { dataset: { entry: e.entry_id, kind: e.kind } },
        h("td", { text: e.at.slice(0, 10) }), h("td", { text: e.kind }), h("td", { class: "num", text: yuan(e.amount_fen) }),
        h("td", { text: e.period }), h("td", { text: e.memo }))))));
}

async function review(r, decision) {
  try {
    await session.api("POST", `/api/v1/service-records/${r.id}/review`, { decision });
    await load();
    say($("#msg"), t("reviewed", { id: r.id, r: t(`rv_${decision}`) }), "ok");
  } catch (e) { err(e); }
}

async function download(path, name) {
  try { await fetchFile(session, path, name); } catch (e) { err(e); }
}

staffPage({ here: "/console/welfare", titleKey: "welfare_title", render });
