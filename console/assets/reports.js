// Reports for a period (运营报表): a month's or a quarter's figures per district, street and
// station (help calls and response times, visits, meals, subsidies, satisfaction), two charts
// drawn here as SVG (no library, no CDN), and the same report as an XLSX download.
import { staffPage, session, serverToday, say, h, t } from "./staff.js";
import { addStrings, $ } from "./common.js";
import { download as fetchFile } from "./download.js";

addStrings({
  reports_title: "运营报表", period: "统计期", month_opt: "{y}年{m}月", quarter_opt: "{y}年第{q}季度", show: "查看", download: "下载 Excel",
  range: "{from} 至 {to}", empty: "这个范围内没有服务站。",
  lv_district: "区", lv_street: "街道", lv_station: "服务站", level: "层级", name: "名称",
  k_calls: "呼叫", k_response_median_s: "到达中位数", k_response_p90_s: "到达90分位", k_accept_median_s: "接单中位数",
  k_visits: "上门服务", k_meals: "助餐", k_subsidy_fen: "补贴", k_self_pay_fen: "自付", k_satisfaction: "满意率", k_false_alarms: "误报",
  k_elders_visited: "服务老人", k_arrived: "到达",
  chart_calls: "各站呼叫与到达中位数", chart_months: "分月走势", calls_n: "{n} 次", none: "—",
  legend_calls: "呼叫", legend_visits: "上门服务", legend_meals: "助餐",
  min_s: "{m}分{s}秒", yuan: "¥{y}", pct: "{p}%",
}, {
  reports_title: "Reports", period: "Period", month_opt: "{y}-{m}", quarter_opt: "{y} Q{q}", show: "Show", download: "Download Excel",
  range: "{from} to {to}", empty: "No stations in this scope.",
  lv_district: "District", lv_street: "Street", lv_station: "Station", level: "Level", name: "Name",
  k_calls: "Help calls", k_response_median_s: "Arrival, median", k_response_p90_s: "Arrival, p90", k_accept_median_s: "Accepted, median",
  k_visits: "Visits", k_meals: "Meals", k_subsidy_fen: "Subsidy", k_self_pay_fen: "Self-paid", k_satisfaction: "Satisfaction", k_false_alarms: "False alarms",
  k_elders_visited: "Elders visited", k_arrived: "Arrived",
  chart_calls: "Help calls and median arrival by station", chart_months: "By month", calls_n: "{n}", none: "—",
  legend_calls: "Help calls", legend_visits: "Visits", legend_meals: "Meals",
  min_s: "{m} min {s} s", yuan: "¥{y}", pct: "{p}%",
});

// The columns of the table, in order: what a station manager looks at first.
const COLS = ["calls", "arrived", "response_median_s", "response_p90_s", "false_alarms", "visits", "elders_visited", "meals", "subsidy_fen", "self_pay_fen", "satisfaction"];
const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function fmt(key, v) {
  if (v === null || v === undefined) return t("none");
  if (key.endsWith("_s")) return t("min_s", { m: Math.floor(v / 60), s: v % 60 });
  if (key.endsWith("_fen")) return t("yuan", { y: (v / 100).toFixed(2) });
  if (key === "satisfaction") return t("pct", { p: (v * 100).toFixed(1) });
  return String(v);
}

// The last twelve months and the last four quarters before (and including) today's.
function periods(today) {
  const [y, m] = today.split("-").map(Number);
  const out = [];
  for (let i = 0; i < 12; i++) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    const mm = String(d.getUTCMonth() + 1).padStart(2, "0");
    out.push([`${d.getUTCFullYear()}-${mm}`, t("month_opt", { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1 })]);
  }
  let q = Math.floor((m - 1) / 3) + 1, qy = y;
  for (let i = 0; i < 4; i++) {
    out.push([`${qy}Q${q}`, t("quarter_opt", { y: qy, q })]);
    if (--q === 0) { q = 4; qy--; }
  }
  return out;
}

async function today() {
  // Operators and admins read the server's day; an officer's page takes the PC's.
  try { if (["operator", "admin"].includes(session.data.role)) return await serverToday(); } catch (e) { /* fall through */ }
  return new Date().toISOString().slice(0, 10);
}

async function render(main) {
  const asked = new URLSearchParams(location.search).get("period");
  const options = periods(await today());
  const pick = h("select", { id: "period", "aria-label": t("period") }, options.map(([v, label]) => h("option", { value: v, text: label })));
  pick.value = asked && options.some(([v]) => v === asked) ? asked : options[1][0];   // last month, complete
  if (asked && !options.some(([v]) => v === asked)) { pick.append(h("option", { value: asked, text: asked })); pick.value = asked; }
  main.replaceChildren(
    h("div", { class: "panel" }, h("div", { class: "row" }, h("label", { for: "period", text: t("period") }), pick,
      h("button", { class: "btn primary big", id: "btn-show", onclick: () => load(pick.value).catch((e) => say($("#msg"), e.message)) }, t("show")),
      h("button", { class: "btn big", id: "btn-xlsx", onclick: () => download(pick.value) }, t("download")),
      h("span", { id: "range", class: "pill" }))),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel kpis", id: "totals" }),
    h("section", { class: "panel", id: "charts" }),
    h("section", { class: "panel", id: "table" }));
  await load(pick.value);
}

