// The officer's reviews on the providers page: the annual rating (its evidence, an adjustment
// with a written reason, the signature), the red and black lists (and their public export),
// the fraud review queue (dismiss, or reverse and recover, or black-list), and the quarter's
// settlements with their CSV/XLSX.
import { S, session, h, t, $, table, act, field, yuan, fen, nameOf, quarterOf, download, listPills } from "./provider-common.js";

const D = () => encodeURIComponent(S.district);
// A visit's time as the station reads it (Asia/Shanghai), whatever the browser's zone.
const SHANGHAI = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "short" });
const localTime = (iso) => SHANGHAI.format(new Date(iso));
const providerOptions = () => [...S.providers.values()].map((p) => h("option", { value: p.id, text: p.name }));

// ----- the annual rating ----------------------------------------------------------------------

export async function ratingsTab(box) {
  const ratings = await session.api("GET", `/api/v1/districts/${D()}/provider-ratings`);
  const f = h("form", { id: "rating-form", class: "row" },
    field(t("tab_providers"), h("select", { name: "provider_id" }, providerOptions())),
    field(t("year"), h("input", { name: "year", type: "number", value: Number(S.today.slice(0, 4)) - 1, style: "width:6em" })),
    h("button", { class: "btn primary", type: "submit" }, t("compute")));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(f));
    act(() => session.api("POST", "/api/v1/provider-ratings", { provider_id: Number(v.provider_id), year: Number(v.year) }), "", () => ratingsTab(box));
  });
  box.replaceChildren(h("h2", { text: t("tab_ratings") }), f,
    ratings.length ? h("div", { id: "ratings" }, ratings.map(ratingCard)) : h("p", { text: t("no_ratings") }));
}

function ratingCard(r) {
  const parts = r.evidence.parts || {};
  const grades = ["excellent", "qualified", "unqualified"];
  const pick = h("select", { class: "grade" }, grades.map((g) => h("option", { value: g, selected: g === r.computed_grade, text: t(`g_${g}`) })));
  const reason = h("input", { class: "reason", size: 40, placeholder: t("adjust_reason") });
  const sign = () => act(() => session.api("POST", `/api/v1/provider-ratings/${r.id}/sign`, { grade: pick.value, reason: reason.value }),
    (got) => t("signed_ok", { grade: t(`g_${got.grade}`) }) + (got.contracts_ending.length ? `；${t("ending_contracts", { ids: got.contracts_ending.join("、") })}` : ""),
    () => ratingsTab($("#tab")));
  return h("div", { class: "item rating", dataset: { rating: r.id, status: r.status, grade: r.grade } },
    h("div", { class: "row" }, h("b", { text: `${nameOf(r.provider_id)} · ${r.year}` }),
      h("span", { class: "pill score", text: `${t("score")} ${r.score}` }),
      h("span", { class: "pill computed", text: `${t("computed_grade")}：${t(`g_${r.computed_grade}`)}` }),
      h("span", { class: `pill ${r.status === "signed" ? "ok" : "warn"}`, text: t(`r_${r.status}`) }),
      r.status === "signed" ? h("span", { class: "pill final", text: `${t("grade")}：${t(`g_${r.grade}`)}` }) : null),
    table(`evidence-${r.id}`, [t("ev_part"), t("ev_value"), t("ev_weight")], Object.entries(parts).map(([k, v]) =>
      h("tr", { dataset: { part: k } }, h("td", { text: t(`ev_${k}`) }), h("td", { class: "share", text: `${(Number(v) * 100).toFixed(1)}%` }),
        h("td", { text: String((r.evidence.weights || {})[k] ?? "") })))),
    h("p", { class: "facts", text: evidenceLine(r.evidence) }),
    r.adjust_reason ? h("p", { class: "adjusted", text: `${t("reason")}：${r.adjust_reason}` }) : null,
    r.status === "draft" ? h("div", { class: "row" }, field(t("grade"), pick), reason, h("button", { class: "btn primary sign", onclick: sign }, t("sign"))) : null);
}

