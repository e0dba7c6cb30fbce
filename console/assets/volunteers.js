// Volunteers and the time bank (志愿者/时间银行): the station's registry with each volunteer's
// watch agreement (看护协议: in force, expired, none), and a volunteer's time-bank statement.
import { staffPage, session, stationId, serverToday, say, h, t } from "./staff.js";
import { addStrings, $, $$, clockTime } from "./common.js";

addStrings({
  volunteers_title: "志愿者与时间银行", registry: "志愿者名册（{n} 人）", no_volunteers: "本站还没有登记志愿者。",
  name: "姓名", phone: "电话", skills: "技能", trainings: "培训", agreement: "看护协议", availability: "可服务时间", statement: "时间银行",
  ag_none: "无看护协议", ag_valid: "有效，至 {d}", ag_open: "有效（{no}）", ag_expired: "已过期（{d}）", ag_soon: "{d} 到期，请续签",
  inactive: "已停用", show_statement: "查看明细", statement_of: "{name} 的时间银行",
  earned: "获得", spent: "使用", transferred_out: "转给家人", received: "受赠", balance: "余额",
  kind: "类型", minutes: "时长", memo: "说明", at: "时间", no_entries: "还没有记录。",
  e_earned: "服务获得", e_spent: "使用", e_transfer_out: "转出", e_transfer_in: "转入",
  hm: "{h} 小时 {m} 分", m_only: "{m} 分钟",
  register: "登记志愿者", f_name: "姓名", f_phone: "手机号", f_skills: "技能（用顿号或逗号分隔）", f_agreement_no: "看护协议编号",
  f_agreement_expires: "协议到期日", f_training: "培训名称", f_training_on: "培训日期", f_weekday: "可服务：星期", f_start: "从", f_end: "到",
  none_day: "（不填）", save: "登记", registered_ok: "{name} 已登记", bad_field: "请检查：{fields}",
  wd0: "一", wd1: "二", wd2: "三", wd3: "四", wd4: "五", wd5: "六", wd6: "日", list_sep: "、",
}, {
  volunteers_title: "Volunteers and the time bank", registry: "Volunteer registry ({n})", no_volunteers: "No volunteers registered at this station.",
  name: "Name", phone: "Phone", skills: "Skills", trainings: "Training", agreement: "Watch agreement", availability: "Available", statement: "Time bank",
  ag_none: "no watch agreement", ag_valid: "in force until {d}", ag_open: "in force ({no})", ag_expired: "expired ({d})", ag_soon: "expires {d}: renew",
  inactive: "inactive", show_statement: "Statement", statement_of: "Time bank of {name}",
  earned: "Earned", spent: "Spent", transferred_out: "Given to family", received: "Received", balance: "Balance",
  kind: "Kind", minutes: "Time", memo: "Memo", at: "When", no_entries: "No entries yet.",
  e_earned: "earned", e_spent: "spent", e_transfer_out: "transferred out", e_transfer_in: "transferred in",
  hm: "{h} h {m} min", m_only: "{m} min",
  register: "Register a volunteer", f_name: "Name", f_phone: "Mobile", f_skills: "Skills (comma-separated)", f_agreement_no: "Watch agreement no.",
  f_agreement_expires: "Agreement expires", f_training: "Training", f_training_on: "Trained on", f_weekday: "Available: day", f_start: "from", f_end: "to",
  none_day: "(none)", save: "Register", registered_ok: "{name} registered", bad_field: "Please check: {fields}",
  wd0: "Mon", wd1: "Tue", wd2: "Wed", wd3: "Thu", wd4: "Fri", wd5: "Sat", wd6: "Sun", list_sep: ", ",
});

const S = { sid: null, today: null, list: [] };

export function duration(min) {
  const sign = min < 0 ? "-" : ""; const a = Math.abs(min);
  return sign + (a >= 60 ? t("hm", { h: Math.floor(a / 60), m: a % 60 }) : t("m_only", { m: a }));
}

// The agreement as the chain sees it: none, expired, or in force (warned within 30 days).
function agreement(v) {
  if (!v.agreement_no) return ["none", t("ag_none"), "bad"];
  if (!v.agreement_expires) return ["valid", t("ag_open", { no: v.agreement_no }), "ok"];
  if (v.agreement_expires < S.today) return ["expired", t("ag_expired", { d: v.agreement_expires }), "bad"];
  const soon = new Date(`${S.today}T00:00:00Z`); soon.setUTCDate(soon.getUTCDate() + 30);
  if (v.agreement_expires <= soon.toISOString().slice(0, 10)) return ["valid", t("ag_soon", { d: v.agreement_expires }), "warn"];
  return ["valid", t("ag_valid", { d: v.agreement_expires }), "ok"];
}

