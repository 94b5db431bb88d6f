// The static site's service worker: a second visit opens with no network at all.
//
// Registered by site.mjs once the live app is up, as sw.js?build=<id> (the build's id, from the page's config):
// installing, it keeps every file the page needs to start (offline.json, written by build.py) in a cache of that
// build; serving, it asks the network first and keeps what comes (so an online visit always gets the files on the
// server, and a rebuilt site replaces the old files there), and answers from the cache when the network fails.
// A new build is a new registration: its cache replaces the old one when it takes over.
//
// It also makes the page cross-origin isolated where the host does not (GitHub Pages sends no COOP/COEP headers):
// from the second visit on, every response it serves carries them, so that onnxruntime-web may run on several
// threads (SharedArrayBuffer). The site loads nothing from other origins, so nothing is refused for it.
//
// The model's files, the wheels and the kernels are not kept here: the download worker keeps them itself, checked
// against their sha256, in Cache Storage (downloads.mjs), and reads them from there before asking the network.

const BUILD = new URL(self.location.href).searchParams.get('build') ?? 'unknown';
const PREFIX = 'transformer-explainer-site-';
const CACHE = `${PREFIX}${BUILD}`;
const KEPT_BY_THE_DOWNLOADS = /\/(model|wheels|kernels)\/[^/]+$/;
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const scope = self.registration.scope;
    const listing = await fetch(new URL(`offline.json?build=${BUILD}`, scope), { cache: 'no-cache' });
    const { files } = await listing.json();
    const cache = await caches.open(CACHE);
    await cache.addAll(files.map((path) => new Request(new URL(path, scope), { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || KEPT_BY_THE_DOWNLOADS.test(url.pathname)) {
    return; // the browser fetches it as if there were no service worker
  }
  event.respondWith(networkFirst(request, url).then(withIsolation));
});

/** The response with the isolation headers the host left out (one that sends them is served as it is). */
function withIsolation(response) {
  if (response.type === 'opaque' || response.status === 0 || response.headers.has('Cross-Origin-Embedder-Policy')) {
    return response;
  }
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function networkFirst(request, url) {
  const cache = await caches.open(CACHE);
  // A page's link carries its settings (?prompt=...): every one opens the same page.
  const key = request.mode === 'navigate' ? new URL('./', self.registration.scope).href : url.href;
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic' && response.status === 200) {
      await cache.put(key, response.clone());
    }
    return response;
  } catch (error) {
    const kept = (await cache.match(key)) ?? (await cache.match(key, { ignoreSearch: true })); // (Panel's ?v=)
    if (kept) return kept;
    throw error;
  }
}