function evidenceLine(ev) {
  const keys = ["visits", "satisfied", "answers", "complaints_upheld", "late", "missed", "proven", "fraud_upheld", "return_visits"];
  return keys.filter((k) => k in ev).map((k) => t(`fact_${k}`, { n: ev[k] })).join("，");
}

// ----- red and black lists ---------------------------------------------------------------------

export async function listsTab(box) {
  const items = await session.api("GET", `/api/v1/districts/${D()}/provider-lists`);
  const base = `/api/v1/districts/${D()}/provider-lists`;
  box.replaceChildren(h("h2", { text: t("published") }),
    h("div", { class: "row" }, h("a", { class: "btn", id: "export-csv", href: `${base}.csv`, text: t("export_csv") }),
      h("a", { class: "btn", id: "export-xlsx", href: `${base}.xlsx`, text: t("export_xlsx") }),
      h("a", { class: "btn ghost", href: base, target: "_blank", text: t("public_page") })),
    items.length ? table("listings", [t("kind"), t("subject"), t("name"), t("reason"), t("from"), t("until"), ""], items.map((i) =>
      h("tr", { dataset: { listing: i.id, kind: i.kind } }, h("td", {}, h("span", { class: `pill ${i.kind === "red" ? "ok" : "bad"}`, text: t(i.kind) })),
        h("td", { text: t(`s_${i.subject}`) }), h("td", { text: i.subject_name }), h("td", { text: `${i.reason}（${i.evidence.join("；")}）` }),
        h("td", { text: i.starts_on }), h("td", { text: i.ends_on || "" }),
        h("td", {}, h("button", { class: "btn lift", onclick: () => act(() => session.api("POST", `/api/v1/provider-listings/${i.id}/lift`), t("lifted_ok"), () => listsTab(box)) }, t("lift")))))) : h("p", { text: t("no_listings") }),
    h("h2", { text: t("list_add") }), listForm(box));
}

function listForm(box) {
  const f = h("form", { id: "list-form" },
    h("div", { class: "row" },
      field(t("kind"), h("select", { name: "kind" }, ["black", "red"].map((k) => h("option", { value: k, text: t(k) })))),
      field(t("subject"), h("select", { name: "subject" }, ["provider", "caregiver"].map((k) => h("option", { value: k, text: t(`s_${k}`) })))),
      field(t("tab_providers"), h("select", { name: "provider_id" }, providerOptions())),
      field(`${t("caregiver")} ${t("subject_id")}`, h("input", { name: "caregiver_id", type: "number", style: "width:6em" }))),
    field(t("reason"), h("input", { name: "reason", required: true, size: 50 })),
    field(t("evidence_lines"), h("textarea", { name: "evidence", required: true, rows: 3, cols: 50 })),
    h("div", { class: "row" }, field(t("from"), h("input", { name: "starts_on", type: "date", required: true, value: S.today })),
      field(t("until"), h("input", { name: "ends_on", type: "date" })),
      h("button", { class: "btn primary", type: "submit" }, t("list_add"))));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(f));
    const body = { subject: v.subject, subject_id: Number(v.subject === "provider" ? v.provider_id : v.caregiver_id), kind: v.kind, district: S.district,
      reason: v.reason, evidence: v.evidence.split("\n").map((x) => x.trim()).filter(Boolean), starts_on: v.starts_on, ends_on: v.ends_on || null };
    act(() => session.api("POST", "/api/v1/provider-listings", body), listedText, () => listsTab(box));
  });
  return f;
}

const listedText = (l) => t("listed_ok", { kind: t(l.kind), name: l.subject_name }) + (l.replanned_tasks.length ? t("replanned", { n: l.replanned_tasks.length }) : "");

// ----- fraud review ----------------------------------------------------------------------------

