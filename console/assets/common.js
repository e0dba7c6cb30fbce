// Shared by the console and the phone pages: sign-in, API calls with token refresh,
// the live WebSocket (reconnect + last_seq resume + snapshot on every (re)connect), i18n.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ----- i18n -------------------------------------------------------------------------------
let LANG = localStorage.getItem("anxin.lang") || "zh";
const DICTS = { zh: {}, en: {} };
export function addStrings(zh, en) { Object.assign(DICTS.zh, zh); Object.assign(DICTS.en, en); }
export function lang() { return LANG; }
export function setLang(l) { LANG = l; localStorage.setItem("anxin.lang", l); document.documentElement.lang = l === "zh" ? "zh-CN" : "en"; }
export function t(key, vars = {}) {
  let s = DICTS[LANG][key] ?? DICTS.zh[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
}
// Server texts are "中文 / English": show the half for the current language.
export function bi(text) {
  if (!text || !text.includes(" / ")) return text || "";
  const i = text.indexOf(" / ");
  return LANG === "en" ? text.slice(i + 3) : text.slice(0, i);
}
// Server texts with a key come as {key, params, zh, en}: show the current language's.
export function tr(obj, fallback = "") {
  if (obj && typeof obj === "object") return obj[LANG] ?? obj.zh ?? bi(fallback);
  return bi(obj || fallback);
}
document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";

addStrings({
  login_title: "登录", login: "账号", password: "密码", sign_in: "登录", sign_out: "退出", wechat_sign_in: "微信登录",
  login_failed: "登录失败：{msg}", connecting: "连接中…", live: "实时", offline: "连接中断，正在重连…",
  min: "分钟", error: "出错了：{msg}",
  err_network: "网络不通，请检查网络后重试", err_timeout: "服务器没有回应，请稍后重试", err_http: "请求没有成功（{status}）",
}, {
  login_title: "Sign in", login: "Login", password: "Password", sign_in: "Sign in", sign_out: "Sign out", wechat_sign_in: "Sign in with WeChat",
  login_failed: "Sign-in failed: {msg}", connecting: "Connecting…", live: "Live", offline: "Offline, reconnecting…",
  min: "min", error: "Error: {msg}",
  err_network: "No network: check the connection and try again", err_timeout: "The server did not answer; try again shortly", err_http: "The request did not succeed ({status})",
});

// ----- session and API ---------------------------------------------------------------------
// A refusal in the reader's language: the server's title_i18n (server/texts/errors.py), or a
// text of our own for a failure that never reached the server.
export class ApiError extends Error {
  constructor(status, body) {
    const b = body || {};
    super((b.title_i18n && tr(b.title_i18n)) || b.detail || b.title || (status ? t("err_http", { status }) : t("err_network")));
    this.status = status; this.body = b;
  }
}
// fetch() that says "no network" / "no answer" in words instead of a browser's TypeError.
async function send(path, opts) {
  try { return await fetch(path, opts); }
  catch (e) { throw new ApiError(0, { code: e && e.name === "AbortError" ? "timeout" : "network", title_i18n: null, detail: t(e && e.name === "AbortError" ? "err_timeout" : "err_network") }); }
}

export class Session {
  constructor(key) {
    this.key = `anxin.session.${key}`;
    const raw = localStorage.getItem(this.key);
    this.data = raw ? JSON.parse(raw) : null;
    this._refreshing = null;
    this.onSignedOut = () => {};
  }
  get signedIn() { return !!(this.data && this.data.access_token); }
  get token() { return this.data && this.data.access_token; }
  save(d) { this.data = d; localStorage.setItem(this.key, JSON.stringify(d)); }
  signOut() { this.data = null; localStorage.removeItem(this.key); this.onSignedOut(); }

  async login(login, password) { return this._signIn("/api/v1/auth/login", { login, password }); }

  // Back from WeChat's authorisation page with ?code&state (the official account's H5 sign-in).
  async wechatWeb(code, state) { return this._signIn("/api/v1/auth/wechat/web", { code, state }); }

  async _signIn(path, payload) {
    const r = await send(path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, body);
    if (!this.data || this.data.user_id !== body.user_id) sessionStorage.removeItem(`${this.key}.seq`);
    this.save(body);
    try {
      const me = await this.api("GET", "/api/v1/auth/me");
      this.save({ ...this.data, ...me });
    } catch (e) { /* keep the pair */ }
    return this.data;
  }

  async refresh() {
    if (!this.data || !this.data.refresh_token) { this.signOut(); throw new ApiError(401, {}); }
    // Another tab of the same page may have refreshed already: take its tokens.
    const stored = JSON.parse(localStorage.getItem(this.key) || "null");
    if (stored && stored.refresh_token && stored.refresh_token !== this.data.refresh_token) {
      this.data = stored;
      return;
    }
    if (!this._refreshing) {
      this._refreshing = (async () => {
        const r = await send("/api/v1/auth/refresh", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: this.data.refresh_token }),
        });
        if (r.status === 401 || r.status === 400 || r.status === 422) { this.signOut(); throw new ApiError(401, {}); }
        if (!r.ok) throw new ApiError(r.status, {});
        const body = await r.json();
        this.save({ ...this.data, ...body });
      })().finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  async api(method, path, body, headers = {}, retried = false, signal = undefined) {
    const opts = { method, headers: { ...headers }, signal };
    if (this.token) opts.headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    const r = await send(path, opts);
    if (r.status === 401 && !retried && this.data && this.data.refresh_token) {
      await this.refresh();
      return this.api(method, path, body, headers, true, signal);
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { if (r.ok) throw e; }   // a proxy's HTML error page
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
}

// ----- live updates ------------------------------------------------------------------------
// Connects, resumes after the last sequence number it saw, and calls onSnapshot() on every
// (re)connect so the page is right even if messages were missed while offline.
//
// A socket can die without a close event (Wi-Fi hand-over, a NAT forgetting the flow, the
// browser going offline: the close handshake then stalls until the network returns). So the
// client pings every HEARTBEAT_MS and the server answers "pong"; if nothing at all arrives for
// twice that, the socket is given up, the page says "offline" and reconnects with back-off.
// The window's offline/online events short-cut both ways.
const HEARTBEAT_MS = Number(window.ANXIN_HEARTBEAT_MS) || 15000;
const CONNECT_TIMEOUT_MS = Math.max(4000, 2 * HEARTBEAT_MS);
const MAX_BACKOFF_MS = 10000;

export class Live {
  constructor(session, { onEvent, onSnapshot, onState }) {
    this.session = session;
    this.onEvent = onEvent; this.onSnapshot = onSnapshot; this.onState = onState || (() => {});
    this.lastSeq = Number(sessionStorage.getItem(`${session.key}.seq`) || 0);
    this.retry = 0; this.ws = null; this.stopped = false; this.pingTimer = null; this.timer = null;
    this.lastHeard = 0; this.state = "connecting";
  }
  _setState(s) { this.state = s; this.onState(s); }
  start() {
    this.stopped = false;
    const uid = this.session.data && this.session.data.user_id;
    if (this.userId !== undefined && this.userId !== uid) {
      // Someone else signed in on this tab: their stream has its own numbering.
      this.lastSeq = 0; sessionStorage.removeItem(`${this.session.key}.seq`);
      this._drop();
    }
    this.userId = uid;
    if (!this._listening) {
      this._listening = true;
      // The browser knows the network went: say so at once and stop waiting on the socket.
      window.addEventListener("offline", () => {
        if (this.stopped) return;
        this._drop(); this._setState("offline"); this._later();
      });
      // Back online: reconnect now rather than at the end of the back-off.
      window.addEventListener("online", () => {
        if (this.stopped || this._live()) return;
        this.retry = 0; this._drop(); this._connect();
      });
      // A phone waking up: check the socket now rather than at the next heartbeat.
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible" && !this.stopped) this._beat();
      });
    }
    if (this.ws) return;
    this._connect();
  }
  stop() { this.stopped = true; clearTimeout(this.timer); this._drop(); }
  _live() { return !!(this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "live"); }
  // Forget the current socket without waiting for its close handshake (which may never end).
  _drop() {
    clearInterval(this.pingTimer); clearTimeout(this.connectTimer);
    const ws = this.ws; this.ws = null;
    if (ws) { try { ws.close(); } catch (e) { /* already closing */ } }
  }
  _later() {
    if (this.stopped) return;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.retry++);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.ws) this._connect(); }, delay);
  }
  // The heartbeat: ping, and give the socket up when it has been silent for two intervals.
  _beat() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastHeard > 2 * HEARTBEAT_MS) {
      this._drop(); this._setState("offline"); this._later();
      return;
    }
    try { ws.send(JSON.stringify({ type: "ping" })); } catch (e) { /* onclose follows */ }
  }
  _deliver(msg) { try { this.onEvent(msg); } catch (e) { console.warn("event", e); } }
  _connect() {
    if (this.stopped || !this.session.signedIn) return;
    clearTimeout(this.timer);
    // Once it has been live, say "offline, reconnecting" until the server greets us again.
    this._setState(this.everLive ? "offline" : "connecting");
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const url = `${proto}://${location.host}/api/v1/ws?token=${encodeURIComponent(this.session.token)}&last_seq=${this.lastSeq}`;
    let hello = false;
    const ws = new WebSocket(url);
    this.ws = ws;
    // An upgrade that never completes (a captive portal, a frozen route) is given up too.
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && !hello) { this._drop(); this._later(); }
    }, CONNECT_TIMEOUT_MS);
    ws.onmessage = async (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let msg; try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "hello") {
        hello = true; clearTimeout(this.connectTimer);
        this.retry = 0; this.everLive = true; this._setState("live");
        // Messages that arrive while the snapshot loads are held and applied after it: the
        // snapshot may have been read before them, and would otherwise overwrite them (an
        // alarm raised during a reconnect vanished from the console until the next one).
        this.loading = (this.loading || 0) + 1;
        try { await this.onSnapshot(); } catch (e) { console.warn("snapshot", e); }
        if (--this.loading === 0) {
          const held = this.held || []; this.held = [];
          for (const m of held) this._deliver(m);
        }
        return;
      }
      if (msg.type === "pong" || typeof msg.seq !== "number") return;
      if (msg.seq <= this.lastSeq) return;           // a replay we already applied
      this.lastSeq = msg.seq;
      sessionStorage.setItem(`${this.session.key}.seq`, String(msg.seq));
      if (this.loading) (this.held ||= []).push(msg);
      else this._deliver(msg);
    };
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      // Check four times per interval, so a dead socket is noticed soon after two silent ones.
      let n = 0;
      this.pingTimer = setInterval(() => {
        if (Date.now() - this.lastHeard > 2 * HEARTBEAT_MS || ++n % 4 === 0) this._beat();
      }, HEARTBEAT_MS / 4);
    };
    ws.onclose = async (ev) => {
      if (this.ws !== ws || this.stopped) return;   // a socket we already gave up
      clearInterval(this.pingTimer); clearTimeout(this.connectTimer);
      this.ws = null;
      this._setState("offline");
      // 4401: the server ended the session or the token expired (a refresh tells which).
      if ((!hello || (ev && ev.code === 4401)) && navigator.onLine) {
        // The upgrade was refused: most likely an expired access token.
        try { await this.session.refresh(); } catch (e) { if (!this.session.signedIn) return; }
      }
      this._later();
    };
    ws.onerror = () => { /* onclose follows */ };
  }
}

