// The static site's page: shows the precomputed example at once, starts the worker (worker.mjs) that runs
// Python, draws its progress, then swaps in the live app and keeps the page's Bokeh document and the worker's
// in sync (the same protocol as Panel's own pyodide-worker pages).
//
// Every message shown here is text (textContent), never HTML.

/* global Bokeh */ // BokehJS, loaded by the page before this module
import { cannotRun, config, language, listen, precomputedResponse, startedAt, startWorkers, tooLittleMemory }
  from './boot.mjs';
import { sayer } from './words.mjs';

const say = sayer(config.words, language);
const STEP_KEYS = { weights: 'site.step.weights', python: 'site.step.python', packages: 'site.step.packages',
  app: 'site.step.app' };
const STEPS = ['weights', 'python', 'packages', 'app'];
const $ = (selector) => document.querySelector(selector);
const boot = {
  panel: $('#te-boot'),
  title: $('#te-boot-title'),
  bar: $('#te-bar-fill'),
  detail: $('#te-boot-detail'),
  error: $('#te-boot-error'),
  errorText: $('#te-boot-error-text'),
  retry: $('#te-retry'),
};
const sizeOf = (files) => files.reduce((sum, file) => sum + file.bytes, 0);
const state = {
  bytes: {}, steps: {}, marks: {}, precomputedViews: [], live: false, startedAt,
  totals: { weights: sizeOf(config.model.files), packages: sizeOf(config.wheels) }, // known before any byte comes
};
window.__te_site = state; // read by the tests and the benchmark: timings and what runs

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

// -- what this browser can do -----------------------------------------------------------------------------

function browserProblem() {
  const problem = cannotRun();
  return problem ? say(problem) : null;
}

function memoryProblem() {
  return tooLittleMemory() ? say('site.low_memory', { have: navigator.deviceMemory, need: config.memory_gb }) : null;
}

// -- the progress panel -----------------------------------------------------------------------------------

function showProgress() {
  const total = STEPS.reduce((sum, step) => sum + (state.totals[step] ?? 0), 0);
  const doneBytes = STEPS.reduce((sum, step) => sum + (state.bytes[step] ?? 0), 0);
  const doneSteps = STEPS.filter((step) => state.steps[step] === 'done').length;
  // Bytes are most of the wait; each finished step also counts, so the bar moves while Python starts.
  const fraction = total ? 0.85 * (doneBytes / total) + 0.15 * (doneSteps / STEPS.length) : doneSteps / STEPS.length;
  boot.bar.style.width = `${(100 * Math.min(1, fraction)).toFixed(1)}%`;
  boot.bar.parentElement.setAttribute('aria-valuenow', String(Math.round(100 * fraction)));
  const running = STEPS.filter((step) => state.steps[step] === 'running').map((step) => say(STEP_KEYS[step]));
  const bytes = total ? say('site.bytes', { done: megabytes(doneBytes), total: megabytes(total) }) : '';
  boot.detail.textContent = [bytes, running.length ? running.join(' · ') : ''].filter(Boolean).join(' — ');
  for (const step of STEPS) {
    const item = document.querySelector(`[data-step="${step}"]`);
    if (item) item.dataset.state = state.steps[step] ?? 'waiting';
  }
}

function showError(message, retry, retryLabel = say('site.retry')) {
  boot.panel.dataset.state = 'failed';
  boot.title.textContent = say('site.failed');
  boot.errorText.textContent = message;
  boot.error.hidden = false;
  boot.retry.hidden = !retry;
  boot.retry.textContent = retryLabel;
  state.error = message;
}

// -- the documents ----------------------------------------------------------------------------------------

async function embed(docsJson, renderItems, rootIds, container) {
  container.replaceChildren();
  const roots = {};
  for (const [index, rootId] of rootIds.entries()) {
    const element = document.createElement('div');
    element.id = `${container.id}-root-${index}`;
    element.style.display = 'contents';
    container.appendChild(element);
    roots[rootId] = element.id;
  }
  renderItems[0].roots = roots;
  renderItems[0].root_ids = rootIds;
  const [views] = await Bokeh.embed.embed_items(docsJson, renderItems);
  return views;
}

