// The lead's view of an inspector's day: the trail on the map (a file, not inline: the pages' CSP allows
// scripts from this site only).
(function () {
  "use strict";
  const data = document.getElementById("day-data");
  if (!data) { document.body.dataset.ready = "1"; return; }
  const day = JSON.parse(data.textContent);
  const map = new window.VectorMap(document.getElementById("trail-map"));
  const get = (u) => fetch(u, { credentials: "same-origin" }).then((r) => r.json());
  Promise.allSettled([get("/api/v1/grid/cells"), get("/api/v1/map/roads")]).then(([cells, roads]) => {
    if (cells.status === "fulfilled") map.setCells(cells.value);
    if (roads.status === "fulfilled") map.setRoads(roads.value);
    map.setTrail(day.trail.map((p) => [p[0], p[1]]));
    const last = day.trail[day.trail.length - 1];
    if (last) { map.setPeople([{ lat: last[0], lon: last[1], label: day.username }]); map.centerOn(last[0], last[1], 0.3); }
    document.body.dataset.ready = "1";
  });
})();
