// The staff pages beside the console (assessment, day care, volunteers): the same sign-in
// as the console (one session), a header that links every page, and small helpers.
import { $, h, t, lang, setLang, addStrings, Session, loginForm, syncClock } from "./common.js";

addStrings({
  nav_console: "调度台", nav_assess: "能力评估", nav_daycare: "日间托老", nav_volunteers: "志愿者",
  nav_reports: "运营报表", nav_audit: "审计日志", nav_applications: "补贴审批", nav_meals: "助餐", nav_welfare: "补贴与对账",
  lang_switch: "English", loading: "加载中…", which_station: "请选择服务站：在地址后加 ?station_id=编号",
  nav_providers: "服务组织", not_your_page: "此页面供以下角色使用：{roles}。请换一个账号登录。", other_account: "换账号登录",
  role_operator: "服务站调度员", role_admin: "管理员", role_district_officer: "区民政干部", role_street_officer: "街道干部",
}, {
  nav_console: "Console", nav_assess: "Assessment", nav_daycare: "Day care", nav_volunteers: "Volunteers",
  nav_reports: "Reports", nav_audit: "Audit log", nav_applications: "Applications", nav_meals: "Meals", nav_welfare: "Subsidy",
  lang_switch: "中文", loading: "Loading…", which_station: "Choose a station: add ?station_id=N to the address",
  nav_providers: "Providers", not_your_page: "This page is for: {roles}. Sign in with another account.", other_account: "Sign in as someone else",
  role_operator: "station operator", role_admin: "administrator", role_district_officer: "district officer", role_street_officer: "street officer",
});

export const NAV = [
  ["/console", "nav_console"], ["/console/assess", "nav_assess"],
  ["/console/daycare", "nav_daycare"], ["/console/volunteers", "nav_volunteers"],
  ["/console/meals", "nav_meals"], ["/console/applications", "nav_applications"], ["/console/welfare", "nav_welfare"], ["/console/reports", "nav_reports"], ["/console/audit", "nav_audit"],
  // an entry may name the roles that see it (the rest are shown to everyone signed in)
  ["/console/providers", "nav_providers", ["admin", "district_officer"]],
];

// The console's header links (the console draws them too).
export function navLinks(here) {
  const role = session.data && session.data.role;
  return h("nav", { class: "nav", "aria-label": "pages" },
    NAV.filter(([, , roles]) => !roles || roles.includes(role)).map(([href, key]) => h("a", { href: href + stationQuery(), class: href === here ? "here" : null, "aria-current": href === here ? "page" : null, text: t(key) })));
}

export const session = new Session("console");

// The station this page is about: an operator's own; an admin's from ?station_id=N.
export function stationId() {
  const q = new URLSearchParams(location.search).get("station_id");
  return Number(q || (session.data && session.data.station_id) || 0) || null;
}

// An admin's ?station_id=N goes along from page to page.
function stationQuery() {
  const q = new URLSearchParams(location.search).get("station_id");
  return q ? `?station_id=${encodeURIComponent(q)}` : "";
}

// The station's today (Asia/Shanghai) by the server's clock, not the tablet's.
export async function serverToday() {
  const sid = stationId();
  const r = await session.api("GET", `/api/v1/console/today${sid ? `?station_id=${sid}` : ""}`);
  return r.date;
}

// A message line: an error in the reader's language (problem+json title_i18n), or a note.
export function say(el, text, kind = "err") {
  el.hidden = !text; el.className = `msg ${kind}`; el.textContent = text || "";
}

// Sign in (operator or admin, or the roles a page names), then draw the page: render(main)
// fills <main>. A page about many stations (reports) needs no station.
export function staffPage({ here, titleKey, render, roles = ["operator", "admin"], needsStation = true }) {
  function start() {
    if (session.signedIn && !roles.includes(session.data.role)) {
      // Signed in for another page (the console's operator): say whose page this is, and keep
      // that session unless the person chooses to sign in as someone else.
      const names = roles.map((r) => t(`role_${r}`)).join(" / ");
      $("#app").replaceChildren(h("div", { class: "login-wrap" }, h("h1", { text: t(titleKey) }),
        h("div", { class: "msg warn", role: "alert", id: "not-your-page", text: t("not_your_page", { roles: names }) }),
        h("button", { class: "btn", onclick: () => session.signOut() }, t("other_account"))));
      return;
    }
    if (!session.signedIn) {
      $("#app").replaceChildren(h("div", { class: "login-wrap" },
        h("h1", { text: t(titleKey) }),
        loginForm(session, { hint: `demo: ${roles.includes("operator") ? "operator" : "admin"} / anxin1234`, defaultLogin: roles.includes("operator") ? "operator" : "admin", onDone: start })));
      return;
    }
    const main = h("main", { class: "page", id: "page" }, h("p", { text: t("loading") }));
    $("#app").replaceChildren(
      h("header", { class: "top" },
        h("div", { class: "brand" }, h("span", { class: "logo", text: "安心" }), h("span", { text: t(titleKey) })),
        navLinks(here),
        h("div", { class: "top-actions", style: "margin-left:auto" },
          h("button", { class: "btn ghost", id: "btn-lang", onclick: () => { setLang(lang() === "zh" ? "en" : "zh"); start(); } }, t("lang_switch")),
          h("button", { class: "btn ghost", onclick: () => session.signOut() }, t("sign_out")))),
      main);
    document.title = `安心 · ${t(titleKey)}`;
    if (needsStation && !stationId()) { main.replaceChildren(h("div", { class: "msg warn", role: "alert", text: t("which_station") })); return; }
    Promise.resolve(render(main)).then(() => { main.dataset.ready = "1"; }).catch((e) => {
      main.replaceChildren(h("div", { class: "msg err", role: "alert", text: t("error", { msg: e.message }) }));
    });
  }
  session.onSignedOut = () => start();
  start();
}

export { $, h, t, lang, syncClock };