async function showPrecomputed() {
  try {
    const response = await precomputedResponse;
    if (!response.ok) return;
    const { docs_json, render_items, root_ids } = await response.json();
    if (state.live) return;
    const views = await embed(docs_json, render_items, root_ids, $('#te-app'));
    state.precomputedViews = [...views.roots.values()];
    state.precomputedDocument = state.precomputedViews[0]?.model.document ?? null;
    state.precomputedPrompt = promptBox(state.precomputedDocument)?.value ?? null;
    $('#te-precomputed-note').hidden = state.live;
    state.precomputedAt = performance.now() - state.startedAt;
    state.marks['page.precomputed'] = performance.now();
  } catch (error) {
    console.warn(`the precomputed example could not be shown: ${error.message}`);
  }
}

// The page <-> worker sync of the Bokeh document, as in Panel's pyodide-worker template: changes made in the
// page go to the worker one batch at a time; while the worker is busy they queue (the latest value per property).
function linkDocument(worker, jsdoc) {
  let busy = false;
  let queue = [];
  let patching = 0;
  jsdoc.on_change((event) => {
    if ((event.setter_id != null && event.setter_id === 'py') || patching > 0) return;
    if (busy && event.model && event.attr) {
      queue = queue.filter((old) => !(old.model === event.model && old.attr === event.attr));
      queue.push(event);
      return;
    }
    busy = true;
    worker.postMessage({ type: 'patch', patch: jsdoc.create_json_patch([event]) });
  }, false);
  return {
    idle() {
      if (queue.length) {
        const patch = jsdoc.create_json_patch(queue);
        queue = [];
        worker.postMessage({ type: 'patch', patch });
      } else {
        busy = false;
      }
    },
    apply(patch, buffers) {
      patching += 1;
      try {
        jsdoc.apply_json_patch(patch, buffers);
      } finally {
        patching -= 1;
      }
    },
  };
}

// The prompt box of a Bokeh document (the app gives it the css class te-prompt), or null.
function promptBox(doc) {
  for (const model of doc?.all_models ?? []) if ((model.css_classes ?? []).includes('te-prompt')) return model;
  return null;
}

// What the student typed into the precomputed example's prompt box while the live model loaded (or null): it is
// not lost when the live app replaces the example, but put into the live prompt box, which runs it.
function typedWhileLoading() {
  const box = promptBox(state.precomputedDocument);
  const typed = box ? (box.value_input ?? box.value ?? '') : '';
  return typed.trim() && typed !== state.precomputedPrompt ? typed : null;
}

async function goLive(worker, message) {
  const typed = typedWhileLoading();
  state.live = true;
  for (const view of state.precomputedViews) view.remove();
  const index = Bokeh.documents.indexOf(state.precomputedDocument);
  if (index >= 0) Bokeh.documents.splice(index, 1); // the live document is then the page's only one
  state.precomputedViews = [];
  state.precomputedDocument = null;
  $('#te-precomputed-note').hidden = true;
  const views = await embed(JSON.parse(message.docs_json), JSON.parse(message.render_items),
    JSON.parse(message.root_ids), $('#te-app'));
  const jsdoc = [...views.roots.values()][0].model.document;
  state.document = jsdoc;
  state.link = linkDocument(worker, jsdoc);
  worker.postMessage({ type: 'rendered' });
  window.dispatchEvent(new Event('te-document-linked')); // what the page reported while drawing, told again
  const box = typed === null ? null : promptBox(jsdoc);
  if (box) box.setv({ value: typed, value_input: typed }); // sent to Python like a typed prompt: it runs
  boot.panel.hidden = true;
  document.body.dataset.live = 'true';
  state.liveAt = performance.now() - state.startedAt;
  state.marks['page.live'] = performance.now();
  keepForOffline();
}

