/* /reports: the leader's report, drawn from /api/v1/evaluation/report, /hotspots and /bulletins with ECharts
   (served from /static/vendor/echarts/). Every chart has its table; exports link to /api/v1/evaluation/export. */
(function () {
  "use strict";
  var charts = {};
  var cellsGeo = null;
  var form = document.getElementById("rep-form");
  var status = document.getElementById("rep-status");
  var INK = "#1f2937", BLUE = "#1554a5", AMBER = "#b45309";

  function params() {
    var p = new URLSearchParams();
    p.set("period", form.period.value);
    p.set("start", form.start.value);
    p.set("department_version", form.department_version.value);
    p.set("region_version", form.region_version.value);
    return p;
  }
  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + "%"; }
  function cell(kind, v) {
    if (v === null || v === undefined || v === "") return kind === "rate" ? "—" : (v === "" ? "" : "—");
    if (kind === "rate") return pct(v);
    if (kind === "seconds" || kind === "score") return Number(v).toFixed(kind === "score" ? 2 : 1);
    return String(v);
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  async function getJson(url) {
    var r = await fetch(url, { headers: { Accept: "application/json" } });
    var body = await r.json();
    if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
    return body;
  }
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  var base = { aria: { enabled: true }, textStyle: { color: INK, fontSize: 13 }, grid: { left: 10, right: 64, top: 30, bottom: 10, containLabel: true } };

  function renderTable(t, limit) {
    var holder = document.querySelector('[data-table="' + t.name + '"]');
    if (!holder) return;
    holder.className = "rep-table";
    holder.textContent = "";
    var table = el("table");
    var cap = el("caption", {}, t.title + "（" + t.rows.length + " 行）");
    ["xlsx", "csv"].forEach(function (fmt) {
      var p = params(); p.set("table", t.name); p.set("format", fmt);
      var a = el("a", { href: "/api/v1/evaluation/export?" + p.toString(), class: "exports" }, "导出 " + fmt.toUpperCase());
      a.setAttribute("aria-label", "导出 " + fmt.toUpperCase() + "：" + t.title);  // contains the visible text
      cap.appendChild(a);
    });
    table.appendChild(cap);
    var head = el("tr");
    t.columns.forEach(function (c) { head.appendChild(el("th", { scope: "col" }, c.label)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    var rows = t.rows.slice(0, limit || 50);
    if (!rows.length) {
      var tr = el("tr"); var td = el("td", { colspan: String(t.columns.length) }, "本期无数据");
      tr.appendChild(td); body.appendChild(tr);
    }
    rows.forEach(function (r) {
      var tr = el("tr");
      t.columns.forEach(function (c) {
        var td = el("td", { class: c.kind === "text" ? "" : "num" });
        if (c.key === "grade" && r.grade) td.appendChild(el("span", { class: "grade g-" + r.grade }, r.grade));
        else if (c.key === "case_no") td.appendChild(el("a", { href: "/case/" + encodeURIComponent(r.case_no) }, r.case_no));
        else td.textContent = cell(c.kind, r[c.key]);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    holder.appendChild(table);
    if (t.rows.length > rows.length) holder.appendChild(el("p", { class: "hint" }, "仅显示前 " + rows.length + " 行，完整数据请导出。"));
  }

  function scoreBars(id, t, max) {
    var rows = t.rows.slice().reverse();
    chart(id).setOption(Object.assign({}, base, {
      xAxis: { type: "value", max: max, axisLabel: { color: INK } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.name; }), axisLabel: { color: INK } },
      tooltip: { trigger: "axis" },
      series: [{ type: "bar", name: "得分", data: rows.map(function (r) { return r.score; }), itemStyle: { color: BLUE },
                 label: { show: true, position: "right", color: INK, formatter: function (p) { return p.value.toFixed(2); } } }]
    }), true);
  }

  function renderSummary(summary) {
    var box = document.getElementById("rep-summary");
    box.textContent = "";
    summary.forEach(function (s) {
      var d = el("div", { class: "rep-kpi" });
      d.appendChild(el("div", { class: "l" }, s.label));
      d.appendChild(el("div", { class: "v" }, s.kind === "rate" ? pct(s.value) : String(s.value)));
      box.appendChild(d);
    });
  }

  function renderTrend(trend) {
    chart("c-trend").setOption(Object.assign({}, base, {
      legend: { top: 0, textStyle: { color: INK } }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: trend.map(function (t) { return t.period; }), axisLabel: { color: INK } },
      yAxis: [{ type: "value", name: "件", axisLabel: { color: INK } },
              { type: "value", name: "%", min: 0, max: 100, axisLabel: { color: INK } }],
      series: [
        { type: "bar", name: "立案数", data: trend.map(function (t) { return t.registered; }), itemStyle: { color: "#93b4e0" } },
        { type: "line", name: "结案率", yAxisIndex: 1, data: trend.map(function (t) { return t.closing_rate === null ? null : +(t.closing_rate * 100).toFixed(2); }), itemStyle: { color: BLUE } },
        { type: "line", name: "按期结案率", yAxisIndex: 1, data: trend.map(function (t) { return t.closing_on_time_rate === null ? null : +(t.closing_on_time_rate * 100).toFixed(2); }), itemStyle: { color: AMBER } }
      ]
    }), true);
    renderTable({ name: "trend", title: "走势", rows: trend, columns: [
      { key: "period", label: "周期", kind: "text" }, { key: "registered", label: "立案数", kind: "int" },
      { key: "closed", label: "结案数", kind: "int" }, { key: "closing_rate", label: "结案率", kind: "rate" },
      { key: "closing_on_time_rate", label: "按期结案率", kind: "rate" },
      { key: "handling_on_time_rate", label: "按期处置率", kind: "rate" }] });
  }

  function renderHotline(t) {
    var rows = t.rows;
    chart("c-hotline").setOption(Object.assign({}, base, {
      legend: { top: 0, textStyle: { color: INK } }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: rows.map(function (r) { return r.label; }), axisLabel: { color: INK } },
      yAxis: [{ type: "value", name: "通", axisLabel: { color: INK } }, { type: "value", name: "%", min: 0, max: 100, axisLabel: { color: INK } }],
      series: [
        { type: "bar", name: "呼入", data: rows.map(function (r) { return r.offered; }), itemStyle: { color: "#93b4e0" } },
        { type: "line", name: "15秒接通率", yAxisIndex: 1, connectNulls: false, itemStyle: { color: BLUE },
          data: rows.map(function (r) { return r.service_level === null ? null : +(r.service_level * 100).toFixed(1); }),
          markLine: { symbol: "none", data: [{ yAxis: 95, name: "目标 95%" }], lineStyle: { color: AMBER }, label: { color: INK } } }
      ]
    }), true);
  }

  async function renderMap() {
    var p = params(); var major = document.getElementById("f-major").value;
    if (major) p.set("major", major);
    p.delete("department_version"); p.delete("region_version");
    var hot = await getJson("/api/v1/evaluation/hotspots?" + p.toString());
    var select = document.getElementById("f-major");
    if (select.options.length === 1) hot.classes.forEach(function (c) { select.appendChild(el("option", { value: c.code }, c.kind + " · " + c.name)); });
    if (!cellsGeo) {
      cellsGeo = await getJson("/api/v1/grid/cells");
      echarts.registerMap("hotline-cells", cellsGeo);
    }
    var max = hot.cells.reduce(function (m, c) { return Math.max(m, c.count); }, 0);
    chart("c-map").setOption({
      aria: { enabled: true }, tooltip: { trigger: "item", formatter: function (x) { return x.name + "：" + (x.value || 0) + " 件"; } },
      visualMap: { min: 0, max: Math.max(1, max), left: 0, bottom: 0, text: ["多", "少"], calculable: true, textStyle: { color: INK },
                   inRange: { color: ["#f1f5f9", "#fde68a", "#f59e0b", "#c2410c", "#7f1d1d"] } },
      series: [{ type: "map", map: "hotline-cells", nameProperty: "code", roam: true, name: "立案数",
                 itemStyle: { borderColor: "#94a3b8", borderWidth: 0.4, areaColor: "#f1f5f9" },
                 emphasis: { label: { show: false } },
                 data: hot.cells.map(function (c) { return { name: c.cell_code, value: c.count }; }) }]
    }, true);
    document.getElementById("map-note").textContent = "共 " + hot.cells.length + " 个单元网格有立案，单格最多 " + max + " 件（底图为本平台单元网格数据）。";
  }

  async function renderBulletins() {
    var list = document.getElementById("bulletins");
    var doc = await getJson("/api/v1/evaluation/bulletins");
    list.textContent = "";
    if (!doc.bulletins.length) list.appendChild(el("li", { class: "muted" }, "尚无已发布的通报（每月第一个工作日自动生成）"));
    doc.bulletins.forEach(function (b) {
      var li = el("li");
      li.appendChild(el("a", { href: "/api/v1/evaluation/bulletins/" + b.id }, b.title + "（PDF）"));
      li.appendChild(document.createTextNode(" · 部门方案 " + b.department_profile + " 第" + b.department_profile_version +
        "版 · 区域方案 " + b.region_profile + " 第" + b.region_profile_version + "版 · 生成者 " + b.generated_by));
      list.appendChild(li);
    });
  }

  async function load() {
    status.textContent = "加载中…";
    try {
      var doc = await getJson("/api/v1/evaluation/report?" + params().toString());
      document.getElementById("period-label").textContent = doc.period.label + "（" + doc.period.first_day + " 至 " + doc.period.last_day + "）";
      renderSummary(doc.summary);
      Object.keys(doc.tables).forEach(function (k) { renderTable(doc.tables[k]); });
      scoreBars("c-dep", doc.tables.department_ranking, doc.profiles.department.max);
      scoreBars("c-region", doc.tables.region_ranking, doc.profiles.region.max);
      var classes = { name: "c", rows: doc.tables.top_classes.rows.map(function (r) { return { name: r.name, score: r.count }; }) };
      scoreBars("c-classes", classes, undefined);
      renderTrend(doc.trend);
      renderHotline(doc.tables.hotline_day);
      await renderMap();
      await renderBulletins();
      status.textContent = "已更新：" + doc.period.label + "，统计截至 " + new Date(doc.as_of).toLocaleString("zh-CN");
      document.body.dataset.ready = "1";
    } catch (err) {
      status.textContent = "加载失败：" + err.message;
      document.body.dataset.ready = "error";
    }
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  document.getElementById("f-major").addEventListener("change", function () { renderMap().catch(function (e) { status.textContent = "加载失败：" + e.message; }); });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  load();
})();