async function load(period) {
  say($("#msg"), "");
  const body = await session.api("GET", `/api/v1/reports?period=${encodeURIComponent(period)}`);
  $("#range").textContent = t("range", { from: body.from, to: body.to });
  $("#totals").replaceChildren(...["calls", "response_median_s", "visits", "meals", "subsidy_fen", "satisfaction"].map((k) =>
    h("div", { class: "kpi", dataset: { kpi: k } }, h("div", { class: "kv", text: fmt(k, body.total[k]) }), h("div", { class: "kl", text: t(`k_${k}`) }))));
  const stations = body.rows.filter((r) => r.level === "station");
  const quarter = body.by_month.length > 1;
  $("#charts").replaceChildren(...[h("h2", { text: t("chart_calls") }), callsChart(stations),
    quarter && h("h2", { text: t("chart_months") }), quarter && monthsChart(body.by_month)].filter(Boolean));
  $("#table").replaceChildren(body.rows.length ? table(body) : h("p", { text: t("empty") }));
  $("#page").dataset.period = body.period;
}

function table(body) {
  const row = (label, name, k, data) => h("tr", { dataset: data },
    h("td", { text: label }), h("td", { text: name }), COLS.map((c) => h("td", { class: "num", dataset: { col: c }, text: fmt(c, k[c]) })));
  return h("table", { class: "list", id: "report" },
    h("thead", {}, h("tr", {}, h("th", { text: t("level") }), h("th", { text: t("name") }), COLS.map((c) => h("th", { text: t(`k_${c}`) })))),
    h("tbody", {}, body.rows.map((r) => row(t(`lv_${r.level}`), r.name, r.kpis, { level: r.level, station: r.station_id ?? "" })),
      row(t("total_row"), "", body.total, { level: "total" })));
}

// One bar per station (help calls), the median arrival written at the bar's end.
function callsChart(stations) {
  const W = 760, rowH = 28, left = 200, max = Math.max(1, ...stations.map((s) => s.kpis.calls));
  const H = stations.length * rowH + 10;
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": t("chart_calls"), id: "chart-calls" },
    stations.map((s, i) => {
      const w = Math.round((W - left - 170) * s.kpis.calls / max), y = i * rowH + 5;
      return svg("g", { "data-station": s.station_id },
        svg("text", { x: left - 8, y: y + 17, "text-anchor": "end", "font-size": 13 }, s.name),
        svg("rect", { x: left, y, width: Math.max(w, 1), height: rowH - 8, fill: "#1565c0", rx: 3 }),
        svg("text", { x: left + w + 6, y: y + 17, "font-size": 12, class: "bar-label" },
          `${t("calls_n", { n: s.kpis.calls })} · ${fmt("response_median_s", s.kpis.response_median_s)}`));
    }));
}

// The months side by side: calls, visits and meals as three bars each, scaled per series.
function monthsChart(months) {
  const series = [["calls", "#1565c0"], ["visits", "#2e7d32"], ["meals", "#f59e0b"]];
  const W = 760, H = 200, base = 160, groupW = (W - 40) / months.length, barW = Math.min(40, groupW / 4);
  const max = Object.fromEntries(series.map(([k]) => [k, Math.max(1, ...months.map((m) => m.kpis[k]))]));
  return svg("svg", { viewBox: `0 0 ${W} ${H + 24}`, width: "100%", role: "img", "aria-label": t("chart_months"), id: "chart-months" },
    svg("line", { x1: 20, y1: base, x2: W - 20, y2: base, stroke: "#999" }),
    months.map((m, i) => svg("g", { "data-month": m.month },
      series.map(([k, colour], j) => {
        const hgt = Math.round(130 * m.kpis[k] / max[k]), x = 30 + i * groupW + j * (barW + 4);
        return svg("g", {},
          svg("rect", { x, y: base - hgt, width: barW, height: hgt, fill: colour, "data-series": k }),
          svg("text", { x: x + barW / 2, y: base - hgt - 4, "text-anchor": "middle", "font-size": 11 }, String(m.kpis[k])));
      }),
      svg("text", { x: 30 + i * groupW + 1.5 * barW, y: base + 18, "text-anchor": "middle", "font-size": 13 }, m.month))),
    series.map(([k, colour], j) => svg("g", {},
      svg("rect", { x: 20 + j * 120, y: H + 8, width: 12, height: 12, fill: colour }),
      svg("text", { x: 38 + j * 120, y: H + 19, "font-size": 12 }, t(`legend_${k}`)))));
}

// The XLSX needs the session's token: fetched, then handed to the browser.
async function download(period) {
  try { await fetchFile(session, `/api/v1/reports.xlsx?period=${encodeURIComponent(period)}`, `report-${period}.xlsx`); }
  catch (e) { say($("#msg"), e.message); }
}

addStrings({ total_row: "合计" }, { total_row: "Total" });

staffPage({
  here: "/console/reports", titleKey: "reports_title", render,
  roles: ["operator", "admin", "street_officer", "district_officer"], needsStation: false,
});