// Refresh the access token ahead of its expiry so the WebSocket can reconnect at any time.
export function keepFresh(session) {
  setInterval(() => { if (session.signedIn) session.refresh().catch(() => {}); }, 10 * 60 * 1000);
}

// ----- the phone's outbox -----------------------------------------------------------------
// What a person pressed or typed is written to localStorage first and sent from there: it
// survives a reload, a closed tab and a phone restart, and is sent again (same Idempotency-Key,
// same body) until the server answers. Items go in the order they were made, one at a time, so
// a caregiver's "accept" reaches the server before her "on my way". A network failure, a
// timeout, a 5xx, 408, 429 or the server's "still processing" 409 are retried with back-off;
// any other answer ends the item (onDone for 2xx, onFail with the error otherwise).
const OUTBOX_MAX_BACKOFF_MS = Number(window.ANXIN_OUTBOX_MAX_BACKOFF_MS) || 15000;
const OUTBOX_TIMEOUT_MS = 15000;
export function transient(e) {
  if (!e || !e.status) return true;               // no answer at all: the network
  if (e.status >= 500 || e.status === 408 || e.status === 429 || e.status === 401) return true;
  return e.status === 409 && e.body && e.body.code === "idempotency_conflict";
}
export class Outbox {
  constructor(session, name, { onDone, onFail, onChange } = {}) {
    this.session = session; this.name = name;
    this.onDone = onDone || (() => {}); this.onFail = onFail || (() => {}); this.onChange = onChange || (() => {});
    this.busy = false; this.retry = 0; this.timer = null;
    window.addEventListener("online", () => { this.retry = 0; this.flush(); });
  }
  get storeKey() { return `anxin.outbox.${this.name}.${(this.session.data && this.session.data.user_id) || "anon"}`; }
  items() { try { return JSON.parse(localStorage.getItem(this.storeKey) || "[]"); } catch (e) { return []; } }
  _save(list) { localStorage.setItem(this.storeKey, JSON.stringify(list)); this.onChange(list); }
  _update(key, change) { this._save(this.items().map((x) => (x.key === key ? { ...x, ...change } : x))); }
  // Queue a request; returns the item (its key is the Idempotency-Key).
  add(path, body, meta = {}) {
    const item = { key: uuid(), path, body, created: Date.now(), tries: 0, ...meta };
    this._save([...this.items(), item]);
    this.retry = 0; this.flush();
    return item;
  }
  async flush() {
    if (this.busy || !this.session.signedIn) return;
    this.busy = true; clearTimeout(this.timer);
    try {
      for (;;) {
        const item = this.items()[0];
        if (!item) { this.retry = 0; return; }
        try {
          const ctl = new AbortController();
          const stop = setTimeout(() => ctl.abort(), OUTBOX_TIMEOUT_MS);
          let answer;
          try { answer = await this.session.api("POST", item.path, item.body, { "Idempotency-Key": item.key }, false, ctl.signal); }
          finally { clearTimeout(stop); }
          this._save(this.items().filter((x) => x.key !== item.key));
          this.retry = 0;
          try { this.onDone(item, answer); } catch (e) { console.warn("outbox", e); }
        } catch (e) {
          if (transient(e)) {
            this._update(item.key, { tries: (item.tries || 0) + 1, error: e.message || "network" });
            const delay = Math.min(OUTBOX_MAX_BACKOFF_MS, 1000 * 2 ** this.retry++);
            this.timer = setTimeout(() => this.flush(), delay);
            return;
          }
          this._save(this.items().filter((x) => x.key !== item.key));
          try { this.onFail(item, e); } catch (e2) { console.warn("outbox", e2); }
        }
      }
    } finally { this.busy = false; }
  }
}

