/* The command-centre wallboard: queue figures, agent states with listen/whisper/barge, today's cases by
 * state, the red and yellow lists and a map of open cases; refreshed by live events and every 30 s. */
(function () {
  "use strict";
  const { api, esc, hhmm, toast } = window.hotline;
  const $ = (id) => document.getElementById(id);
  const STATE_LABELS = { logged_out: "未签入", ready: "就绪", not_ready: "未就绪", ringing: "振铃中",
                         on_call: "通话中", wrap_up: "话后整理" };
  const REASONS = { break: "小休", training: "培训", meeting: "会议", meal: "用餐", no_answer: "未接听" };
  const MODES = { listen: "监听", whisper: "耳语", barge: "强插" };
  let map, summary = null, timer = null;

  function kpi(id, value, sub) {
    const el = $(id);
    el.querySelector("[data-v]").textContent = value;
    const s = el.querySelector("[data-s]");
    if (s && sub !== undefined) s.textContent = sub;
  }
  function mmss(s) { return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(Math.floor(s % 60)).padStart(2, "0")}`; }

  function renderSummary(d) {
    summary = d;
    summary.loadedAt = Date.now();
    const q = d.queue, c = d.calls;
    kpi("kpi-waiting", q.enabled ? q.waiting : "—");
    $("kpi-waiting").classList.toggle("alert", q.waiting > 0);
    tickLongest();
    kpi("kpi-sl", c.service_level == null ? "—" : `${c.service_level}%`, `${c.answered_within_target} / ${c.offered} 通`);
    kpi("kpi-calls", `${c.total} / ${c.answered}`, "通");
    kpi("kpi-abandoned", c.abandoned);
    const signed = q.agents.filter((a) => a.state !== "logged_out").length;
    kpi("kpi-agents", q.enabled ? `${q.ready} / ${signed}` : "—", q.enabled ? `共 ${q.agents.length} 个分机` : "未启用电话");
    const open = d.open.reduce((n, s) => n + s.count, 0);
    kpi("kpi-cases", d.cases_today_total, `在办 ${open} 件`);
    const t = d.trunk;
    kpi("kpi-trunk", t.monitored ? t.label : "未监测", t.since ? `自 ${hhmm(t.since)}` : "");
    $("kpi-trunk").classList.toggle("alert", t.state === "down");
    renderAgents(q);
    renderQueue(q);
    renderBars(d.cases_today);
  }
  function tickLongest() {
    if (!summary) return;
    const q = summary.queue;
    const extra = q.waiting ? (Date.now() - summary.loadedAt) / 1000 : 0;
    kpi("kpi-longest", q.enabled ? mmss(q.longest_wait_s + extra) : "—");
    $("kpi-longest").classList.toggle("alert", q.longest_wait_s + extra > 60);
  }
  function renderAgents(q) {
    const body = $("agents-table").querySelector("tbody");
    if (!q.enabled) { body.innerHTML = '<tr><td colspan="4" class="empty">未启用电话平台</td></tr>'; return; }
    const rows = q.agents.map((a) => {
      const reason = a.state === "not_ready" && a.reason ? `·${REASONS[a.reason] || a.reason}` : "";
      const buttons = a.call_id && a.state === "on_call" ? Object.entries(MODES).map(([m, label]) =>
        `<button type="button" class="cbtn sm" data-call="${esc(a.call_id)}" data-mode="${m}">${label}</button>`).join("") : "";
      return `<tr><td class="mono">${esc(a.agent_id)}</td><td><span class="pill" data-state="${esc(a.state)}">${STATE_LABELS[a.state] || esc(a.state)}${esc(reason)}</span></td>
        <td class="mono small" title="${esc(a.call_id || "")}">${esc((a.call_id || "").slice(0, 8))}</td><td class="sup">${buttons}</td></tr>`;
    });
    body.innerHTML = rows.join("") || '<tr><td colspan="4" class="empty">没有坐席</td></tr>';
  }
  function renderQueue(q) {
    const now = Date.now();
    $("queue-list").innerHTML = q.calls.map((c) => `<li><span class="mono">${esc(c.caller)}</span>
      <span class="tag">第 ${c.position} 位</span>${c.callback ? ' <span class="tag warn">待回拨</span>' : ""}
      <span class="muted small">等待 ${mmss((now - new Date(c.arrived_at).getTime()) / 1000)}</span></li>`).join("") || '<li class="muted">无排队来电</li>';
  }
  function renderBars(states) {
    const max = Math.max(1, ...states.map((s) => s.count));
    $("state-bars").innerHTML = states.map((s) => `<div class="bar"><span class="bar-label">${esc(s.label)}</span>
      <span class="bar-track"><i class="bar-fill s-${esc(s.state)}" style="width:${(100 * s.count / max).toFixed(1)}%"></i></span>
      <span class="bar-value">${s.count}</span></div>`).join("");
  }
  async function loadLight(light) {
    try {
      const r = await api("GET", `/api/v1/cases?light=${light}&per_page=50`);
      $(`${light}-count`).textContent = r.total;
      kpi(`kpi-${light}`, r.total);
      $(`${light}-list`).innerHTML = r.items.map((c) => `<li class="light-${light}-row"><a href="/case/${esc(c.case_no)}">${esc(c.case_no)}</a>
        <span class="tag s-${esc(c.state)}">${esc(c.state_label)}</span> ${esc(c.category.name || "")}
        <div class="muted small">${esc(c.department ? c.department.name : "未派遣")} · ${esc(c.address || "")} · ${esc(hhmm(c.created_at))}</div></li>`).join("")
        || `<li class="muted">暂无${light === "red" ? "超期" : "预警"}案件</li>`;
    } catch (e) { $(`${light}-list`).innerHTML = `<li class="muted">${esc(e.message)}</li>`; }
  }
  async function loadCases() {
    try {
      const r = await api("GET", "/api/v1/map/cases");
      map.setCases(r.items);
      $("map-count").textContent = `共 ${r.items.length} 件在办`;
    } catch (e) { toast(`案件地图加载失败：${e.message}`, "error"); }
  }
  async function loadInspectors() {  // inspectors on duty, at the last position their phone sent
    try {
      const r = await api("GET", "/api/v1/inspector/positions/latest");
      map.setPeople(r.items.map((p) => Object.assign({}, p, { label: p.username })));
    } catch (e) { /* the map without them */ }
  }
  async function refresh() {
    try { renderSummary(await api("GET", "/api/v1/wallboard/summary")); }
    catch (e) { toast(e.message, "error"); }
    loadLight("red"); loadLight("yellow"); loadInspectors();
  }
  function soon(alsoCases) {
    clearTimeout(timer);
    timer = setTimeout(() => { refresh(); if (alsoCases) loadCases(); }, 300);
  }
  async function supervise(callId, mode) {
    const extension = $("sup-ext").value.trim() || undefined;
    try {
      await api("POST", `/api/v1/calls/${encodeURIComponent(callId)}/supervise`, { mode, extension });
      toast(`已发起${MODES[mode]}，请接听分机 ${extension || ""}`, "ok");
    } catch (e) { toast(e.message, "error"); }
  }

  async function start() {
    map = new VectorMap($("map"), { onCaseClick: (c) => window.open(`/case/${c.case_no}`, "_blank") });
    window.wallMap = map;
    const [cells, roads] = await Promise.allSettled([api("GET", "/api/v1/grid/cells"), api("GET", "/api/v1/map/roads")]);
    if (roads.status === "fulfilled") map.setRoads(roads.value);
    if (cells.status === "fulfilled") map.setCells(cells.value);
    $("agents-table").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-mode]"); if (b) supervise(b.dataset.call, b.dataset.mode);
    });
    new LiveLink({
      onEvent: (ev) => {
        if (ev.topic === "trunk") toast(ev.data.message, ev.kind === "down" ? "error" : "ok");
        soon(ev.topic === "case");
      },
      onStatus: (up) => {
        const dot = $("live-dot");
        dot.dataset.up = up ? "1" : "0"; dot.textContent = up ? "实时连接正常" : "实时连接中断，正在重连…";
        if (up) soon(true);
      },
    }).start();
    await Promise.all([refresh(), loadCases()]);
    document.body.dataset.ready = "1";
    setInterval(refresh, 30000);
    const tick = () => {
      tickLongest();
      $("wall-clock").textContent = new Date().toLocaleString("zh-CN", { hour12: false });
    };
    tick();
    setInterval(tick, 1000);
  }
  start();
})();
