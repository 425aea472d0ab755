/* A small vector map on <canvas>: our own grid cells, roads, components and cases (no tiles, no CDN).
 * Coordinates are WGS-84; the map projects them to local metres around the data's centre (equirectangular,
 * accurate to well under a metre over a county seat). Pan by dragging, zoom with the wheel or the buttons,
 * click anywhere for (lat, lon). */
(function (global) {
  "use strict";

  const M_PER_DEG = 111320;
  const LIGHT_COLOURS = { red: "#d93025", yellow: "#f29900", green: "#188038" };

  class VectorMap {
    constructor(container, options) {
      this.opts = Object.assign({ onClick: null, onCaseClick: null, minScale: 0.02, maxScale: 8 }, options || {});
      this.container = container;
      container.classList.add("vmap");
      this.canvas = document.createElement("canvas");
      this.canvas.className = "vmap-canvas";
      this.canvas.setAttribute("role", "img");
      this.canvas.setAttribute("aria-label", "网格地图");
      container.appendChild(this.canvas);
      this.tip = document.createElement("div");
      this.tip.className = "vmap-tip";
      container.appendChild(this.tip);
      this._controls();
      this.layers = { cells: [], roads: [], components: [], cases: [], people: [], trail: [] };
      this.highlight = null;  // a cell polygon
      this.marker = null;  // {lat, lon}
      this.origin = null;  // {lat, lon}
      this.scale = 0.2;  // pixels per metre
      this.cx = 0; this.cy = 0;  // view centre in metres
      this._pending = false;
      this._bind();
      new ResizeObserver(() => this._resize()).observe(container);
      this._resize();
    }

    _controls() {
      const bar = document.createElement("div");
      bar.className = "vmap-controls";
      const button = (text, title, fn) => {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = text; b.title = title; b.setAttribute("aria-label", title);
        b.addEventListener("click", (e) => { e.stopPropagation(); fn(); });
        bar.appendChild(b);
      };
      button("+", "放大", () => this.zoomBy(1.6));
      button("−", "缩小", () => this.zoomBy(1 / 1.6));
      button("⤢", "全图", () => this.fitAll());
      this.container.appendChild(bar);
      this.scaleBar = document.createElement("div");
      this.scaleBar.className = "vmap-scale";
      this.container.appendChild(this.scaleBar);
      const note = document.createElement("div");
      note.className = "vmap-note";
      note.textContent = "底图：海盐县武原街道单元网格（演示数据）";
      this.container.appendChild(note);
    }

    // ---- projection ----
    _setOrigin(lat, lon) {
      if (!this.origin) {
        this.origin = { lat, lon, kx: M_PER_DEG * Math.cos(lat * Math.PI / 180) };
      }
    }
    project(lat, lon) {
      const o = this.origin;
      return [(lon - o.lon) * o.kx, (lat - o.lat) * M_PER_DEG];
    }
    toScreen(mx, my) {
      return [this.w / 2 + (mx - this.cx) * this.scale, this.h / 2 - (my - this.cy) * this.scale];
    }
    toLatLon(px, py) {
      const o = this.origin;
      const mx = this.cx + (px - this.w / 2) / this.scale;
      const my = this.cy - (py - this.h / 2) / this.scale;
      return { lat: o.lat + my / M_PER_DEG, lon: o.lon + mx / o.kx };
    }

    // ---- data ----
    setCells(geojson) {
      this.layers.cells = (geojson.features || []).map((f) => this._polygon(f)).filter(Boolean);
      this._extent();
      this.redraw();
    }
    setRoads(geojson) {
      this.layers.roads = [];
      for (const f of geojson.features || []) {
        const g = f.geometry;
        const lines = g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : [];
        for (const line of lines) {
          if (!this.origin && line.length) this._setOrigin(line[0][1], line[0][0]);
          this.layers.roads.push({ name: f.properties.name, kind: f.properties.kind,
                                   pts: line.map(([lon, lat]) => this.project(lat, lon)) });
        }
      }
      this.redraw();
    }
    setComponents(items) {
      this.layers.components = items.map(([id, cls, state, lat, lon]) => ({ id, cls, state, m: this._pt(lat, lon) }));
      this.redraw();
    }
    setCases(items) {
      this.layers.cases = items.filter((c) => c.lat != null).map((c) => Object.assign({}, c, { m: this._pt(c.lat, c.lon) }));
      this.redraw();
    }
    upsertCase(item) {
      if (item.lat == null) return;
      const rest = this.layers.cases.filter((c) => c.case_no !== item.case_no);
      rest.push(Object.assign({}, item, { m: this._pt(item.lat, item.lon) }));
      this.layers.cases = rest;
      this.redraw();
    }
    // Inspectors' last positions (wallboard) and one inspector's trail (lead's day view).
    setPeople(items) {
      this.layers.people = items.filter((p) => p.lat != null).map((p) => Object.assign({}, p, { m: this._pt(p.lat, p.lon) }));
      this.redraw();
    }
    setTrail(points) { this.layers.trail = points.map(([lat, lon]) => this._pt(lat, lon)); this.redraw(); }
    setMarker(lat, lon) { this.marker = lat == null ? null : { lat, lon, m: this._pt(lat, lon) }; this.redraw(); }
    setHighlight(feature) { this.highlight = feature ? this._polygon(feature) : null; this.redraw(); }
    centerOn(lat, lon, minScale) {
      const [mx, my] = this._pt(lat, lon);
      this.cx = mx; this.cy = my;
      if (minScale && this.scale < minScale) this.scale = minScale;
      this.redraw();
    }
    _pt(lat, lon) { this._setOrigin(lat, lon); return this.project(lat, lon); }
    _polygon(f) {
      const g = f.geometry;
      if (!g) return null;
      const rings = g.type === "Polygon" ? g.coordinates : g.type === "MultiPolygon" ? g.coordinates.flat() : [];
      if (!rings.length) return null;
      if (!this.origin) this._setOrigin(rings[0][0][1], rings[0][0][0]);
      return { code: f.properties && f.properties.code, rings: rings.map((r) => r.map(([lon, lat]) => this.project(lat, lon))) };
    }
    _extent() {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const c of this.layers.cells) for (const [x, y] of c.rings[0]) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      if (x0 < Infinity) { this.extent = [x0, y0, x1, y1]; if (!this._fitted) { this._fitted = true; this.fitAll(); } }
    }
    fitAll() {
      if (!this.extent || !this.w) return;
      const [x0, y0, x1, y1] = this.extent;
      this.cx = (x0 + x1) / 2; this.cy = (y0 + y1) / 2;
      this.scale = Math.min(this.w / (x1 - x0), this.h / (y1 - y0)) * 0.94;
      this.redraw();
    }
    zoomBy(f, px, py) {
      this._userMoved = true;
      px = px == null ? this.w / 2 : px; py = py == null ? this.h / 2 : py;
      const before = this.toLatLon(px, py);
      this.scale = Math.max(this.opts.minScale, Math.min(this.opts.maxScale, this.scale * f));
      if (this.origin) {
        const [mx, my] = this.project(before.lat, before.lon);
        this.cx = mx - (px - this.w / 2) / this.scale;
        this.cy = my + (py - this.h / 2) / this.scale;
      }
      this.redraw();
    }

    // ---- interaction ----
    _bind() {
      const c = this.canvas;
      let drag = null;
      c.addEventListener("pointerdown", (e) => {
        drag = { x: e.clientX, y: e.clientY, cx: this.cx, cy: this.cy, moved: false };
        c.setPointerCapture(e.pointerId);
      });
      c.addEventListener("pointermove", (e) => {
        if (drag) {
          const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
          if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
          if (drag.moved) {
            this.cx = drag.cx - dx / this.scale; this.cy = drag.cy + dy / this.scale;
            c.classList.add("dragging");
            this._userMoved = true;
            this.redraw();
          }
        } else {
          this._hover(e);
        }
      });
      c.addEventListener("pointerup", (e) => {
        const d = drag; drag = null;
        c.classList.remove("dragging");
        if (!d || d.moved || !this.origin) return;
        const [px, py] = this._local(e);
        const hit = this._caseAt(px, py);
        if (hit && this.opts.onCaseClick) { this.opts.onCaseClick(hit); return; }
        const ll = this.toLatLon(px, py);
        if (this.opts.onClick) this.opts.onClick(ll.lat, ll.lon);
      });
      c.addEventListener("wheel", (e) => {
        e.preventDefault();
        const [px, py] = this._local(e);
        this.zoomBy(e.deltaY < 0 ? 1.25 : 0.8, px, py);
      }, { passive: false });
      c.addEventListener("pointerleave", () => { this.tip.style.display = "none"; });
    }
    _local(e) { const r = this.canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
    _caseAt(px, py) {
      let best = null, bestD = 10;
      for (const k of this.layers.cases) {
        const [sx, sy] = this.toScreen(k.m[0], k.m[1]);
        const d = Math.hypot(sx - px, sy - py);
        if (d < bestD) { best = k; bestD = d; }
      }
      return best;
    }
    _hover(e) {
      if (!this.origin) return;
      const [px, py] = this._local(e);
      const k = this._caseAt(px, py);
      if (k) {
        this.tip.textContent = `${k.case_no} · ${k.category || ""} · ${k.state_label || ""}${k.address ? " · " + k.address : ""}`;
        this.tip.style.left = `${px + 12}px`; this.tip.style.top = `${py + 12}px`;
        this.tip.style.display = "block";
        this.canvas.style.cursor = "pointer";
      } else {
        this.tip.style.display = "none";
        this.canvas.style.cursor = "";
      }
    }

    // ---- drawing ----
    _resize() {
      const r = this.container.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      this.w = Math.max(1, r.width); this.h = Math.max(1, r.height);
      this.canvas.width = Math.round(this.w * dpr); this.canvas.height = Math.round(this.h * dpr);
      this.canvas.style.width = `${this.w}px`; this.canvas.style.height = `${this.h}px`;
      this.dpr = dpr;
      if (this.extent && !this._userMoved) this.fitAll();
      this.redraw();
    }
    redraw() {
      if (this._pending) return;
      this._pending = true;
      // rAF batches redraws; the timer covers pages whose frames are throttled (background tabs, headless).
      const run = () => { if (this._pending) { this._pending = false; this.draw(); } };
      requestAnimationFrame(run);
      setTimeout(run, 40);
    }
    draw() {
      const ctx = this.canvas.getContext("2d");
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.fillStyle = "#eef2f6";
      ctx.fillRect(0, 0, this.w, this.h);
      if (!this.origin) { this._scaleBar(); return; }
      this._drawCells(ctx);
      this._drawRoads(ctx);
      if (this.scale > 0.55) this._drawComponents(ctx);
      this._drawTrail(ctx);
      this._drawCases(ctx);
      this._drawPeople(ctx);
      this._drawMarker(ctx);
      this._scaleBar();
    }
    _path(ctx, ring) {
      ring.forEach(([x, y], i) => { const [sx, sy] = this.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
      ctx.closePath();
    }
    _drawCells(ctx) {
      ctx.beginPath();
      for (const c of this.layers.cells) for (const ring of c.rings) this._path(ctx, ring);
      ctx.fillStyle = "#fbfcfd"; ctx.fill();
      ctx.lineWidth = this.scale > 0.3 ? 1 : 0.5;
      ctx.strokeStyle = "#d5dde6"; ctx.stroke();
      if (this.highlight) {
        ctx.beginPath();
        for (const ring of this.highlight.rings) this._path(ctx, ring);
        ctx.fillStyle = "rgba(26, 115, 232, 0.16)"; ctx.fill();
        ctx.lineWidth = 2; ctx.strokeStyle = "#1a73e8"; ctx.stroke();
      }
    }
    _drawRoads(ctx) {
      const width = Math.max(2, Math.min(14, 14 * this.scale));
      for (const [w, colour] of [[width + 2, "#c7cfd9"], [width, "#ffffff"]]) {
        ctx.beginPath();
        for (const r of this.layers.roads) {
          r.pts.forEach(([x, y], i) => { const [sx, sy] = this.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
        }
        ctx.lineWidth = w; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = colour; ctx.stroke();
      }
      if (this.scale < 0.08) return;
      ctx.font = "12px 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif";
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      for (const r of this.layers.roads) {
        if (r.pts.length < 2) continue;
        const a = this._labelPoint(r.pts);
        const [sx, sy] = this.toScreen(a[0], a[1]);
        if (sx < 0 || sy < 0 || sx > this.w || sy > this.h) continue;
        let angle = this._labelAngle(r.pts);
        if (angle > Math.PI / 2) angle -= Math.PI; if (angle < -Math.PI / 2) angle += Math.PI;
        ctx.save(); ctx.translate(sx, sy); ctx.rotate(angle);
        ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.strokeText(r.name, 0, 0);
        ctx.fillStyle = "#5f6b7a"; ctx.fillText(r.name, 0, 0);
        ctx.restore();
      }
    }
    _labelPoint(pts) { const a = pts[0], b = pts[pts.length - 1]; return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]; }
    _labelAngle(pts) { const a = pts[0], b = pts[pts.length - 1]; return Math.atan2(-(b[1] - a[1]), b[0] - a[0]); }
    _drawComponents(ctx) {
      const r = Math.min(3, 1.5 + this.scale);
      for (const k of this.layers.components) {
        const [sx, sy] = this.toScreen(k.m[0], k.m[1]);
        if (sx < -5 || sy < -5 || sx > this.w + 5 || sy > this.h + 5) continue;
        ctx.beginPath(); ctx.arc(sx, sy, r, 0, 2 * Math.PI);
        ctx.fillStyle = k.state === "完好" ? "#8a9bb0" : "#c5221f"; ctx.fill();
      }
    }
    _drawCases(ctx) {
      const r = Math.max(4, Math.min(8, 5 + this.scale * 2));
      for (const k of this.layers.cases) {
        const [sx, sy] = this.toScreen(k.m[0], k.m[1]);
        ctx.beginPath(); ctx.arc(sx, sy, r, 0, 2 * Math.PI);
        ctx.fillStyle = LIGHT_COLOURS[k.light] || "#1a73e8"; ctx.fill();
        ctx.lineWidth = 1.5; ctx.strokeStyle = "#ffffff"; ctx.stroke();
      }
    }
    _drawTrail(ctx) {
      if (this.layers.trail.length < 2) return;
      ctx.beginPath();
      this.layers.trail.forEach(([x, y], i) => { const [sx, sy] = this.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
      ctx.lineWidth = 3; ctx.strokeStyle = "#7b1fa2"; ctx.lineJoin = "round"; ctx.stroke();
    }
    _drawPeople(ctx) {
      ctx.font = "12px 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif";
      ctx.textAlign = "left"; ctx.textBaseline = "middle";
      for (const p of this.layers.people) {
        const [sx, sy] = this.toScreen(p.m[0], p.m[1]);
        ctx.beginPath(); ctx.rect(sx - 6, sy - 6, 12, 12);
        ctx.fillStyle = "#7b1fa2"; ctx.fill(); ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.stroke();
        if (p.label) {
          ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.95)"; ctx.strokeText(p.label, sx + 9, sy);
          ctx.fillStyle = "#3b0a57"; ctx.fillText(p.label, sx + 9, sy);
        }
      }
    }
    _drawMarker(ctx) {
      if (!this.marker) return;
      const [sx, sy] = this.toScreen(this.marker.m[0], this.marker.m[1]);
      ctx.save();
      ctx.translate(sx, sy);
      ctx.beginPath();
      ctx.moveTo(0, 0); ctx.bezierCurveTo(-4, -10, -11, -14, -11, -22);
      ctx.arc(0, -22, 11, Math.PI, 0); ctx.bezierCurveTo(11, -14, 4, -10, 0, 0);
      ctx.fillStyle = "#1a73e8"; ctx.fill(); ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.stroke();
      ctx.beginPath(); ctx.arc(0, -22, 4, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill();
      ctx.restore();
    }
    _scaleBar() {
      const target = 100 / this.scale;  // metres in 100 px
      const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
      const m = steps.find((s) => s >= target * 0.6) || 5000;
      this.scaleBar.style.width = `${Math.round(m * this.scale)}px`;
      this.scaleBar.textContent = m >= 1000 ? `${m / 1000} 公里` : `${m} 米`;
    }
  }

  global.VectorMap = VectorMap;
  global.VectorMap.LIGHT_COLOURS = LIGHT_COLOURS;
})(window);
