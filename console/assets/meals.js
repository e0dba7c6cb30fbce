// Meals (助餐): a day's menu with its cut-off, the orders the kitchen cooks (counted per dish,
// dine-in and delivery), and the couriers' lunch routes in force.
import { staffPage, session, stationId, serverToday, say, h, t } from "./staff.js";
import { addStrings, $, $$ } from "./common.js";

addStrings({
  meals_title: "助餐", day: "日期", show: "查看", menu: "菜单", no_menu: "这一天还没有菜单。", code: "编号", dish: "菜名", price: "价格（元）", tags: "标签（逗号分隔）",
  add_dish: "加一道菜", save_menu: "保存菜单", cutoff: "订餐截止", opens: "开餐", closes: "结束", saved: "菜单已保存", is_closed: "已截止：订单已交厨房，不能再订或退",
  is_open: "{cutoff} 前可订可退", orders: "订单（{n} 份，{yuan} 元）", no_orders: "没有订单。", elder: "老人", mode: "方式", dishes: "菜品", status: "状态", notes: "备注",
  m_dine_in: "堂食", m_delivery: "送餐", st_ordered: "已订", st_cancelled: "已退", st_delivering: "配送中", st_delivered: "已送达",
  kitchen: "厨房汇总", portions: "{n} 份", routes: "送餐路线", no_routes: "还没有送餐路线（午餐规划生成后显示）。", courier: "送餐员 #{id}", stops: "{n} 站", unassigned: "送不到的订单：{n}",
  warn: "饮食提醒",
}, {
  meals_title: "Meals", day: "Day", show: "Show", menu: "Menu", no_menu: "No menu for this day yet.", code: "Code", dish: "Dish", price: "Price (yuan)", tags: "Tags (comma-separated)",
  add_dish: "Add a dish", save_menu: "Save menu", cutoff: "Cut-off", opens: "Lunch opens", closes: "closes", saved: "Menu saved", is_closed: "Closed: the orders went to the kitchen",
  is_open: "Orders and cancellations until {cutoff}", orders: "Orders ({n}, {yuan} yuan)", no_orders: "No orders.", elder: "Elder", mode: "Mode", dishes: "Dishes", status: "Status", notes: "Notes",
  m_dine_in: "dine-in", m_delivery: "delivery", st_ordered: "ordered", st_cancelled: "cancelled", st_delivering: "delivering", st_delivered: "delivered",
  kitchen: "For the kitchen", portions: "{n}", routes: "Lunch routes", no_routes: "No lunch routes yet.", courier: "Courier #{id}", stops: "{n} stops", unassigned: "Orders that cannot be delivered: {n}",
  warn: "Diet warnings",
});

const S = { sid: null, day: null, menu: null };

async function render(main) {
  S.sid = stationId();
  S.day = S.day || await serverToday();
  const day = h("input", { type: "date", id: "meal-day", value: S.day });
  main.replaceChildren(
    h("div", { class: "panel" }, h("div", { class: "row" }, h("label", { for: "meal-day", text: t("day") }), day,
      h("button", { class: "btn big primary", id: "btn-day", onclick: () => { S.day = day.value; load().catch(err); } }, t("show")))),
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel", id: "menu" }),
    h("section", { class: "panel", id: "orders" }),
    h("section", { class: "panel", id: "routes" }));
  await load();
}

const err = (e) => say($("#msg"), e.message);

async function load() {
  const base = `/api/v1/stations/${S.sid}`;
  S.menu = await session.api("GET", `${base}/meal-menus/${S.day}`).catch((e) => { if (e.status === 404) return null; throw e; });
  const [orders, plan] = await Promise.all([
    session.api("GET", `${base}/meal-orders?day=${S.day}`),
    session.api("GET", `${base}/meal-plans/latest`).catch(() => ({ routes: [], unassigned: [] }))]);
  drawMenu();
  drawOrders(orders);
  drawRoutes(plan.day === S.day ? plan : { routes: [], unassigned: [] });
  $("#page").dataset.day = S.day;
}

function dishRow(d = { code: "", name_zh: "", price_fen: 0, tags: [] }) {
  return h("tr", { class: "dish" },
    h("td", {}, h("input", { name: "code", value: d.code, size: 10 })),
    h("td", {}, h("input", { name: "name_zh", value: d.name_zh })),
    h("td", {}, h("input", { name: "price", type: "number", step: "0.01", min: "0", value: (d.price_fen / 100).toFixed(2), style: "width:90px" })),
    h("td", {}, h("input", { name: "tags", value: (d.tags || []).join(",") })));
}

