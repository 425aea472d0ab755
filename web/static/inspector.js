/* 城管通: the inspector's phone app. Home (tasks, duty, today's numbers, my duty grid), patrol reports and
 * on-site answers with photos and GPS. Every submission goes through one queue in IndexedDB (photos as
 * Blobs), is sent in order when the network is there, with its own Idempotency-Key, and is deleted only once
 * the server has answered: nothing typed or photographed is lost, nothing is stored twice. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const ME = document.body.dataset.user;
  const MAX_SIDE = 1600;  // photos are downscaled to this many pixels on the long side before upload
  const S = {
    home: null, cats: [], majors: [], fix: null, gpsDenied: false, onDuty: false, posTimer: null, sending: false,
    report: { cat: null, photos: [], pos: null, moved: false, component: null },
    task: null, answer: { photos: [], choice: null }, voice: null,
  };
  let homeMap = null, reportMap = null;

  // ---- small helpers --------------------------------------------------------------------------------
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function toast(text, kind) {
    const t = document.createElement("div");
    t.className = `toast ${kind || ""}`; t.textContent = text; t.setAttribute("role", "status");
    $("toasts").appendChild(t);
    setTimeout(() => t.remove(), 6000);
  }
  function hhmm(iso) {
    if (!iso) return "";
    const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
    const day = d.toDateString() === new Date().toDateString() ? "今天 " : `${d.getMonth() + 1}月${d.getDate()}日 `;
    return `${day}${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  function metres(lat1, lon1, lat2, lon2) {
    const k = 111320 * Math.cos(((lat1 + lat2) / 2) * Math.PI / 180);
    return Math.hypot((lon1 - lon2) * k, (lat1 - lat2) * 110574);
  }
  function distText(m) { return m == null ? "" : m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`; }
  const LIGHTS = { green: "正常", yellow: "预警", red: "超期" };
  function light(l) { return l ? `<span class="badge light-${esc(l)}"><span class="dot"></span>${LIGHTS[l] || esc(l)}</span>` : ""; }
  function csrf() { const m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function apiError(res, data) {
    const e = new Error((data && data.error && data.error.message) || `请求失败（${res.status}）`);
    e.status = res.status; e.code = data && data.error && data.error.code;
    return e;
  }
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    const res = await fetch(url, init);
    const data = await res.json().catch(() => null);
    if (!res.ok) throw apiError(res, data);
    return data;
  }

  // ---- the queue in IndexedDB ----------------------------------------------------------------------------
  const DB = {
    db: null,
    open() {
      if (this.db) return Promise.resolve(this.db);
      return new Promise((resolve, reject) => {
        const req = indexedDB.open("hotline-inspector", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "key" });
        req.onsuccess = () => { this.db = req.result; resolve(this.db); };
        req.onerror = () => reject(req.error);
      });
    },
    async run(mode, fn) {
      const db = await this.open();
      return new Promise((resolve, reject) => {
        const tx = db.transaction("queue", mode);
        const out = fn(tx.objectStore("queue"));
        tx.oncomplete = () => resolve(out && out.result !== undefined ? out.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error("存储失败（手机存储空间不足？）"));
      });
    },
    all() { return this.run("readonly", (s) => s.getAll()).then((items) => (items || []).filter((i) => i.user === ME).sort((a, b) => a.seq - b.seq)); },
    put(item) { return this.run("readwrite", (s) => s.put(item)); },
    del(key) { return this.run("readwrite", (s) => s.delete(key)); },
  };
  let seq = 0;
  async function enqueue(kind, data, photos, label) {
    const item = { key: newKey(), seq: Date.now() * 1000 + (seq++ % 1000), user: ME, kind, data, label,
                   photos: photos.map((p, i) => ({ blob: p.blob, name: `photo${i + 1}.jpg` })),
                   created_at: new Date().toISOString(), error: null };
    await DB.put(item);  // stored before anything is sent: a crash or a dead network loses nothing
    await renderQueue();
    flush();
    return item;
  }
  const URLS = { report: "/api/v1/inspector/reports", answer: "/api/v1/inspector/answers" };

  async function flush() {
    if (S.sending || !navigator.onLine) return;
    S.sending = true;
    let sentAny = false;
    try {
      for (const item of await DB.all()) {
        if (item.error) continue;  // refused: waits for the inspector (retry or delete), later ones go on
        const form = new FormData();
        form.append("data", JSON.stringify(item.data));
        for (const p of item.photos) form.append("photos", p.blob, p.name);
        let res;
        try {
          res = await fetch(URLS[item.kind], { method: "POST", body: form, credentials: "same-origin",
            headers: { "Idempotency-Key": item.key, "X-CSRF-Token": csrf(), Accept: "application/json" } });
        } catch (e) { setNet(false); break; }  // no network: stop here, the order is kept
        const data = await res.json().catch(() => null);
        if (res.ok) { await DB.del(item.key); sentAny = true; sent(item, data); continue; }
        if (res.status >= 500 || res.status === 401 || res.status === 408 || res.status === 429 ||
            (data && data.error && data.error.code === "csrf_failed")) {
          if (res.status === 401) toast("登录已过期：请重新登录，待发送的内容会保留并自动发送", "warn");
          break;  // not the submission's fault: try again later, in the same order
        }
        item.error = (data && data.error && data.error.message) || `服务器拒绝（${res.status}）`;
        item.status = res.status;
        await DB.put(item);
        toast(`${item.label}：${item.error}`, "error");
      }
    } finally {
      S.sending = false;
      await renderQueue();
      if (sentAny) loadHome();
    }
  }
  function sent(item, data) {
    if (item.kind === "report") {
      // The state the report reached: 待受理 as a rule, 已立案 when configuration let it skip ahead.
      const state = data.state_label ? `（状态：${data.state_label}）` : "";
      toast(`上报成功，案件编号 ${data.case_no}${state}${data.cell_code ? "，单元网格 " + data.cell_code : ""}`, "ok");
    }
    else toast(`${item.label}已反馈`, "ok");
  }
  async function renderQueue() {
    const items = await DB.all();
    const refused = items.filter((i) => i.error).length;
    const badge = $("queue-badge");
    badge.hidden = items.length === 0;
    badge.textContent = `${items.length} 条待发送${refused ? `（${refused} 需处理）` : ""}`;
    $("queue").innerHTML = items.map((i) => `<li><div class="task"><div class="t1"><span class="kind">${esc(i.label)}</span>
        <span class="tag">${i.photos.length} 张照片</span>${i.error ? '<span class="tag err">未能发送</span>' : '<span class="tag warn">待发送</span>'}</div>
        <div class="t3">保存于 ${esc(hhmm(i.created_at))}</div>
        ${i.error ? `<p class="q-err">${esc(i.error)}</p><div class="row"><button type="button" class="btn" data-retry="${esc(i.key)}">重新发送</button>
        <button type="button" class="btn" data-drop="${esc(i.key)}">删除</button></div>` : ""}</div></li>`).join("")
      || '<li class="muted">没有待发送的内容</li>';
  }

  // ---- network state ----------------------------------------------------------------------------------
  function setNet(up) {
    const el = $("net");
    el.dataset.up = up ? "1" : "0";
    el.textContent = up ? "在线" : "离线";
  }
  window.addEventListener("online", () => { setNet(true); flush(); loadHome(); loadOffline(); });
  window.addEventListener("offline", () => setNet(false));

  // ---- position ---------------------------------------------------------------------------------------
  function watchPosition() {
    if (!navigator.geolocation) { gpsDenied("此浏览器不能定位"); return; }
    navigator.geolocation.watchPosition((p) => {
      S.fix = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: Math.round(p.coords.accuracy) };
      S.gpsDenied = false;
      $("pos-text").textContent = `当前位置精度 ±${S.fix.accuracy} 米`;
      if (homeMap) homeMap.setMarker(S.fix.lat, S.fix.lon);
      if (!S.report.moved) setReportPos(S.fix.lat, S.fix.lon, S.fix.accuracy);
      renderTasks();
      renderAnswerPos();
    }, (err) => gpsDenied(err.code === 1 ? "未获得定位权限" : "暂时无法定位"),
    { enableHighAccuracy: true, maximumAge: 15000, timeout: 30000 });
  }
  function gpsDenied(why) {
    S.gpsDenied = true;
    $("pos-text").textContent = `${why}：上报时请在地图上点选问题位置`;
    if (!S.report.pos) $("r-pos").textContent = `${why}：请在下方地图上点选问题位置`;
    renderAnswerPos();
  }
  async function sendPosition() {
    if (!S.onDuty || !S.fix || !navigator.onLine) return;
    try { await api("POST", "/api/v1/inspector/positions", { lat: S.fix.lat, lon: S.fix.lon, accuracy: S.fix.accuracy }); }
    catch (e) { if (e.code === "off_duty") setDuty({ on_duty: false }); }
  }
  function setDuty(d) {
    S.onDuty = !!d.on_duty;
    const b = $("btn-duty");
    b.textContent = S.onDuty ? "下岗" : "上岗";
    b.setAttribute("aria-pressed", S.onDuty ? "true" : "false");
    $("duty-text").textContent = S.onDuty ? `在岗${d.since ? "，" + hhmm(d.since) + " 起" : ""}` : "未上岗（不记录位置）";
    clearInterval(S.posTimer); S.posTimer = null;
    if (S.onDuty) {
      const every = ((S.home && S.home.settings.position_interval_s) || 60) * 1000;
      sendPosition();
      S.posTimer = setInterval(sendPosition, every);  // only while on duty and the page is open
    }
  }
  $("btn-duty").addEventListener("click", async () => {
    if (!navigator.onLine) { toast("上岗、下岗需要网络", "warn"); return; }
    try { setDuty(await api("POST", "/api/v1/inspector/duty", { action: S.onDuty ? "end" : "start" })); }
    catch (e) { toast(e.message, "error"); }
  });

  // ---- home -------------------------------------------------------------------------------------------
  async function loadHome() {
    const q = S.fix ? `?lat=${S.fix.lat}&lon=${S.fix.lon}` : "";
    try {
      S.home = await api("GET", `/api/v1/inspector/home${q}`);
    } catch (e) {
      if (!S.home) $("tasks").innerHTML = `<li class="muted">${esc(e.message || "离线，暂无缓存的任务")}</li>`;
      return;
    }
    const t = S.home.today;
    $("n-reports").textContent = t.reports; $("n-answers").textContent = t.answers;
    $("n-ontime").textContent = t.answers_on_time; $("n-duty").textContent = t.on_duty_minutes;
    setDuty(S.home.duty);
    renderTasks();
  }
  function taskDistance(t) {
    return S.fix && t.lat != null ? metres(S.fix.lat, S.fix.lon, t.lat, t.lon) : t.distance_m;
  }
  function renderTasks() {
    if (!S.home) return;
    const done = new Set(S.answered || []);
    const tasks = S.home.tasks.filter((t) => !done.has(t.task_id));
    $("task-count").textContent = tasks.length;
    $("tasks").innerHTML = tasks.map((t) => `<li><button type="button" class="task" data-task="${t.task_id}">
        <span class="t1"><span class="kind">${esc(t.label)}</span>${light(t.light)}${t.pool ? '<span class="tag warn">待领取池</span>' : ""}<span class="tag">${esc(t.case_no)}</span></span>
        <span class="t2">${esc(t.category)} · ${esc(t.address || "")}</span>
        <span class="t3">期限 ${esc(hhmm(t.due_at) || "—")}${taskDistance(t) != null ? " · 距我 " + distText(taskDistance(t)) : ""}</span>
      </button></li>`).join("") || '<li class="muted">暂无核实、核查任务</li>';
    if (homeMap) homeMap.setCases(tasks.map((t) => ({ case_no: t.case_no, lat: t.lat, lon: t.lon, light: t.light,
      category: t.category, state_label: t.label, address: t.address })));
  }
  $("tasks").addEventListener("click", (e) => {
    const b = e.target.closest("[data-task]");
    if (b) openTask(Number(b.dataset.task));
  });

  // ---- views ------------------------------------------------------------------------------------------
  function show(view) {
    for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${view}`;
    window.scrollTo(0, 0);
    const h = document.querySelector(`#view-${view} h2`);
    if (h && view !== "home") { h.setAttribute("tabindex", "-1"); h.focus(); }
  }
  document.addEventListener("click", (e) => { const g = e.target.closest("[data-go]"); if (g) show(g.dataset.go); });
  $("queue-badge").addEventListener("click", () => { renderQueue(); show("queue"); });
  $("queue").addEventListener("click", async (e) => {
    const retry = e.target.closest("[data-retry]"), drop = e.target.closest("[data-drop]");
    const items = await DB.all();
    if (retry) {
      const item = items.find((i) => i.key === retry.dataset.retry);
      if (!item) return;
      item.error = null;
      if (item.kind === "answer") item.data.version = null;  // resend against the case as it is now
      await DB.put(item); await renderQueue(); flush();
    } else if (drop && confirm("删除后这条内容（含照片）将无法恢复，确定删除？")) {
      await DB.del(drop.dataset.drop); await renderQueue();
    }
  });

  // ---- photos -----------------------------------------------------------------------------------------
  async function downscale(file) {
    if (!/^image\//.test(file.type)) throw new Error(`“${file.name}”不是图片文件`);
    let bitmap;
    try { bitmap = await createImageBitmap(file); } catch (e) { throw new Error(`“${file.name}”无法识别为图片`); }
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale)); canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.82));
    if (!blob) throw new Error(`“${file.name}”压缩失败`);
    return { blob, url: URL.createObjectURL(blob) };
  }
  async function addPhotos(input, list, box, msg) {
    const max = (S.home && S.home.settings.max_photos) || 9;
    for (const file of Array.from(input.files || [])) {
      if (list.length >= max) { msg(`最多 ${max} 张照片`); break; }
      try { list.push(await downscale(file)); } catch (e) { msg(e.message); }
    }
    input.value = "";
    renderThumbs(list, box);
  }
  function renderThumbs(list, box) {
    box.innerHTML = list.map((p, i) => `<div class="thumb"><img src="${p.url}" alt="现场照片 ${i + 1}"><button type="button" data-rm="${i}" aria-label="删除照片 ${i + 1}">×</button></div>`).join("");
  }
  function bindPhotos(inputId, boxId, list, msgId) {
    const box = $(boxId);
    const msg = (text) => { $(msgId).textContent = text; $(msgId).className = "form-msg error"; };
    $(inputId).addEventListener("change", (e) => addPhotos(e.target, list(), box, msg));
    box.addEventListener("click", (e) => { const b = e.target.closest("[data-rm]"); if (b) { list().splice(Number(b.dataset.rm), 1); renderThumbs(list(), box); } });
  }
  bindPhotos("f-photo", "photos", () => S.report.photos, "report-msg");
  bindPhotos("a-photo", "a-photos", () => S.answer.photos, "answer-msg");

  // ---- categories: recent choices, pinyin search, by 大类 ------------------------------------------------
  async function loadCategories() {
    try {
      const d = await api("GET", "/api/v1/inspector/categories");
      S.cats = d.items.map((r) => Object.fromEntries(d.fields.map((f, i) => [f, r[i]])));
      S.majors = [...new Set(S.cats.map((c) => c.major))];
      $("cat-major").innerHTML = '<option value="">选择大类…</option>' + S.majors.map((m) => `<option>${esc(m)}</option>`).join("");
      renderRecent();
    } catch (e) { $("cat-chosen").textContent = "类别加载失败：" + e.message; }
  }
  function recent() { try { return JSON.parse(localStorage.getItem(`ins-recent-${ME}`) || "[]"); } catch (e) { return []; } }
  function renderRecent() {
    const codes = recent().filter((c) => S.cats.some((x) => x.code === c)).slice(0, 6);
    $("recent").innerHTML = codes.map((c) => { const x = S.cats.find((k) => k.code === c);
      return `<button type="button" class="chip" data-cat="${esc(c)}">${esc(x.name)}</button>`; }).join("")
      || '<span class="muted small">最近选择的类别会显示在这里</span>';
  }
  function rank(c, q) {
    const tests = [c.code === q, c.code.startsWith(q), c.name === q, c.name.startsWith(q), c.name.includes(q),
                   c.initials.startsWith(q), c.pinyin.startsWith(q), c.pinyin.includes(q), c.initials.includes(q)];
    const i = tests.indexOf(true);
    return i < 0 ? null : i;
  }
  function listCats(cats) {
    $("cat-list").innerHTML = cats.slice(0, 30).map((c) => `<li><button type="button" data-cat="${esc(c.code)}">${esc(c.name)}<small>${esc(c.major)} · ${esc(c.code)}</small></button></li>`).join("");
  }
  $("cat-q").addEventListener("input", (e) => {
    const q = e.target.value.trim().toLowerCase().replace(/\s+/g, "");
    if (!q) { $("cat-list").innerHTML = ""; return; }
    listCats(S.cats.map((c) => [rank(c, q), c]).filter(([r]) => r !== null).sort((a, b) => a[0] - b[0]).map(([, c]) => c));
  });
  $("cat-major").addEventListener("change", (e) => listCats(S.cats.filter((c) => c.major === e.target.value)));
  function chooseCategory(code) {
    const c = S.cats.find((x) => x.code === code);
    if (!c) return;
    S.report.cat = c;
    $("cat-chosen").textContent = `已选：${c.name}（${c.major}，${c.code}）`;
    $("cat-list").innerHTML = ""; $("cat-q").value = "";
    localStorage.setItem(`ins-recent-${ME}`, JSON.stringify([code, ...recent().filter((x) => x !== code)].slice(0, 12)));
    renderRecent();
    const direct = S.home && S.home.settings.register_directly.includes(code);
    $("register-row").hidden = !direct;
    $("register-text").textContent = `符合立案条件，直接立案：${c.register || ""}`;
    loadComponents();
  }
  document.addEventListener("click", (e) => { const b = e.target.closest("[data-cat]"); if (b) chooseCategory(b.dataset.cat); });

  // ---- report position and nearby components -------------------------------------------------------------
  function setReportPos(lat, lon, accuracy, moved) {
    S.report.pos = { lat, lon, accuracy: accuracy == null ? null : accuracy };
    if (moved) S.report.moved = true;
    if (reportMap) {
      reportMap.setMarker(lat, lon);
      if (!moved) reportMap.centerOn(lat, lon, 0.8);  // close enough to see the cell and move the pin
    }
    const how = accuracy == null ? "地图选点" : `GPS 精度 ±${accuracy} 米`;
    $("r-pos").textContent = `${how}（${lat.toFixed(6)}, ${lon.toFixed(6)}）`;
    snapCell(lat, lon, how);
    loadComponents();
  }
  // ---- offline: the duty grid's cells (from the cached map) and its components (fetched after start) ----
  // What the phone computes offline is a proposal: the server snaps the position to its cell again and
  // checks the component when the report is sent (it stays the authority).
  function inRing(ring, x, y) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function inPolygon(rings, x, y) { return inRing(rings[0], x, y) && !rings.slice(1).some((h) => inRing(h, x, y)); }
  function localCell(lat, lon) {
    if (!S.mapCells) return null;
    return S.mapCells.features.find((f) => {
      const g = f.geometry;
      const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      return polys.some((p) => inPolygon(p, lon, lat));
    }) || null;
  }
  function metres(lat1, lon1, lat2, lon2) {
    const dy = (lat1 - lat2) * 110574, dx = (lon1 - lon2) * 111320 * Math.cos(((lat1 + lat2) / 2) * Math.PI / 180);
    return Math.hypot(dx, dy);
  }
  function localComponents(lat, lon, cls) {
    const off = S.offline;
    if (!off) return null;
    return off.items.filter((k) => k[1] === cls)
      .map((k) => ({ id: k[0], address: k[4], distance_m: metres(lat, lon, k[2], k[3]) }))
      .filter((k) => k.distance_m <= off.radius_m).sort((a, b) => a.distance_m - b.distance_m);
  }
  async function loadOffline() {
    if (S.offline) return;
    try {
      const d = await api("GET", "/api/v1/inspector/components");  // the service worker keeps the answer
      S.offline = d;
      document.body.dataset.offline = "1";
    } catch (e) { /* not yet: tried again when the network returns */ }
  }
  function offlineCell(lat, lon, how) {
    const f = localCell(lat, lon);
    if (reportMap) reportMap.setHighlight(f);
    S.report.localCell = f ? f.properties.code : null;
    $("r-pos").textContent = f
      ? `${how} · 单元网格 ${f.properties.code}（离线判定，发送时由平台核定）`
      : `${how} · 离线：不在本责任网格的单元网格内，发送时由平台确定`;
  }

  async function snapCell(lat, lon, how) {
    if (!navigator.onLine) { offlineCell(lat, lon, how); return; }
    try {
      const cell = await api("GET", `/api/v1/grid/locate?lat=${lat}&lon=${lon}`);
      if (reportMap && S.mapCells) {
        const f = S.mapCells.features.find((x) => x.properties.code === cell.cell_code);
        reportMap.setHighlight(f || null);
      }
      $("r-pos").textContent = `${how} · 单元网格 ${cell.cell_code}${cell.place && cell.place.label ? "（" + cell.place.label + "）" : ""}`;
    } catch (e) {
      if (!e.status) { offlineCell(lat, lon, how); return; }  // the network went away meanwhile
      $("r-pos").textContent = `${how} · ${e.status === 404 ? "不在单元网格内，请在地图上移动位置" : e.message}`;
    }
  }
  function renderComponents(box, c, items, offline) {
    box.innerHTML = items.length ? `<p class="small">附近的${esc(c.name)}（选择问题部件）${offline ? "（离线数据）" : ""}：</p>` +
      '<label class="comp"><input type="radio" name="comp" value="" checked> 不指定</label>' +
      items.slice(0, 6).map((k) => `<label class="comp"><input type="radio" name="comp" value="${esc(k.id)}"> ${esc(k.id)} · ${distText(k.distance_m)}${k.address ? " · " + esc(k.address) : ""}</label>`).join("")
      : `<p class="muted small">附近 60 米内没有登记的${esc(c.name)}${offline ? "（离线数据）" : ""}</p>`;
  }
  async function loadComponents() {
    const box = $("components"); const c = S.report.cat, p = S.report.pos;
    S.report.component = null;
    if (!c || !p || c.kind !== "component") { box.innerHTML = ""; return; }
    const offline = () => {
      const found = localComponents(p.lat, p.lon, c.code.slice(1));
      if (found) renderComponents(box, c, found, true);
      else box.innerHTML = '<p class="muted small">离线：本机尚无部件数据，无法查询附近部件</p>';
    };
    if (!navigator.onLine) { offline(); return; }
    try {
      const d = await api("GET", `/api/v1/components?lat=${p.lat}&lon=${p.lon}&radius=60&class=${c.code.slice(1)}`);
      renderComponents(box, c, d.items, false);
    } catch (e) {
      if (!e.status) { offline(); return; }
      box.innerHTML = `<p class="muted small">${esc(e.message)}</p>`;
    }
  }
  $("components").addEventListener("change", (e) => { if (e.target.name === "comp") S.report.component = e.target.value || null; });

  // ---- dictation: a WAV recorded in the browser, transcribed by the platform's speech engine ---------------
  $("btn-voice").addEventListener("click", async () => {
    if (S.voice) { stopVoice(); return; }
    if (!navigator.onLine) { $("voice-text").textContent = "语音转写需要网络，请直接输入文字"; return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const ctx = new AudioContext();
      const source = ctx.createMediaStreamSource(stream);
      const node = ctx.createScriptProcessor(4096, 1, 1);
      const chunks = [];
      node.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
      source.connect(node); node.connect(ctx.destination);
      S.voice = { stream, ctx, node, chunks };
      $("btn-voice").setAttribute("aria-pressed", "true"); $("btn-voice").textContent = "停止并转写";
      $("voice-text").textContent = "正在录音…";
    } catch (e) { $("voice-text").textContent = "无法使用麦克风：" + e.message; }
  });
  async function stopVoice() {
    const v = S.voice; S.voice = null;
    $("btn-voice").setAttribute("aria-pressed", "false"); $("btn-voice").textContent = "语音输入";
    v.node.disconnect(); v.stream.getTracks().forEach((t) => t.stop());
    const wav = toWav(v.chunks, v.ctx.sampleRate); v.ctx.close();
    $("voice-text").textContent = "正在转写…";
    const form = new FormData(); form.append("file", wav, "voice.wav");
    try {
      const r = await api("POST", "/api/v1/transcriptions", form);
      const text = (r.text || "").trim();
      $("f-desc").value = ($("f-desc").value + " " + text).trim();
      $("voice-text").textContent = text ? "已转写，请核对文字" : "没有听清，请重说或直接输入";
    } catch (e) { $("voice-text").textContent = "转写失败：" + e.message; }
  }
  function toWav(chunks, rate) {
    const target = 16000, ratio = rate / target;
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0; for (const c of chunks) { all.set(c, o); o += c.length; }
    const n = Math.floor(all.length / ratio), buf = new DataView(new ArrayBuffer(44 + n * 2));
    const str = (off, s) => { for (let i = 0; i < s.length; i++) buf.setUint8(off + i, s.charCodeAt(i)); };
    str(0, "RIFF"); buf.setUint32(4, 36 + n * 2, true); str(8, "WAVE"); str(12, "fmt ");
    buf.setUint32(16, 16, true); buf.setUint16(20, 1, true); buf.setUint16(22, 1, true); buf.setUint32(24, target, true);
    buf.setUint32(28, target * 2, true); buf.setUint16(32, 2, true); buf.setUint16(34, 16, true); str(36, "data"); buf.setUint32(40, n * 2, true);
    for (let i = 0; i < n; i++) { const s = Math.max(-1, Math.min(1, all[Math.floor(i * ratio)])); buf.setInt16(44 + i * 2, s * 0x7fff, true); }
    return new Blob([buf], { type: "audio/wav" });
  }

  // ---- sending a report ---------------------------------------------------------------------------------
  function openReport() {
    S.report = { cat: null, photos: [], pos: null, moved: false, component: null };
    $("report-form").reset(); renderThumbs([], $("photos")); $("components").innerHTML = "";
    $("cat-chosen").textContent = "未选择类别"; $("register-row").hidden = true;
    $("report-msg").textContent = ""; $("voice-text").textContent = "";
    show("report");
    if (S.fix) setReportPos(S.fix.lat, S.fix.lon, S.fix.accuracy);
    else $("r-pos").textContent = S.gpsDenied ? "未获得定位：请在下方地图上点选问题位置" : "正在定位…（也可在地图上点选）";
  }
  $("btn-report").addEventListener("click", openReport);
  $("report-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = S.report, msg = $("report-msg");
    const problems = [];
    if (!r.cat) problems.push("请选择问题类别");
    if (!r.pos) problems.push("请允许定位或在地图上点选位置");
    const desc = $("f-desc").value.trim();
    if (!desc) problems.push("请填写问题描述");
    if (problems.length) { msg.className = "form-msg error"; msg.textContent = problems.join("；"); return; }
    const data = { category_code: r.cat.code, description: desc, lat: r.pos.lat, lon: r.pos.lon,
                   accuracy: r.pos.accuracy, register_now: $("f-register").checked };
    if (r.component) data.component_id = r.component;
    try {
      await enqueue("report", data, r.photos, `上报：${r.cat.name}`);
    } catch (err) { msg.className = "form-msg error"; msg.textContent = "保存失败：" + err.message; return; }
    toast(navigator.onLine ? "正在发送上报…" : "已保存到本机，网络恢复后自动发送", navigator.onLine ? "" : "warn");
    show("home");
  });

  // ---- a task and its answer ------------------------------------------------------------------------------
  function openTask(id) {
    const t = S.home.tasks.find((x) => x.task_id === id);
    if (!t) return;
    S.task = t; S.answer = { photos: [], choice: null };
    $("h-task").textContent = `${t.label}任务`;
    $("task-info").innerHTML = `<p><strong>${esc(t.category)}</strong> ${light(t.light)} <span class="tag">${esc(t.case_no)}</span></p>
      <p>${esc(t.address || "（无地址）")}</p><p class="muted">${esc(t.description)}</p>
      <p class="small">期限 ${esc(hhmm(t.due_at) || "—")}${taskDistance(t) != null ? " · 距我 " + distText(taskDistance(t)) : ""}${t.pool ? " · 待领取池任务" : ""}</p>`;
    $("answer-legend").textContent = t.kind === "check" ? "核查结果" : "核实结果";
    $("answer-choices").innerHTML = t.answers.map((a, i) => `<label><input type="radio" name="choice" value="${i}"><span>${esc(a.label)}</span></label>`).join("");
    const need = t.kind === "check" ? S.home.settings.check_photos_required : S.home.settings.verification_photos_required;
    $("a-photo-rule").textContent = need ? "（必须上传）" : "（可选）";
    $("answer-form").reset(); renderThumbs([], $("a-photos")); $("answer-msg").textContent = "";
    renderAnswerPos();
    show("task");
  }
  function renderAnswerPos() {
    const t = S.task;
    if (!t) return;
    if (!S.fix) { $("a-pos").textContent = S.gpsDenied ? "未获得定位：反馈将不带现场位置" : "正在定位…"; return; }
    const d = t.lat != null ? metres(S.fix.lat, S.fix.lon, t.lat, t.lon) : null;
    const far = d != null && S.home && d > S.home.settings.far_m;
    $("a-pos").textContent = `GPS 精度 ±${S.fix.accuracy} 米${d != null ? "，距案件位置 " + distText(d) : ""}${far ? `（超过 ${S.home.settings.far_m} 米，将提示值班长）` : ""}`;
  }
  $("answer-choices").addEventListener("change", (e) => { S.answer.choice = Number(e.target.value); });
  $("answer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = S.task, a = S.answer, msg = $("answer-msg");
    const problems = [];
    if (a.choice == null) problems.push("请选择结果");
    const need = t.kind === "check" ? S.home.settings.check_photos_required : S.home.settings.verification_photos_required;
    if (need && !a.photos.length) problems.push("请拍摄至少一张现场照片");
    const notes = $("a-notes").value.trim();
    const choice = a.choice == null ? null : t.answers[a.choice];
    if (choice && choice.command === "check_fail" && !notes) problems.push("核查不通过须填写说明");
    if (problems.length) { msg.className = "form-msg error"; msg.textContent = problems.join("；"); return; }
    // No version: an answer made offline is judged by the task itself (still pending, still mine), not by
    // whatever else changed on the case meanwhile; if the task moved on the server says how.
    const data = { case_no: t.case_no, command: choice.command, version: null, notes: notes || null };
    if (choice.confirmed) data.confirmed = choice.confirmed === "true";
    if (S.fix) Object.assign(data, { lat: S.fix.lat, lon: S.fix.lon, accuracy: S.fix.accuracy });
    try {
      await enqueue("answer", data, a.photos, `${t.label} ${t.case_no}（${choice.label}）`);
    } catch (err) { msg.className = "form-msg error"; msg.textContent = "保存失败：" + err.message; return; }
    S.answered = [...(S.answered || []), t.task_id];
    renderTasks();
    toast(navigator.onLine ? "正在发送反馈…" : "已保存到本机，网络恢复后自动发送", navigator.onLine ? "" : "warn");
    show("home");
  });

  // ---- maps: my duty grid, its cells and the roads, all from the platform (no tiles) ---------------------
  async function loadMaps() {
    homeMap = new window.VectorMap($("home-map"), { onCaseClick: (c) => {
      const t = S.home && S.home.tasks.find((x) => x.case_no === c.case_no); if (t) openTask(t.task_id); } });
    reportMap = new window.VectorMap($("report-map"), { onClick: (lat, lon) => setReportPos(lat, lon, null, true) });
    window.inspectorMaps = { home: homeMap, report: reportMap };
    const [grid, roads] = await Promise.allSettled([api("GET", "/api/v1/inspector/map"), api("GET", "/api/v1/map/roads")]);
    for (const m of [homeMap, reportMap]) {
      if (grid.status === "fulfilled") {
        S.mapCells = grid.value.cells;
        m.setCells(grid.value.cells);
      }
      if (roads.status === "fulfilled") m.setRoads(roads.value);
    }
    if (grid.status === "fulfilled" && grid.value.duty_grids.features.length) homeMap.setHighlight(grid.value.duty_grids.features[0]);
    if (S.fix) homeMap.setMarker(S.fix.lat, S.fix.lon);
    renderTasks();
  }

  // ---- logout: the queue stays (it is sent at the next login of the same inspector), cached data goes ------
  $("logout-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const waiting = (await DB.all()).length;
    if (waiting && !confirm(`还有 ${waiting} 条待发送，将保留在本机，下次登录后自动发送。确定退出？`)) return;
    try { await caches.delete("inspector-v1"); } catch (err) { /* no cache API: nothing cached */ }
    e.target.submit();
  });

  // ---- start -------------------------------------------------------------------------------------------
  async function start() {
    setNet(navigator.onLine);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/inspector/sw.js", { scope: "/inspector" }).catch(() => {});
    }
    watchPosition();
    await Promise.allSettled([loadHome(), loadCategories(), loadMaps(), renderQueue()]);
    document.body.dataset.ready = "1";
    // The offline components come after the app is interactive: not part of the first load.
    setTimeout(loadOffline, navigator.onLine ? 3000 : 0);
    flush();
    setInterval(flush, 20000);  // a queue left by a lost answer or a server hiccup is retried
  }
  window.inspectorApp = { flush, queue: () => DB.all(), state: S };
  start();
})();