async function render(main) {
  S.sid = stationId();
  [S.today, S.list] = await Promise.all([serverToday(), session.api("GET", `/api/v1/stations/${S.sid}/volunteers`)]);
  const rows = S.list.map((v) => {
    const [state, text, cls] = agreement(v);
    return h("tr", { dataset: { volunteer: v.id, agreement: state } },
      h("td", { style: "font-size:16px" }, v.name, v.active ? null : h("span", { class: "pill", text: ` ${t("inactive")}` })),
      h("td", { text: v.phone }),
      h("td", { text: v.skills.join(t("list_sep")) }),
      h("td", { text: v.trainings.map((x) => `${x.name}（${x.on}）`).join(t("list_sep")) }),
      h("td", {}, h("span", { class: `pill ${cls} agreement`, text: text })),
      h("td", { text: v.availability.map((a) => `${t(`wd${a.weekday}`)} ${a.start}–${a.end}`).join(t("list_sep")) }),
      h("td", {}, h("button", { class: "btn big show", onclick: () => statement(v) }, t("show_statement"))));
  });
  main.replaceChildren(
    h("div", { id: "msg", class: "msg", role: "alert", hidden: true }),
    h("section", { class: "panel" }, h("h2", { text: t("registry", { n: S.list.length }) }),
      S.list.length ? h("table", { class: "list", id: "volunteers" },
        h("thead", {}, h("tr", {}, [t("name"), t("phone"), t("skills"), t("trainings"), t("agreement"), t("availability"), ""].map((x) => h("th", { text: x })))),
        h("tbody", {}, rows)) : h("p", { text: t("no_volunteers") })),
    h("section", { class: "panel", id: "statement", hidden: true }),
    h("section", { class: "panel", id: "register" }, registerForm()));
}

// Registration: the registry's fields; a refusal names the fields the server found wrong.
const FIELDS = [["name", "text"], ["phone", "tel"], ["skills", "text"], ["agreement_no", "text"], ["agreement_expires", "date"], ["training", "text"], ["training_on", "date"]];

function registerForm() {
  const field = ([k, type]) => h("label", { class: "field", dataset: { field: k } }, t(`f_${k}`), h("input", { name: k, type, id: `v-${k}` }));
  const day = h("select", { name: "weekday", id: "v-weekday" }, h("option", { value: "", text: t("none_day") }),
    [0, 1, 2, 3, 4, 5, 6].map((d) => h("option", { value: d, text: t(`wd${d}`) })));
  return h("form", { id: "register-form", onsubmit: (ev) => { ev.preventDefault(); register(ev.target); } },
    h("h2", { text: t("register") }),
    h("div", { class: "row" }, FIELDS.map(field)),
    h("div", { class: "row" }, h("label", {}, t("f_weekday"), day),
      h("label", {}, t("f_start"), h("input", { type: "time", name: "start", value: "14:00" })),
      h("label", {}, t("f_end"), h("input", { type: "time", name: "end", value: "17:00" })),
      h("button", { class: "btn big primary", type: "submit", id: "btn-register" }, t("save"))));
}

async function register(form) {
  const v = (k) => form.elements[k].value.trim();
  const body = { name: v("name"), phone: v("phone"), skills: v("skills").split(/[、,，\s]+/).filter(Boolean) };
  if (v("agreement_no")) body.agreement_no = v("agreement_no");
  if (v("agreement_expires")) body.agreement_expires = v("agreement_expires");
  if (v("training")) body.trainings = [{ name: v("training"), on: v("training_on") || S.today }];
  if (v("weekday") !== "") body.availability = [{ weekday: Number(v("weekday")), start: v("start"), end: v("end") }];
  $$("#register-form .field").forEach((f) => f.classList.remove("bad"));
  try {
    await session.api("POST", `/api/v1/stations/${S.sid}/volunteers`, body);
  } catch (e) {
    const key = (loc) => { const l = loc.find((x) => x === "trainings" || FIELDS.some(([k]) => k === x)); return l === "trainings" ? "training" : l; };
    const bad = ((e.body && e.body.errors) || []).map((x) => key(x.loc)).filter(Boolean);
    bad.forEach((k) => { const f = $(`#register-form .field[data-field="${k}"]`); if (f) f.classList.add("bad"); });
    const names = [...new Set(bad)].map((k) => t(`f_${k}`));
    say($("#msg"), names.length ? `${e.message} · ${t("bad_field", { fields: names.join(t("list_sep")) })}` : e.message);
    return;
  }
  const name = body.name;
  await render($("#page"));
  say($("#msg"), t("registered_ok", { name }), "ok");
}

async function statement(v) {
  $$("#volunteers tr").forEach((tr) => tr.classList.toggle("sel", Number(tr.dataset.volunteer) === v.id));
  let st;
  try { st = await session.api("GET", `/api/v1/volunteers/${v.id}/timebank`); say($("#msg"), ""); }
  catch (e) { say($("#msg"), e.message); return; }
  const fig = (key, min, id) => h("div", { class: "tile", style: "background:#eef1f5;color:inherit" },
    h("span", { class: "tv", id, text: duration(min) }), h("span", { class: "tl", text: t(key) }));
  const el = $("#statement");
  el.hidden = false; el.dataset.volunteer = v.id;
  el.replaceChildren(h("h2", { text: t("statement_of", { name: v.name }) }),
    h("div", { class: "row" }, fig("earned", st.earned_min, "tb-earned"), fig("spent", st.spent_min, "tb-spent"),
      fig("transferred_out", st.transferred_out_min, "tb-out"), fig("received", st.received_min, "tb-in"), fig("balance", st.balance_min, "tb-balance")),
    st.entries.length ? h("table", { class: "list", id: "entries" },
      h("thead", {}, h("tr", {}, [t("at"), t("kind"), t("minutes"), t("memo")].map((x) => h("th", { text: x })))),
      h("tbody", {}, st.entries.map((e) => h("tr", { dataset: { entry: e.id, kind: e.kind } },
        h("td", { text: `${new Date(e.at).toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" })} ${clockTime(e.at)}` }),
        h("td", { text: t(`e_${e.kind}`) }), h("td", { text: duration(e.minutes) }), h("td", { text: e.memo })))))
      : h("p", { text: t("no_entries") }));
  el.scrollIntoView({ block: "start" });
}

staffPage({ here: "/console/volunteers", titleKey: "volunteers_title", render });
