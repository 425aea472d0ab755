/* Live events from /ws: reconnects by itself with exponential backoff (0.5 s doubling to 30 s, with jitter)
 * and tells the page when the link is up or down. Usage:
 *   const live = new LiveLink({onEvent: (ev) => ..., onStatus: (up) => ...}); live.start(); */
(function (global) {
  "use strict";

  class LiveLink {
    constructor(options) {
      this.opts = Object.assign({ path: "/ws", onEvent: () => {}, onStatus: () => {}, onPong: null,
                                  minDelay: 500, maxDelay: 30000 }, options || {});
      this.delay = this.opts.minDelay;
      this.ws = null;
      this.stopped = false;
      this.attempts = 0;
    }
    url() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      return `${proto}//${location.host}${this.opts.path}`;
    }
    start() { this.stopped = false; this._connect(); return this; }
    stop() { this.stopped = true; if (this.ws) this.ws.close(); }
    send(obj) { if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(obj)); return true; } return false; }
    _connect() {
      let ws;
      try { ws = new WebSocket(this.url()); } catch (e) { this._retry(); return; }
      this.ws = ws;
      ws.onopen = () => { this.delay = this.opts.minDelay; this.attempts = 0; this.opts.onStatus(true); };
      ws.onmessage = (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch (e) { return; }
        if (msg.type === "event") this.opts.onEvent(msg);
        else if (msg.type === "pong" && this.opts.onPong) this.opts.onPong(msg);
        else if (msg.type === "hello" && this.opts.onHello) this.opts.onHello(msg);
      };
      ws.onclose = () => { this.opts.onStatus(false); if (!this.stopped) this._retry(); };
      ws.onerror = () => { /* onclose follows */ };
    }
    _retry() {
      this.attempts += 1;
      const wait = Math.min(this.opts.maxDelay, this.delay) * (0.8 + Math.random() * 0.4);
      this.delay = Math.min(this.opts.maxDelay, this.delay * 2);
      setTimeout(() => { if (!this.stopped) this._connect(); }, wait);
    }
  }

  /* Shared helpers for the consoles: JSON calls with the CSRF token, escaping, time formatting. */
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) return meta.content;
    const m = document.cookie.match(/(?:^|;\s*)(?:csrf_token|csrftoken|_csrf)=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function api(method, url, body) {
    const headers = { "Accept": "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    const res = await fetch(url, init);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error && data.error.message) || `请求失败（${res.status}）`);
      err.status = res.status; err.code = data && data.error && data.error.code;
      throw err;
    }
    return data;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  // Times come from the server in the site's own zone with its offset ("2026-03-02T09:30:00+08:00"): show the
  // wall-clock time of the site as written, whatever zone the browser is in (a laptop set to UTC must not
  // show 01:30 for a call at 09:30 in Haiyan).
  function hhmm(iso) {
    if (!iso) return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::[\d.]+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(String(iso));
    if (!m) return String(iso);
    const zone = m[6] || "Z";
    const offsetMin = zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    const siteToday = new Date(Date.now() + offsetMin * 60000).toISOString().slice(0, 10);
    const day = `${m[1]}-${m[2]}-${m[3]}` === siteToday ? "" : `${Number(m[2])}月${Number(m[3])}日 `;
    return `${day}${m[4]}:${m[5]}`;
  }
  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) { box = document.createElement("div"); box.id = "toasts"; document.body.appendChild(box); }
    const t = document.createElement("div");
    t.className = `toast ${kind || "info"}`; t.textContent = text; t.setAttribute("role", "status");
    box.appendChild(t);
    setTimeout(() => t.remove(), 5000);
  }

  global.LiveLink = LiveLink;
  global.hotline = { api, esc, hhmm, toast, csrfToken };
})(window);
