// The service organisations' pages (服务组织, issue 14) for the district officer (and admins):
// providers with their licences, contracts and caregivers' certificates; a street contracting
// a provider; and, from provider-review.js, the rating, the lists, fraud review, settlements.
// One page, one tab per task (#providers, #contract, ...), for one district at a time.
import { staffPage } from "./staff.js";
import { S, session, say, h, t, $, table, expiryPill, listPills, act, field, yuan } from "./provider-common.js";
import { ratingsTab, listsTab, fraudTab, settlementsTab } from "./provider-review.js";

const TABS = { providers: providersTab, contract: contractTab, ratings: ratingsTab, lists: listsTab, fraud: fraudTab, settlements: settlementsTab };

async function render(main) {
  S.scope = await session.api("GET", "/api/v1/provider-scope");
  S.today = S.scope.today;
  const asked = new URLSearchParams(location.search).get("district");
  S.district = S.scope.districts.includes(asked) ? asked : S.scope.districts[0] || null;
  if (!S.district) { main.replaceChildren(h("div", { class: "msg warn", role: "alert", text: t("no_district") })); return; }
  const tab = (location.hash || "#providers").slice(1);
  const pick = h("select", { id: "district", onchange: (e) => { location.search = `?district=${encodeURIComponent(e.target.value)}`; } },
    S.scope.districts.map((d) => h("option", { value: d, selected: d === S.district, text: d })));
  main.replaceChildren(
    h("div", { class: "row" }, field(t("district"), pick),
      h("nav", { class: "tabs row", id: "tabs" }, Object.keys(TABS).map((k) =>
        h("a", { href: `#${k}`, class: `btn ${k === tab ? "primary" : ""}`, style: "text-decoration:none", dataset: { tab: k }, "aria-current": k === tab ? "page" : null, text: t(`tab_${k}`) })))),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "tab", dataset: { tab } }));
  await loadProviders();
  await (TABS[tab] || providersTab)($("#tab"));
}

export async function loadProviders() {
  const list = await session.api("GET", `/api/v1/districts/${encodeURIComponent(S.district)}/providers`);
  S.providers = new Map(list.map((p) => [p.id, p]));
  return list;
}

// ----- providers: the list, one provider's file, registering one ----------------------------

async function providersTab(box) {
  const list = await loadProviders();
  box.replaceChildren(h("h2", { text: t("tab_providers") }),
    table("provider-list", [t("name"), t("credit_code"), t("licence"), ""], list.map((p) =>
      h("tr", { dataset: { provider: p.id } },
        h("td", {}, h("span", { class: "nm", text: p.name }), " ", listPills(p)),
        h("td", { class: "code", text: p.credit_code }),
        h("td", { class: "licence" }, expiryPill(p.licence.expires)),
        h("td", {}, h("button", { class: "btn show", onclick: () => showProvider(p.id) }, t("show")))))),
    h("section", { id: "provider-detail" }), registerForm());
}

async function showProvider(pid) {
  const p = S.providers.get(pid);
  const [contracts, carers] = await Promise.all([
    session.api("GET", `/api/v1/providers/${pid}/contracts`), session.api("GET", `/api/v1/providers/${pid}/caregivers`)]);
  const docs = [{ ...p.licence, kind: p.licence.kind || t("licence") }, ...p.documents];
  $("#provider-detail").replaceChildren(
    h("h2", {}, p.name, " ", listPills(p)),
    h("p", {}, `${t("credit_code")}：`, h("b", { id: "detail-code", text: p.credit_code })),
    h("h3", { text: t("documents") }),
    table("documents", [t("licence"), t("licence_no"), t("expires")], docs.map((d) =>
      h("tr", {}, h("td", { text: d.kind }), h("td", { text: d.number || "" }), h("td", {}, expiryPill(d.expires))))),
    h("h3", { text: t("contacts") }),
    h("p", { text: p.contacts.map((c) => `${c.name} ${c.phone} ${c.role || ""}`).join("；") || t("none") }),
    h("h3", { text: t("contracts") }),
    contracts.length ? table("contracts", [t("street"), t("period"), t("items"), t("status")], contracts.map((c) =>
      h("tr", { dataset: { contract: c.id, status: c.status } }, h("td", { text: c.street }), h("td", { text: `${c.starts_on} – ${c.ends_on}` }),
        h("td", { text: c.items.map((i) => `${i.item_code} ${yuan(i.price_fen)}`).join("，") }),
        h("td", { text: t(`c_${c.status}`) })))) : h("p", { text: t("no_contracts") }),
    h("h3", { text: t("caregivers") }),
    carers.length ? table("caregivers", [t("name"), t("certificates")], carers.map((c) =>
      h("tr", { dataset: { caregiver: c.id } }, h("td", {}, c.name, " ", listPills(c)),
        h("td", {}, c.certificates.map((x) => h("span", { class: `pill cert ${x.valid ? "ok" : "bad"}`, dataset: { valid: x.valid ? "1" : "0" } },
          `${x.name} ${x.expires ? `· ${x.expires}` : ""} · ${t(x.valid ? "valid" : "expired")}`)))))) : h("p", { text: t("no_caregivers") }));
}