export async function fraudTab(box) {
  const quarter = quarterOf(S.today);
  const [holds, signals, stops] = await Promise.all([session.api("GET", `/api/v1/districts/${D()}/fraud-holds`),
    session.api("GET", `/api/v1/districts/${D()}/fraud-signals/${quarter}`), session.api("GET", `/api/v1/districts/${D()}/subsidy-stops`)]);
  box.replaceChildren(h("h2", { text: t("holds") }),
    holds.length ? h("div", { id: "holds" }, holds.map((x) => holdCard(x, box))) : h("p", { text: t("no_holds") }),
    h("h2", { text: t("signals_of", { quarter }) }),
    signals.length ? table("signals", [t("record"), t("signal"), t("evidence"), t("visit"), ""], signals.map((x) =>
      h("tr", { dataset: { record: x.record_id, signal: x.signal } }, h("td", { text: `#${x.record_id}` }),
        h("td", { text: t(`sig_${x.signal}`) }), h("td", { class: "evidence", text: evidenceText(x.detail) }), h("td", { text: visitLine(x) }),
        h("td", {}, h("button", { class: "btn hold-it", onclick: () => act(() => session.api("POST", "/api/v1/fraud-holds",
          { record_id: x.record_id, signal: x.signal, detail: x.detail }), t("held_ok"), () => fraudTab(box)) }, t("hold_it")))))) : h("p", { text: t("no_signals") }),
    h("h2", { text: t("stops") }),
    stops.length ? table("stops", [t("elder"), t("from"), t("reason"), t("status"), ""], stops.map((x) =>
      h("tr", { dataset: { stop: x.id, status: x.status } }, h("td", { text: `#${x.elder_id}` }), h("td", { text: x.starts_on }),
        h("td", { text: x.reason }), h("td", { text: t(`st_${x.status}`) }),
        h("td", {}, x.status === "active" ? h("button", { class: "btn lift-stop", onclick: () => act(() => session.api("POST", `/api/v1/subsidy-stops/${x.id}/lift`), t("lifted_ok"), () => fraudTab(box)) }, t("lift")) : null)))) : h("p", { text: t("no_stops") }));
}

function visitLine(x) {
  const r = x.record;
  const who = (name, id) => (name ? `${name}（#${id}）` : id ? `#${id}` : "—");
  return `${nameOf(x.provider_id)} · ${t("caregiver")} ${who(r.caregiver_name, r.caregiver_id)} · ${t("elder")} ${who(r.elder_name, r.elder_id)} · ${r.item_name} · `
    + `${localTime(r.started_at)} · ${t("minutes", { n: r.minutes })} · ${yuan(r.price_fen)} · `
    + `${t("proofs")}：${(r.proofs || []).map((p) => t(`proof_${p}`)).join("、") || t("none")}`;
}

// A signal's evidence ("key=value ...") in words.
function evidenceText(detail) {
  return (detail || "").split(/\s+/).filter(Boolean).map((kv) => {
    const [k, raw] = kv.split("=");
    const v = k === "proofs" ? (raw === "none" ? t("none") : t(`proof_${raw}`)) : raw;
    return t(`ev_${k}`) === `ev_${k}` ? kv : t(`ev_${k}`, { v });
  }).join("，");
}