// After the app is up (so that it does not slow the start): the service worker (sw.js) that lets the next visit
// open with no network. state.offlineReady says when this build's files are kept.
async function keepForOffline() {
  if (!config.offline || !('serviceWorker' in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.register(`${config.offline.worker}?build=${config.offline.build}`);
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    if (worker.state !== 'activated') {
      await new Promise((resolve, reject) => worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') resolve();
        if (worker.state === 'redundant') reject(new Error('the service worker was replaced or failed to install'));
      }));
    }
    state.offlineReady = true;
  } catch (error) {
    console.warn(`this page will need the network next time: ${error.message ?? error}`); // private mode, ...
  }
}

// -- start --------------------------------------------------------------------------------------------------

// The page's own words in its language (the build wrote them in English into index.html).
function showWords() {
  document.documentElement.lang = language === 'zh' ? 'zh-Hans' : language;
  boot.title.textContent = say('site.title');
  boot.panel.setAttribute('aria-label', say('site.loading_label'));
  boot.bar.parentElement.setAttribute('aria-label', say('site.progress_label'));
  boot.retry.textContent = say('site.retry');
  for (const [step, key] of Object.entries(STEP_KEYS)) {
    const item = document.querySelector(`[data-step="${step}"]`);
    if (item) item.textContent = say(key);
  }
  const note = config.precomputed;
  if (note) $('#te-precomputed-note').textContent = say('site.precomputed_note', { prompt: note.prompt, model: config.model.name });
}

function start() {
  showWords();
  const problem = browserProblem();
  if (problem) {
    showError(problem, false);
    return;
  }
  const memory = memoryProblem();
  if (memory && !state.memoryAccepted) {
    showPrecomputed();
    showError(memory, true, say('site.try_anyway'));
    boot.retry.addEventListener('click', () => {
      state.memoryAccepted = true;
      resetError();
      startWorker();
    }, { once: true });
    return;
  }
  showPrecomputed();
  startWorker();
}

function resetError() {
  boot.error.hidden = true;
  boot.panel.dataset.state = 'loading';
  boot.title.textContent = say('site.title');
  state.error = null;
}

function startWorker() {
  const { worker, fetcher } = startWorkers();
  listen(async (message) => {
    if (message.type === 'progress') {
      state.steps[message.step] = message.state;
      if (message.total !== undefined) {
        state.totals[message.step] = message.total;
        state.bytes[message.step] = message.done;
      }
      if (message.fromCache !== undefined) state.fromCache = message.fromCache;
      showProgress();
    } else if (message.type === 'mark') {
      state.marks[message.name] ??= message.at - performance.timeOrigin;
    } else if (message.type === 'render') {
      await goLive(worker, message);
    } else if (message.type === 'patch') {
      state.link?.apply(message.patch, message.buffers);
    } else if (message.type === 'idle') {
      state.link?.idle();
    } else if (message.type === 'error') {
      showError(message.message, message.retry);
    } else if (message.type === 'benchmark') {
      state.benchmarks.get(message.id)?.(JSON.parse(message.result));
      state.benchmarks.delete(message.id);
    } else if (message.type === 'fast' && message.loading) {
      state.fastLoading = true;
    } else if (message.type === 'fast') {
      state.fast = message.provider ?? null;
      state.fastThreads = message.threads ?? null;
      state.fastError = message.error ?? null;
      document.body.dataset.fast = message.provider ?? 'none';
    }
  });
  const stopped = (event) => showError(say('site.worker_stopped', { detail: event.message ?? say('site.unknown_error') }), false);
  worker.onerror = stopped;
  fetcher.onerror = stopped;
  boot.retry.addEventListener('click', () => {
    resetError();
    worker.postMessage({ type: 'retry' });
  });
  state.benchmarks = new Map();
  window.__te_benchmark = (request) => new Promise((resolve) => { // for scripts/bench_site.py
    const id = state.benchmarks.size + performance.now();
    state.benchmarks.set(id, resolve);
    worker.postMessage({ type: 'benchmark', id, request });
  });
}

start();
