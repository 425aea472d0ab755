/* The public report form's map: pick the place by clicking (or tapping) the road map; lat/lon go into the form. */
(function () {
  "use strict";
  const box = document.getElementById("report-map");
  if (!box || typeof VectorMap === "undefined") return;
  const lat = document.getElementById("lat"), lon = document.getElementById("lon");
  const picked = document.getElementById("picked");
  const map = new VectorMap(box, {
    onClick: (la, lo) => {
      lat.value = la.toFixed(6); lon.value = lo.toFixed(6);
      map.setMarker(la, lo);
      picked.textContent = `已选位置 ${lat.value}, ${lon.value}`;
    },
  });
  window.reportMap = map;
  fetch("/api/v1/public/roads").then((r) => r.json()).then((roads) => {
    map.setRoads(roads); map.fitAll();
    if (lat.value && lon.value) map.setMarker(+lat.value, +lon.value);
    document.body.dataset.mapReady = "1";
  }).catch(() => { document.body.dataset.mapReady = "1"; });
})();