// ----- sign-in form ------------------------------------------------------------------------
// Inside WeChat's browser, H5 pages sign in through the official account (no password).
export function inWeChat() { return /MicroMessenger/i.test(navigator.userAgent); }

export function wechatSignInUrl(scope = "snsapi_base") {
  return `/api/v1/auth/wechat/authorize?next=${encodeURIComponent(location.pathname)}&scope=${scope}`;
}

// A page WeChat sent back with ?code&state: sign in with them (once: they are taken off the
// address). Returns an error text for the form, or "".
export async function wechatReturn(session) {
  const q = new URLSearchParams(location.search);
  const code = q.get("code"), state = q.get("state");
  if (!code || !state) return "";
  q.delete("code"); q.delete("state");
  history.replaceState(null, "", location.pathname + (q.toString() ? `?${q}` : "") + location.hash);
  try { await session.wechatWeb(code, state); return ""; }
  catch (e) { return t("login_failed", { msg: e.message }); }
}

export function loginForm(session, { hint = "", defaultLogin = "", onDone, error = "", wechat = false }) {
  const err = h("div", { class: "login-error", role: "alert", text: error });
  const user = h("input", { name: "login", autocomplete: "username", value: defaultLogin, required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "login", id: "login-form" },
    h("h2", { text: t("login_title") }),
    h("label", {}, t("login"), user),
    h("label", {}, t("password"), pass),
    h("button", { type: "submit", class: "btn primary" }, t("sign_in")),
    wechat && inWeChat() ? h("a", { class: "btn wechat", id: "wechat-sign-in", href: wechatSignInUrl() }, t("wechat_sign_in")) : null,
    hint ? h("p", { class: "hint", text: hint }) : null,
    err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    try { await session.login(user.value.trim(), pass.value); onDone(); }
    catch (e) { err.textContent = t("login_failed", { msg: e.message }); }
  });
  return form;
}

