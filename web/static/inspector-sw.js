/* The service worker of 城管通 (/inspector): keeps the app shell and the inspector's own data for use without
 * network. The shell is cached at install; the page and the inspector's data (home, tasks, duty grid map,
 * categories, the duty grid's components for offline snapping, roads) are fetched from the network first and answered from the cache when there is none.
 * Submissions are not touched here: the page keeps them in IndexedDB and sends them itself, exactly once. */
"use strict";
const CACHE = "inspector-v1";
const SHELL = ["/inspector", "/static/inspector.js", "/static/inspector.css", "/static/map.js",
               "/static/img/logo.svg", "/static/img/inspector-192.png", "/inspector/manifest.webmanifest"];
const DATA = /^\/api\/v1\/(inspector\/(home|tasks|map|categories|components)|map\/roads)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(key, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/inspector") {
    event.respondWith(networkFirst(request, "/inspector"));
  } else if (DATA.test(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));  // one entry per resource: the latest answer
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