function drawMenu() {
  const m = S.menu;
  const time = (name, v) => h("input", { type: "time", name, id: `menu-${name}`, value: v });
  const body = h("tbody", {}, (m ? m.dishes : [undefined]).map((d) => dishRow(d)));
  $("#menu").replaceChildren(h("h2", { text: t("menu") }),
    m ? h("p", {}, h("span", { class: `pill ${m.closed ? "warn" : "ok"}`, id: "menu-state", text: m.closed ? t("is_closed") : t("is_open", { cutoff: m.cutoff }) }))
      : h("p", { id: "no-menu", text: t("no_menu") }),
    h("table", { class: "list", id: "dishes" }, h("thead", {}, h("tr", {}, ["code", "dish", "price", "tags"].map((k) => h("th", { text: t(k) })))), body),
    h("div", { class: "row" },
      h("button", { class: "btn big", id: "btn-add-dish", onclick: () => body.append(dishRow()) }, t("add_dish")),
      h("label", {}, `${t("cutoff")} `, time("cutoff", m ? m.cutoff : "09:30")),
      h("label", {}, `${t("opens")} `, time("lunch_opens", m ? m.lunch_opens : "11:00")),
      h("label", {}, `${t("closes")} `, time("lunch_closes", m ? m.lunch_closes : "12:30")),
      h("button", { class: "btn big primary", id: "btn-save-menu", disabled: m && m.closed, onclick: saveMenu }, t("save_menu"))));
}

async function saveMenu() {
  const dishes = $$("#dishes tr.dish").map((tr) => {
    const v = (n) => tr.querySelector(`[name=${n}]`).value.trim();
    return { code: v("code"), name_zh: v("name_zh"), price_fen: Math.round(Number(v("price")) * 100), tags: v("tags").split(/[,，、]/).map((x) => x.trim()).filter(Boolean) };
  }).filter((d) => d.code || d.name_zh);
  const body = { dishes, cutoff: $("#menu-cutoff").value, lunch_opens: $("#menu-lunch_opens").value, lunch_closes: $("#menu-lunch_closes").value };
  try {
    await session.api("PUT", `/api/v1/stations/${S.sid}/meal-menus/${S.day}`, body);
    await load();
    say($("#msg"), t("saved"), "ok");
  } catch (e) { err(e); }
}

function drawOrders(orders) {
  const live = orders.filter((o) => o.status !== "cancelled");
  const names = new Map(((S.menu && S.menu.dishes) || []).map((d) => [d.code, d.name_zh]));
  const count = new Map();
  for (const o of live) for (const d of o.dishes) count.set(d, (count.get(d) || 0) + 1);
  const yuan = (live.reduce((s, o) => s + o.total_fen, 0) / 100).toFixed(2);
  $("#orders").replaceChildren(h("h2", { text: t("orders", { n: live.length, yuan }) }),
    h("div", { class: "row", id: "kitchen" }, h("strong", { text: t("kitchen") }),
      ...["dine_in", "delivery"].map((m) => h("span", { class: "pill", dataset: { mode: m }, text: `${t(`m_${m}`)} ${t("portions", { n: live.filter((o) => o.mode === m).length })}` })),
      ...[...count].map(([code, n]) => h("span", { class: "pill ok", dataset: { dish: code }, text: `${names.get(code) || code} × ${n}` }))),
    orders.length ? h("table", { class: "list", id: "order-list" },
      h("thead", {}, h("tr", {}, ["elder", "mode", "dishes", "status", "warn", "notes"].map((k) => h("th", { text: t(k) })))),
      h("tbody", {}, orders.map((o) => h("tr", { dataset: { order: o.id, status: o.status } },
        h("td", { text: o.elder_name }), h("td", { text: t(`m_${o.mode}`) }), h("td", { text: o.dishes.map((d) => names.get(d) || d).join("、") }),
        h("td", {}, h("span", { class: `pill ${o.status === "cancelled" ? "bad" : ""}`, text: t(`st_${o.status}`) })),
        h("td", { text: o.diet_warnings.join("；") }), h("td", { text: o.notes })))))
      : h("p", { text: t("no_orders") }));
}

function drawRoutes(plan) {
  $("#routes").replaceChildren(...[h("h2", { text: t("routes") }),
    plan.routes.length ? h("ul", { id: "route-list" }, plan.routes.map((r) => h("li", { dataset: { courier: r.courier_id } },
      `${t("courier", { id: r.courier_id })} · ${t("stops", { n: r.stops.filter((s) => s.kind === "deliver").length })}`))) : h("p", { text: t("no_routes") }),
    plan.unassigned.length && h("p", { class: "msg warn", text: t("unassigned", { n: plan.unassigned.length }) })].filter(Boolean));
}

staffPage({ here: "/console/meals", titleKey: "meals_title", render });
