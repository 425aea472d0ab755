/* The agent console: agent state, screen pop on a ringing call, the case form (category search, address
 * search or map click, duplicates), call controls and the agent's recent cases. */
(function () {
  "use strict";
  const { api, esc, hhmm, toast } = window.hotline;
  const $ = (id) => document.getElementById(id);

  const STATE_LABELS = { logged_out: "未签入", ready: "就绪", not_ready: "未就绪", ringing: "振铃中",
                         on_call: "通话中", wrap_up: "话后整理" };
  const REASONS = { break: "小休", training: "培训", meeting: "会议", meal: "用餐", no_answer: "未接听" };
  const REG_LABELS = { online: "软电话：已注册", offline: "软电话：未注册", unknown: "软电话：状态未知" };
  const IVR_KEYS = { "1": "反映问题", "2": "查询进度", "0": "转人工", "#": "结束留言", "9": "回拨" };
  const KIND_LABELS = { door: "门牌", address: "门牌", intersection: "路口", landmark: "地标", compound: "小区",
                        road: "道路", community: "社区", street: "街道" };

  const S = { agent: null, call: null, category: null, place: null, cells: new Map(), stateSince: Date.now() };
  let map;

  // ---- agent ---------------------------------------------------------------------------------------------
  function renderAgent(a) {
    S.agent = a;
    const reg = $("reg-pill");
    if (!a.telephony) { reg.textContent = "未启用电话"; reg.dataset.reg = "off"; }
    else if (!a.extension) { reg.textContent = "软电话：未签入"; reg.dataset.reg = "off"; }
    else { reg.textContent = REG_LABELS[a.registration] || "软电话：状态未知"; reg.dataset.reg = a.registration || "unknown"; }
    if (a.extension) $("ext").value = a.extension;
    const state = a.extension ? (a.state || (a.telephony ? "logged_out" : "ready")) : "logged_out";
    setState(state, a.reason);
    syncPhone(a, false);
  }

  // ---- the browser phone (phone.js): registered while the agent is signed in and chose it ------------------------
  const phone = window.consolePhone || null;
  let phoneFetch = null;
  function syncPhone(a, fresh) {
    if (!phone) return;
    const want = a.webrtc && a.extension && a.state && a.state !== "logged_out" && phone.mode === "browser";
    if (!want) { if (phone.state !== "off") phone.stop(); return; }
    const current = phone.account && phone.account.extension === a.extension;
    if ((current && !fresh) || phoneFetch) return;
    // The server hands out the SIP account only for the extension this user holds; at every sign-in it is
    // fetched again, so a password the administrator rotated is used from the next sign-in on.
    phoneFetch = api("GET", "/api/v1/console/webrtc")
      .then((account) => phone.start(account))
      .catch((e) => toast(`浏览器话机：${e.message}`, "error"))
      .finally(() => { phoneFetch = null; });
  }
  function phoneButtons() {
    if (!phone || !$("btn-answer")) return;
    $("btn-answer").disabled = !phone.ringing;
    $("btn-mute").disabled = $("btn-dtmf").disabled = !phone.inCall;
    $("btn-mute").textContent = phone.muted ? "取消静音" : "静音";
    $("btn-mute").setAttribute("aria-pressed", phone.muted ? "true" : "false");
    if (phone.ringing || phone.inCall) $("btn-hangup").disabled = false;
    if (phone.ringing) $("idle-title").textContent = "来电振铃中，请点击“接听”";
  }
  if (phone) {
    phone.onChange = phoneButtons;
    // Switching between browser phone and desk phone takes effect at once for a signed-in agent.
    document.addEventListener("phonemode", () => { if (S.agent) syncPhone(S.agent, true); });
  }
  function setState(state, reason) {
    const pill = $("state-pill");
    if (pill.dataset.state !== state) S.stateSince = Date.now();
    pill.dataset.state = state;
    pill.textContent = STATE_LABELS[state] + (state === "not_ready" && reason ? `·${REASONS[reason] || reason}` : "");
    const loggedIn = state !== "logged_out";
    $("btn-login").hidden = loggedIn; $("btn-logout").hidden = !loggedIn; $("ext").disabled = loggedIn;
    $("btn-ready").disabled = !["not_ready"].includes(state);
    $("btn-notready").disabled = $("notready-reason").disabled = !["ready", "wrap_up"].includes(state);
    $("btn-endwrap").disabled = state !== "wrap_up";
    const inCall = state === "on_call" || state === "ringing";
    for (const id of ["btn-hold", "btn-transfer", "btn-hangup"]) $(id).disabled = !inCall;
    $("idle-title").textContent = loggedIn ? (state === "ready" ? "等待来电" : STATE_LABELS[state]) : "未签入";
    phoneButtons();
  }
  async function agentAction(action) {
    const extension = $("ext").value;
    if (!extension) { toast("请先选择分机号", "warn"); return; }
    try {
      const a = await api("POST", "/api/v1/console/agent", { action, extension, reason: $("notready-reason").value });
      renderAgent(a);
      if (action === "login") syncPhone(a, true);
    } catch (e) { toast(e.message, "error"); }
  }
  setInterval(() => {
    const s = Math.floor((Date.now() - S.stateSince) / 1000);
    $("state-timer").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }, 1000);

  // ---- screen pop ------------------------------------------------------------------------------------------
  function ivrText(path) {
    if (!path) return "直接转人工";
    return path.split("").map((k) => `${k}（${IVR_KEYS[k] || "按键"}）`).join(" → ");
  }
  function showPop(data, at) {
    // Paint first (the pop must be visible within a second), look things up afterwards.
    S.call = { id: data.call_id, caller: data.caller, at };
    $("pop-number").textContent = data.caller || "未知号码";
    $("pop-ivr").textContent = ivrText(data.ivr_path || data.dtmf_path);
    $("pop-time").textContent = hhmm(at);
    $("pop-live").textContent = "（等待语音…）";
    $("pop-hints").hidden = true; $("pop-repeat").hidden = true; $("pop-recording-block").hidden = true;
    $("pop-history").innerHTML = '<li class="muted">查询中…</li>';
    const pop = $("screen-pop");
    pop.dataset.callId = data.call_id || "";
    pop.hidden = false; $("idle-card").hidden = true;
    pop.classList.remove("flash"); void pop.offsetWidth; pop.classList.add("flash");
    $("form-call").textContent = data.call_id ? `关联通话 ${data.call_id}` : "";
    if (data.caller && !$("f-phone").value) $("f-phone").value = data.caller;
    if (window.__onScreenPop) window.__onScreenPop(data);
    if (data.caller && /^\+?[0-9-]{3,20}$/.test(data.caller)) loadHistory(data.caller, data.call_id);
    if (data.call_id) loadCall(data.call_id);
  }
  async function loadHistory(phone, callId) {
    try {
      const h = await api("GET", `/api/v1/console/caller?phone=${encodeURIComponent(phone)}&call_id=${encodeURIComponent(callId || "")}`);
      $("pop-repeat").hidden = !h.repeat;
      const earlier = h.calls;
      const rows = h.cases.map((c) => `<li><a href="/case/${esc(c.case_no)}" target="_blank">${esc(c.case_no)}</a>
        <span class="tag s-${esc(c.state)}">${esc(c.state_label)}</span> ${esc(c.category.name || "")}
        <div class="muted small">${esc(hhmm(c.created_at))} · ${esc(c.address || "")}</div></li>`);
      rows.push(...earlier.map((c) => `<li><span class="muted">通话</span> ${esc(hhmm(c.arrived_at))}
        ${c.case_no ? esc(c.case_no) : ""} <span class="muted small">${esc(c.outcome || "")}</span></li>`));
      $("pop-history").innerHTML = rows.join("") || '<li class="muted">首次来电，无历史记录</li>';
    } catch (e) { $("pop-history").innerHTML = `<li class="muted">${esc(e.message)}</li>`; }
  }
  async function loadCall(callId) {
    try {
      const c = await api("GET", `/api/v1/calls/${encodeURIComponent(callId)}`);
      if (c.dtmf_path) $("pop-ivr").textContent = ivrText(c.dtmf_path);
      if (c.description_recording) {
        $("pop-recording-block").hidden = false;
        $("pop-audio").src = `/api/v1/calls/${encodeURIComponent(callId)}/recording`;
      }
    } catch (e) { /* the call may not be stored yet or telephony is off: the pop shows what it has */ }
    try {
      const t = await api("GET", `/api/v1/transcriptions?call_id=${encodeURIComponent(callId)}`);
      const item = (t.items || [])[0];
      if (item && item.text) {
        $("pop-recording-block").hidden = false;
        $("pop-recording-text").textContent = item.text;
        prefillDescription(item.text);
        showHints(item);
      }
    } catch (e) { /* no transcript for this call */ }
  }
  // Speech of the current call: live segments per speaker, the IVR description with its suggestions.
  const SPEAKER = { caller: "市民", agent: "坐席" };
  function onSpeech(kind, d) {
    if (kind === "segment" || kind === "final") {
      if (!d.text || d.is_final === false) return;
      const who = SPEAKER[d.speaker] ? `${SPEAKER[d.speaker]}：` : "";
      const live = $("pop-live");
      const before = live.textContent.startsWith("（") ? "" : live.textContent + "\n";  // placeholder goes
      live.textContent = before + who + d.text;
      if (d.speaker !== "agent") prefillDescription(d.text);
    } else if (kind === "description" && d.text) {
      $("pop-recording-block").hidden = false;
      $("pop-recording-text").textContent = d.text;
      prefillDescription(d.text);
    }
    showHints(d);
  }
  function prefillDescription(text) { if (text && !$("f-desc").value.trim()) $("f-desc").value = text; }
  function showHints(h) {
    const list = [];
    const cat = h.category || h.suggested_category || h.suggested_class ||
      (h.suggested_class_code ? { code: h.suggested_class_code, name: h.suggested_class_name } : null);
    const found = h.place || h.suggested_place;
    const place = found ? { ...found, label: found.label || found.address || found.road || "" } : null;
    if (cat && cat.code) list.push(`<button type="button" class="sugg" data-cat="${esc(cat.code)}" data-name="${esc(cat.name || "")}">类别：${esc(cat.name || cat.code)}</button>`);
    if (place && place.lat != null) list.push(`<button type="button" class="sugg" data-lat="${place.lat}" data-lon="${place.lon}" data-label="${esc(place.label || "")}">地点：${esc(place.label || "")}</button>`);
    if (!list.length) return;
    $("pop-hints").hidden = false; $("pop-hint-list").innerHTML = list.join("");
  }
  function endPop() {
    if (S.call) S.call.ended = true;
    $("btn-hold").textContent = "保持";
    $("pop-live").textContent += "（通话已结束）";
  }

  // ---- category picker -----------------------------------------------------------------------------------
  let catTimer = null, catItems = [], catActive = -1;
  function searchCategories() {
    const q = $("f-cat-q").value.trim();
    clearTimeout(catTimer);
    if (!q) { hideList("cat-list"); return; }
    catTimer = setTimeout(async () => {
      try {
        catItems = (await api("GET", `/api/v1/categories/search?q=${encodeURIComponent(q)}&limit=12`)).items;
        catActive = catItems.length ? 0 : -1;
        renderCatList();
      } catch (e) { toast(e.message, "error"); }
    }, 120);
  }
  function renderCatList() {
    const ul = $("cat-list");
    ul.innerHTML = catItems.length ? catItems.map((c, i) => `<li role="option" data-i="${i}" class="${i === catActive ? "active" : ""}">
      <span class="code">${esc(c.code)}</span> <b>${esc(c.name)}</b> <span class="muted small">${esc(c.kind)} · ${esc(c.major_name)}</span></li>`).join("")
      : '<li class="muted">没有匹配的类别</li>';
    ul.hidden = false; $("f-cat-q").setAttribute("aria-expanded", "true");
  }
  function hideList(id) { $(id).hidden = true; }
  function chooseCategory(c) {
    S.category = c;
    $("f-cat-q").value = "";
    $("f-cat-chosen").hidden = false;
    $("f-cat-chosen").innerHTML = `<span class="code">${esc(c.code)}</span> ${esc(c.kind || "")} · ${esc(c.major_name || "")} · <b>${esc(c.name)}</b> <a href="#" class="link-sm" id="cat-clear">更换</a>`;
    hideList("cat-list");
    checkDuplicates();
  }

  // ---- location ------------------------------------------------------------------------------------------
  let geoItems = [];
  async function geocode() {
    const q = $("f-address").value.trim();
    if (!q) return;
    try {
      geoItems = (await api("GET", `/api/v1/geocode?q=${encodeURIComponent(q)}&limit=6`)).candidates;
      $("geo-list").innerHTML = geoItems.length ? geoItems.map((c, i) => `<li data-i="${i}"><b>${esc(c.label)}</b>
        <span class="tag">${esc(KIND_LABELS[c.kind] || c.kind)}</span> <span class="conf">${Math.round(c.confidence * 100)}%</span>
        <div class="muted small">${esc((c.place && c.place.label) || "")}</div></li>`).join("") : '<li class="muted">没有找到该地址，请在地图上点选</li>';
      $("geo-list").hidden = false;
    } catch (e) { toast(e.message, "error"); }
  }
  async function setLocation(lat, lon, label) {
    S.place = { lat, lon, address: label || null };
    map.setMarker(lat, lon);
    if (label) $("f-address").value = label;
    $("f-place").innerHTML = `<span class="muted">定位中…</span>`;
    try {
      const cell = await api("GET", `/api/v1/grid/locate?lat=${lat}&lon=${lon}`);
      S.place.cell = cell.cell_code;
      map.setHighlight(S.cells.get(cell.cell_code) || null);
      const duty = cell.duty_grid ? ` · 责任网格 ${esc(cell.duty_grid.name || cell.duty_grid.code || "")}` : "";
      $("f-place").innerHTML = `<span class="tag cell">单元网格 ${esc(cell.cell_code)}</span> ${esc(cell.place.label || "")}${duty}
        <div class="muted small">${lat.toFixed(6)}, ${lon.toFixed(6)}</div>`;
    } catch (e) {
      map.setHighlight(null);
      $("f-place").innerHTML = `<span class="tag warn">${esc(e.message)}</span>`;
    }
    if (!label) {
      try {
        const r = await api("GET", `/api/v1/reverse-geocode?lat=${lat}&lon=${lon}`);
        if (r.address && !$("f-address").value.trim()) $("f-address").value = r.address;
        S.place.address = r.address;
      } catch (e) { /* keep the typed address */ }
    }
    checkDuplicates();
  }
  async function checkDuplicates() {
    if (!S.category || !S.place) { $("dups").hidden = true; return; }
    try {
      const d = await api("GET", `/api/v1/console/duplicates?category=${S.category.code}&lat=${S.place.lat}&lon=${S.place.lon}&radius=200`);
      $("dups").hidden = !d.items.length;
      $("dup-list").innerHTML = d.items.map((c) => `<li><a href="/case/${esc(c.case_no)}" target="_blank">${esc(c.case_no)}</a>
        <span class="tag s-${esc(c.state)}">${esc(c.state_label)}</span> 相距 ${c.distance_m} 米 · ${esc(c.address || "")}
        <div class="muted small">${esc((c.description || "").slice(0, 60))}</div></li>`).join("");
    } catch (e) { $("dups").hidden = true; }
  }

  // ---- create and accept ------------------------------------------------------------------------------------
  async function submitCase(ev) {
    ev.preventDefault();
    const msg = $("form-msg");
    const desc = $("f-desc").value.trim();
    const missing = [!S.category && "问题类别", !S.place && !$("f-address").value.trim() && "事发地址", !desc && "问题描述"].filter(Boolean);
    if (missing.length) { msg.className = "form-msg error"; msg.textContent = `请填写：${missing.join("、")}`; return; }
    const body = { source: "hotline", description: desc, category_code: S.category.code, accept: true,
                   address: $("f-address").value.trim() || null };
    const phone = $("f-phone").value.trim(), name = $("f-name").value.trim();
    if (phone) body.caller_phone = phone;
    if (name) body.caller_name = name;
    if (S.place) { body.lat = S.place.lat; body.lon = S.place.lon; }
    if (S.call && S.call.id) body.call_id = S.call.id;
    $("btn-create").disabled = true;
    try {
      const c = await api("POST", "/api/v1/cases", body);
      msg.className = "form-msg ok";
      msg.innerHTML = `已新建并受理：<a href="/case/${esc(c.case_no)}" id="created-case">${esc(c.case_no)}</a>（${esc(c.state_label)}）`;
      toast(`案件 ${c.case_no} 已受理`, "ok");
      map.upsertCase({ case_no: c.case_no, lat: c.lat, lon: c.lon, light: null, state_label: c.state_label,
                       category: c.category.name, address: c.address });
      clearForm(false);
      loadMyCases();
    } catch (e) { msg.className = "form-msg error"; msg.textContent = e.message; }
    finally { $("btn-create").disabled = false; }
  }
  function clearForm(clearMsg) {
    S.category = null; S.place = null;
    for (const id of ["f-cat-q", "f-address", "f-desc", "f-name"]) $(id).value = "";
    if (!S.call || S.call.ended) $("f-phone").value = "";
    $("f-cat-chosen").hidden = true; $("dups").hidden = true;
    $("f-place").innerHTML = '<span class="muted">尚未定位</span>';
    map.setMarker(null); map.setHighlight(null);
    if (clearMsg !== false) $("form-msg").textContent = "";
  }

  // ---- lists ---------------------------------------------------------------------------------------------
  async function loadMyCases() {
    try {
      const r = await api("GET", "/api/v1/console/my-cases");
      $("my-cases").innerHTML = r.items.map((c) => `<li><a href="/case/${esc(c.case_no)}">${esc(c.case_no)}</a>
        <span class="tag s-${esc(c.state)}">${esc(c.state_label)}</span> ${esc(c.category.name || "")}
        <div class="muted small">${esc(hhmm(c.created_at))} · ${esc(c.address || "")}</div></li>`).join("") || '<li class="muted">暂无案件</li>';
    } catch (e) { $("my-cases").innerHTML = `<li class="muted">${esc(e.message)}</li>`; }
  }
  async function loadInspectorReports() {  // reports from the inspectors' phones (城管通) waiting for 受理
    try {
      const r = await api("GET", "/api/v1/cases?state=reported&per_page=50");
      const items = r.items.filter((c) => c.source === "inspector");
      $("inspector-reports").innerHTML = items.map((c) => `<li><a href="/case/${esc(c.case_no)}">${esc(c.case_no)}</a>
        ${esc(c.category.name || "")} <span class="tag cell">单元网格 ${esc(c.cell_code || "—")}</span>
        <div class="muted small">${esc(hhmm(c.created_at))} · ${esc(c.created_by)} · ${esc(c.address || "")}</div></li>`).join("")
        || '<li class="muted">暂无待受理的监督员上报</li>';
    } catch (e) { $("inspector-reports").innerHTML = `<li class="muted">${esc(e.message)}</li>`; }
  }
  async function loadMap() {
    const [cells, roads, comps, cases] = await Promise.allSettled([
      api("GET", "/api/v1/grid/cells"), api("GET", "/api/v1/map/roads"),
      api("GET", "/api/v1/map/components"), api("GET", "/api/v1/map/cases")]);
    if (roads.status === "fulfilled") map.setRoads(roads.value);
    if (cells.status === "fulfilled") {
      for (const f of cells.value.features) S.cells.set(f.properties.code, f);
      map.setCells(cells.value);
    }
    if (comps.status === "fulfilled") map.setComponents(comps.value.items);
    if (cases.status === "fulfilled") map.setCases(cases.value.items);
    document.body.dataset.mapReady = "1";
  }

  // ---- call controls -------------------------------------------------------------------------------------
  async function callAction(path, body, done) {
    if (!S.call || !S.call.id) { toast("当前没有通话", "warn"); return null; }
    try {
      const r = await api("POST", `/api/v1/calls/${encodeURIComponent(S.call.id)}/${path}`, body || {});
      toast(typeof done === "function" ? done(r) : done, "ok");
      return r;
    } catch (e) { toast(e.message, "error"); return null; }
  }
  async function toggleHold() {
    const r = await callAction("hold", {}, (x) => (x.held ? "已保持通话，市民正在听等待音乐" : "已恢复通话"));
    if (r) { $("btn-hold").textContent = r.held ? "恢复" : "保持"; $("btn-hold").dataset.held = r.held ? "1" : ""; }
  }
  async function dial() {
    const to = $("dial-to").value.trim();
    if (!/^\+?[0-9]{3,20}$/.test(to)) { toast("请输入正确的电话号码", "warn"); return; }
    try { await api("POST", "/api/v1/calls/originate", { number: to, extension: $("ext").value || undefined }); toast(`正在呼叫 ${to}`, "ok"); }
    catch (e) { toast(e.message, "error"); }
  }

  // ---- live events ---------------------------------------------------------------------------------------
  function onEvent(ev) {
    const d = ev.data || {};
    if (ev.topic === "call") {
      if (ev.kind === "ringing" || (ev.kind === "answered" && (!S.call || S.call.id !== d.call_id))) showPop(d, ev.at);
      if (ev.kind === "ended" && S.call && S.call.id === d.call_id) endPop();
    } else if (ev.topic === "agent" && S.agent && d.agent_id === S.agent.extension) {
      setState(d.new, d.reason);
    } else if ((ev.topic === "speech" || ev.topic === "transcript") && S.call && d.call_id === S.call.id) {
      onSpeech(ev.kind, d);
    } else if (ev.topic === "case") {
      if (d.actor === (S.agent && S.agent.username)) loadMyCases();
      loadInspectorReports();
    }
  }

  // ---- wiring --------------------------------------------------------------------------------------------
  function wire() {
    $("btn-login").onclick = () => agentAction("login");
    $("btn-logout").onclick = () => agentAction("logout");
    $("btn-ready").onclick = () => agentAction("ready");
    $("btn-notready").onclick = () => agentAction("not_ready");
    $("btn-endwrap").onclick = () => agentAction("end_wrap_up");
    $("btn-hold").onclick = toggleHold;
    $("btn-transfer").onclick = () => {
      const target = $("transfer-to").value.trim();
      if (!target) { toast("请输入转接的分机或号码", "warn"); return; }
      const kind = S.agent && S.agent.extensions.includes(target) ? "agent" : "number";
      callAction("transfer", { kind, target }, `正在转接至 ${target}`);
    };
    $("btn-hangup").onclick = async () => {
      if (phone && phone.ringing) { phone.hangup(); toast("已拒接", "ok"); return; }  // the call is offered again
      const done = S.call && S.call.id ? await callAction("hangup", {}, "已挂断") : null;
      if (done) return;
      if (phone && phone.hangup()) { toast("已挂断", "ok"); return; }
      if (!S.call || !S.call.id) toast("当前没有通话", "warn");
    };
    if ($("btn-answer")) {
      $("btn-answer").onclick = async () => { if (!(await phone.answer())) toast("没有振铃中的来电", "warn"); };
      $("btn-mute").onclick = () => {
        const muted = phone.toggleMute();
        if (muted !== null) toast(muted ? "已静音：市民听不到您的声音" : "已取消静音", "ok");
      };
      $("btn-dtmf").onclick = () => {
        const keys = $("dtmf-keys").value.trim();
        if (phone.dtmf(keys)) { toast(`已发送按键 ${keys}`, "ok"); $("dtmf-keys").value = ""; }
        else toast("请输入按键：0-9、*、#", "warn");
      };
    }
    $("btn-dial").onclick = dial;
    $("my-refresh").onclick = (e) => { e.preventDefault(); loadMyCases(); };
    $("f-cat-q").addEventListener("input", searchCategories);
    $("f-cat-q").addEventListener("keydown", (e) => {
      if ($("cat-list").hidden || !catItems.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        catActive = (catActive + (e.key === "ArrowDown" ? 1 : -1) + catItems.length) % catItems.length;
        renderCatList();
      } else if (e.key === "Enter") { e.preventDefault(); chooseCategory(catItems[Math.max(0, catActive)]); }
      else if (e.key === "Escape") hideList("cat-list");
    });
    $("cat-list").addEventListener("mousedown", (e) => {
      const li = e.target.closest("li[data-i]"); if (li) { e.preventDefault(); chooseCategory(catItems[+li.dataset.i]); }
    });
    $("f-cat-chosen").addEventListener("click", (e) => {
      if (e.target.id === "cat-clear") { e.preventDefault(); S.category = null; $("f-cat-chosen").hidden = true; $("f-cat-q").focus(); }
    });
    $("f-address").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); geocode(); } });
    $("btn-geocode").onclick = geocode;
    $("geo-list").addEventListener("mousedown", (e) => {
      const li = e.target.closest("li[data-i]"); if (!li) return;
      e.preventDefault();
      const c = geoItems[+li.dataset.i];
      hideList("geo-list");
      setLocation(c.lat, c.lon, c.label);
      map.centerOn(c.lat, c.lon, 0.8);
    });
    document.addEventListener("click", (e) => { if (!e.target.closest(".combo")) { hideList("cat-list"); hideList("geo-list"); } });
    $("pop-hint-list").addEventListener("click", (e) => {
      const b = e.target.closest(".sugg"); if (!b) return;
      if (b.dataset.cat) api("GET", `/api/v1/categories/search?q=${b.dataset.cat}&limit=1`).then((r) => r.items[0] && chooseCategory(r.items[0]));
      if (b.dataset.lat) setLocation(+b.dataset.lat, +b.dataset.lon, b.dataset.label);
    });
    $("case-form").addEventListener("submit", submitCase);
    $("btn-clear").onclick = () => clearForm(true);
  }

  async function start() {
    map = new VectorMap($("map"), { onClick: (lat, lon) => setLocation(lat, lon, null),
                                     onCaseClick: (c) => window.open(`/case/${c.case_no}`, "_blank") });
    window.consoleMap = map;
    wire();
    const live = new LiveLink({
      onEvent,
      onStatus: (up) => {
        const dot = $("live-dot");
        dot.dataset.up = up ? "1" : "0"; dot.textContent = up ? "实时连接正常" : "实时连接中断，正在重连…";
        if (up) api("GET", "/api/v1/console/agent").then(renderAgent).catch(() => {});
      },
    });
    window.consoleLive = live;
    live.start();
    // The softphone's registration can change at any time; Asterisk publishes no event we forward for it.
    setInterval(() => api("GET", "/api/v1/console/agent").then(renderAgent).catch(() => {}), 10000);
    loadMyCases();
    loadInspectorReports();
    loadMap().catch((e) => toast(`地图加载失败：${e.message}`, "error"));
  }
  start();
})();