function registerForm() {
  const f = h("form", { id: "register", class: "row" },
    field(t("name"), h("input", { name: "name", required: true })),
    field(t("credit_code"), h("input", { name: "credit_code", required: true, size: 20 })),
    field(t("licence_no"), h("input", { name: "number" })),
    field(t("expires"), h("input", { name: "expires", type: "date", required: true })),
    h("button", { class: "btn primary", type: "submit" }, t("save")));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(f));
    const body = { name: v.name, credit_code: v.credit_code, district: S.district, licence: { kind: "营业执照", number: v.number, expires: v.expires } };
    act(() => session.api("POST", "/api/v1/providers", body), (p) => t("registered", { name: p.name }), () => providersTab($("#tab")));
  });
  return h("div", {}, h("h2", { text: t("register") }), f);
}

// ----- a street contracts a provider (red-listed first; a black-listed one is refused) ------

async function contractTab(box) {
  const streets = S.scope.streets[S.district] || [];
  const pick = h("select", { id: "street", onchange: () => drawStreet(pick.value) }, streets.map((s) => h("option", { value: s, text: s })));
  box.replaceChildren(h("h2", { text: t("tab_contract") }), field(t("choose_street"), pick), h("div", { id: "street-providers" }));
  if (streets.length) await drawStreet(streets[0]);
}

async function drawStreet(street) {
  const list = await session.api("GET", `/api/v1/districts/${encodeURIComponent(S.district)}/streets/${encodeURIComponent(street)}/providers`);
  const chosen = { id: null };
  const rows = list.map((p) => h("tr", { dataset: { provider: p.provider_id } },
    h("td", {}, h("input", { type: "radio", name: "provider", value: p.provider_id, onchange: () => { chosen.id = p.provider_id; } })),
    h("td", {}, h("span", { class: "nm", text: p.name }), " ", listPills(p), p.contracted ? h("span", { class: "pill", text: t("contracted") }) : null)));
  const items = h("div", { id: "items" });
  const addItem = () => items.append(h("div", { class: "row item-line" },
    field(t("item_code"), h("input", { class: "item-code", required: true })), field(t("price"), h("input", { class: "item-price", inputmode: "decimal", required: true }))));
  addItem();
  const f = h("form", { id: "contract-form" },
    h("div", { class: "row" }, field(t("starts_on"), h("input", { name: "starts_on", type: "date", required: true, value: S.today })),
      field(t("ends_on"), h("input", { name: "ends_on", type: "date", required: true }))),
    items, h("div", { class: "row" }, h("button", { class: "btn", type: "button", onclick: addItem }, t("add_item")),
      h("button", { class: "btn primary", type: "submit", id: "btn-contract" }, t("sign_contract"))));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!chosen.id) { say($("#msg"), t("pick_provider")); return; }
    const v = Object.fromEntries(new FormData(f));
    const lines = [...items.querySelectorAll(".item-line")].map((l) => ({ item_code: l.querySelector(".item-code").value.trim(), price_fen: Math.round(Number(l.querySelector(".item-price").value) * 100) }));
    const body = { provider_id: chosen.id, district: S.district, street, starts_on: v.starts_on, ends_on: v.ends_on, items: lines };
    act(() => session.api("POST", "/api/v1/provider-contracts", body),
      (c) => t("contract_done", { name: S.providers.get(c.provider_id).name, street, from: c.starts_on, to: c.ends_on }), () => drawStreet(street));
  });
  $("#street-providers").replaceChildren(h("h3", { text: t("providers_for_street") }), table("street-list", ["", t("name")], rows), f);
}

window.addEventListener("hashchange", () => location.reload());
staffPage({ here: "/console/providers", titleKey: "providers_title", render, roles: ["admin", "district_officer"], needsStation: false });