// ----- time --------------------------------------------------------------------------------
export function clockTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(LANG === "zh" ? "zh-CN" : "en-GB",
    { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "Asia/Shanghai", hour12: false });
}
export function hhmm(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai", hour12: false });
}
export function mmss(seconds) {
  const neg = seconds < 0; const s = Math.abs(Math.round(seconds));
  return `${neg ? "-" : ""}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Server clock offset, learned from the snapshot's "now", so countdowns agree with the server.
let OFFSET_MS = 0;
export function syncClock(serverIso) { if (serverIso) OFFSET_MS = new Date(serverIso).getTime() - Date.now(); }
export function now() { return Date.now() + OFFSET_MS; }

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return "k" + Math.random().toString(36).slice(2) + Date.now().toString(36);
}

export function toast(msg, kind = "info") {
  let box = $("#toasts");
  if (!box) { box = h("div", { id: "toasts" }); document.body.append(box); }
  const el = h("div", { class: `toast ${kind}`, role: "status", text: msg });
  box.append(el);
  setTimeout(() => el.remove(), 4000);
}

// Navigation to a place (GCJ-02, as stored; both apps take it as is): the app's own URI scheme
// (Amap: amapuri:// on Android, iosamap:// on iOS; Tencent: qqmap://), and the web URI API as
// the fallback where the app is missing or the browser (WeChat) will not open a scheme.
export const NAV_SOURCE = "anxin";   // sourceApplication / referer / src the map apps ask for
const AMAP_T = { walk: 2, ebike: 3, car: 0 };              // 0 drive, 2 walk, 3 ride
const AMAP_WEB_MODE = { walk: "walk", ebike: "ride", car: "car" };
const QQ_TYPE = { walk: "walk", ebike: "bike", car: "drive" };
export function navTargets(lat, lng, name, mode = "ebike") {
  const n = encodeURIComponent(name || "");
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent);
  const amapApp = ios
    ? `iosamap://path?sourceApplication=${NAV_SOURCE}&dlat=${lat}&dlon=${lng}&dname=${n}&dev=0&t=${AMAP_T[mode] ?? 3}`
    : `amapuri://route/plan/?sourceApplication=${NAV_SOURCE}&dlat=${lat}&dlon=${lng}&dname=${n}&dev=0&t=${AMAP_T[mode] ?? 3}`;
  return {
    amap: {
      app: amapApp,
      web: `https://uri.amap.com/navigation?to=${lng},${lat},${n}&mode=${AMAP_WEB_MODE[mode] || "ride"}&coordinate=gaode&callnative=1&src=${NAV_SOURCE}`,
    },
    qq: {
      app: `qqmap://map/routeplan?type=${QQ_TYPE[mode] || "bike"}&to=${n}&tocoord=${lat},${lng}&coord_type=2&referer=${NAV_SOURCE}`,
      web: `https://apis.map.qq.com/uri/v1/routeplan?type=${QQ_TYPE[mode] || "bike"}&to=${n}&tocoord=${lat},${lng}&coord_type=2&referer=${NAV_SOURCE}`,
    },
  };
}