function holdCard(x, box) {
  const r = x.record;
  const note = h("input", { class: "note", size: 40, placeholder: t("note") });
  const amount = h("input", { class: "recover", inputmode: "decimal", value: (r.subsidy_fen / 100).toFixed(2), style: "width:7em" });
  const decide = (decision) => act(() => session.api("POST", `/api/v1/fraud-holds/${x.id}/decision`,
    { decision, note: note.value, ...(decision === "upheld" ? { recover_fen: fen(amount.value) } : {}) }),
  (got) => t("decided_ok", { status: t(`h_${got.status}`) }), () => fraudTab(box));
  const blackList = () => act(() => session.api("POST", "/api/v1/provider-listings", {
    subject: r.caregiver_id ? "caregiver" : "provider", subject_id: r.caregiver_id || x.provider_id, kind: "black", district: S.district,
    reason: note.value || t(`sig_${x.signal}`), evidence: [`${t("record")} #${x.record_id}`, `${t(`sig_${x.signal}`)} ${evidenceText(x.detail)}`], starts_on: S.today }),
  listedText, () => fraudTab(box));
  const stop = () => act(() => session.api("POST", `/api/v1/elders/${r.elder_id}/subsidy-stops`, { reason: note.value || t(`sig_${x.signal}`), hold_id: x.id }),
    (got) => t("stopped_ok", { elder: got.elder_id, from: got.starts_on }), () => fraudTab(box));
  return h("div", { class: "item hold", dataset: { hold: x.id, status: x.status, signal: x.signal } },
    h("div", { class: "row" }, h("b", { text: `${t("record")} #${x.record_id}` }),
      h("span", { class: "pill warn signal", text: t(`sig_${x.signal}`) }), h("span", { class: "evidence", text: evidenceText(x.detail) }),
      h("span", { class: `pill ${x.status === "held" ? "warn" : x.status === "upheld" ? "bad" : "ok"}`, text: t(`h_${x.status}`) })),
    h("p", { class: "visit", text: visitLine(x) }),
    x.status === "held" ? h("div", { class: "row" }, note, field(t("recover_yuan"), amount),
      h("button", { class: "btn dismiss", onclick: () => decide("dismissed") }, t("dismiss")),
      h("button", { class: "btn primary uphold", onclick: () => decide("upheld") }, t("uphold")),
      h("button", { class: "btn list-black", onclick: blackList }, t("list_black")),
      h("button", { class: "btn stop-subsidy", onclick: stop }, t("stop_subsidy")))
      : h("p", { class: "decided", text: `${t("paid")} ${yuan(x.paid_fen)} · ${t("recovered")} ${yuan(x.recovered_fen)} · ${x.note}` }));
}

// ----- settlements -----------------------------------------------------------------------------

export async function settlementsTab(box) {
  const q = h("input", { id: "quarter", value: quarterOf(S.today), size: 7, pattern: "\\d{4}Q[1-4]" });
  box.replaceChildren(h("h2", { text: t("tab_settlements") }),
    h("div", { class: "row" }, field(t("quarter"), q), h("button", { class: "btn", onclick: () => drawQuarter(q.value.trim()) }, t("load"))),
    h("div", { id: "settlement" }));
  await drawQuarter(q.value);
}

async function drawQuarter(quarter) {
  const got = await session.api("GET", `/api/v1/districts/${D()}/provider-settlements/${quarter}`);
  const money = (n) => h("td", { class: "money", text: yuan(n) });
  const rows = got.providers.map((s) => h("tr", { dataset: { provider: s.provider_id } },
    h("td", {}, nameOf(s.provider_id), " ", listPills(S.providers.get(s.provider_id) || {})), h("td", { text: String(s.records) }), h("td", { text: String(s.held) }),
    money(s.gross_fen), money(s.recovered_fen), money(s.net_fen),
    h("td", { text: `${s.satisfied}/${s.satisfaction_answers}` }), h("td", { text: String(s.complaints) }),
    h("td", { class: "row" }, ["csv", "xlsx"].map((fmt) => h("button", { class: `btn dl-${fmt}`,
      onclick: () => download(`/api/v1/providers/${s.provider_id}/settlements/${quarter}.${fmt}`, `provider-${s.provider_id}-${quarter}.${fmt}`) }, fmt.toUpperCase())))));
  rows.push(h("tr", { class: "totals", id: "totals" }, h("th", { text: t("totals") }), h("td"), h("td"),
    money(got.gross_fen), money(got.recovered_fen), money(got.net_fen), h("td"), h("td"), h("td")));
  $("#settlement").replaceChildren(h("h3", { text: t("settlement_of", { quarter }) }),
    got.providers.length ? table("settlements", [t("name"), t("records"), t("held"), t("gross"), t("recovered"), t("net"), t("satisfaction"), t("complaints"), t("download")], rows)
      : h("p", { text: t("no_settlement") }));
}
