// The first thing the page runs (index.html loads it before BokehJS, `async`): starts the two threads that take
// longest, at once: the Python worker (worker.mjs: Pyodide boots there) and the download worker (fetcher.mjs: the
// wheels and the model's files), joined by a MessageChannel so the files go straight from one to the other.
// site.mjs takes over the page (progress, the precomputed example, the live app) through `listen`; messages that
// came before it are kept and replayed.
//
// Nothing starts when this browser cannot run the site, or when it reports too little memory: site.mjs says so
// (and may start the workers later, with `startWorkers`, when the student chooses to try anyway).

import { pickLanguage } from './words.mjs';

export const config = JSON.parse(document.getElementById('te-site-config').textContent);
// The page's language: the link's ?lang=, else the browser's (the app in the worker follows the same rule).
export const language = pickLanguage(config.words, window.location.search,
  navigator.languages ?? [navigator.language]);
export const startedAt = performance.now();
// The precomputed example's page (site.mjs draws it), asked for before the workers' many requests
export const precomputedResponse = config.precomputed
  ? fetch(config.precomputed.docs[language] ?? config.precomputed.docs.en).catch(() => ({ ok: false }))
  : Promise.resolve({ ok: false });
const CACHE_NAME = 'transformer-explainer-files';

export function cannotRun() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') return 'site.no_wasm';
  if (typeof Worker !== 'function') return 'site.no_workers';
  return null;
}

export function tooLittleMemory() {
  const needed = config.memory_gb;
  return navigator.deviceMemory !== undefined && needed && navigator.deviceMemory < needed;
}

// onnxruntime-web, loaded at the first Generate, about doubles the page's memory (measured on GPT-2 small: +1.6 GB
// beside the NumPy model's 1 GB: it holds the weights in float32 and packed for its kernels). Where that does not
// fit, Generate runs on the NumPy model's KV cache, which needs nothing more.
const FAST_PATH_DEVICE_GB = 8; // the most Chrome reports (navigator.deviceMemory is capped there)

/** Whether onnxruntime-web may load beside the NumPy model: where the browser reports 8 GB of memory, or reports
 * nothing and is not a phone or tablet (its main pointer is a finger: iOS Safari reports no memory). */
export function fastPathFits() {
  if (navigator.deviceMemory !== undefined) return navigator.deviceMemory >= FAST_PATH_DEVICE_GB;
  return !globalThis.matchMedia?.('(pointer: coarse)').matches;
}

const siteUrl = (path) => new URL(path, document.baseURI).href;
let started = null;
const kept = []; // messages from either worker before site.mjs listens
let handler = null;

/** Start the workers (once); returns { worker, fetcher }. */
export function startWorkers() {
  if (started) return started;
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
  const fetcher = new Worker(new URL('./fetcher.mjs', import.meta.url), { type: 'module' });
  const deliver = (event) => (handler ? handler(event.data) : kept.push(event.data));
  worker.onmessage = deliver;
  fetcher.onmessage = deliver;
  const channel = new MessageChannel();
  const entries = (folder, files) => files.map((file) => ({ ...file, url: siteUrl(`${folder}/${file.name}`) }));
  fetcher.postMessage({
    type: 'start',
    groups: {
      packages: [...entries(config.wheel_folder, config.wheels), { ...config.kernels, url: siteUrl(config.kernels.path) }],
      weights: entries(config.model.folder, config.model.files),
    },
    cacheName: CACHE_NAME,
    words: config.words,
    language,
  }, [channel.port1]);
  const query = new URLSearchParams(window.location.search);
  const location = {};
  for (const key of ['href', 'hostname', 'pathname', 'protocol', 'port', 'search', 'hash']) {
    location[key] = window.location[key];
  }
  worker.postMessage({
    type: 'start',
    // ?runtime=numpy never loads onnxruntime-web, ?runtime=onnx always does; else it loads where it fits
    config: { ...config, runtime: query.get('runtime') ?? (fastPathFits() ? null : 'numpy'),
      provider: query.get('provider') },
    location,
    language,
  }, [channel.port2]);
  started = { worker, fetcher };
  return started;
}

/** Every message of the workers, those that came before included, from now on goes to `onMessage`. */
export function listen(onMessage) {
  handler = onMessage;
  for (const message of kept.splice(0)) onMessage(message);
}

if (!cannotRun() && !tooLittleMemory()) startWorkers();
