// The static site's Web Worker: Python (Pyodide) runs the explainer app here, off the page's thread.
//
// Steps, each reported to the page as it goes (site.mjs draws the progress):
//   1. weights   the model's shards, manifest and tokenizer: checked (size, sha256), kept in Cache Storage;
//                downloaded while Pyodide boots
//   2. python    Pyodide itself (from the site's own copy, or its CDN: only the base URL differs)
//   3. packages  numpy and regex from Pyodide's lock; Panel, Bokeh and our wheel from the site (checked, cached)
//   4. app       app/browser.py builds the app on the model and hands its Bokeh document to the page
//   5. fast      onnxruntime-web on the same shards, loaded in the background when the student first asks for
//                Generate (that first generation runs on the NumPy model); later ones run on it
// A failed step reports a clear message; "retry" from the page runs the failed steps again (done ones stay done).
//
// Messages in:  start {config, location, language}, retry, patch {patch}, rendered, benchmark {id, request}
// Messages out: progress {step, state, done, total, detail}, render {docs_json, render_items, root_ids},
//               patch {patch, buffers}, idle, error {step, message, retry}, fast {provider} | fast {error},
//               benchmark {id, result}

import { fetchAll, forgetOtherBuilds } from './downloads.mjs';
import { sayer } from './words.mjs';

const CACHE_NAME = 'transformer-explainer-files';
const siteUrl = (path) => new URL(path, new URL('./', self.location.href)).href;

let config = null;
let location = null;
let language = 'en';
let say = sayer({}, 'en'); // the page's language, set by 'start'
const done = {}; // step name -> its result, once it succeeded
let pyodide = null;

function post(message) {
  self.postMessage(message);
}

function progress(step, state, extra = {}) {
  post({ type: 'progress', step, state, ...extra });
}

// -- 1. weights ------------------------------------------------------------------------------------------

function modelEntries() {
  const model = config.model;
  return model.files.map((file) => ({ ...file, url: siteUrl(`${model.folder}/${file.name}`) }));
}

async function fetchWeights() {
  const entries = modelEntries();
  const total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  let received = 0;
  progress('weights', 'running', { done: 0, total });
  const files = await fetchAll(entries, {
    cacheName: CACHE_NAME,
    say,
    onBytes: (delta) => {
      received += delta;
      progress('weights', 'running', { done: received, total });
    },
  });
  progress('weights', 'done', { done: total, total, fromCache: files.stats.fromCache });
  return files;
}

// -- 2. python --------------------------------------------------------------------------------------------

async function bootPython() {
  progress('python', 'running');
  const base = new URL(config.pyodide.base, self.location.href).href;
  const { loadPyodide } = await import(`${base}pyodide.mjs`);
  const py = await loadPyodide({
    indexURL: base,
    // Panel resolves its CSS from PANEL_CDN_ROOT when it is imported: the site's own copy, not Panel's CDN.
    env: { HOME: '/home/pyodide', PANEL_CDN_ROOT: siteUrl(config.panel_cdn_root) },
    stdout: (line) => console.log(line),
    stderr: (line) => console.warn(line),
  });
  progress('python', 'done');
  return py;
}

// -- 3. packages ------------------------------------------------------------------------------------------

async function installPackages() {
  const wheels = config.wheels.map((file) => ({ ...file, url: siteUrl(`${config.wheel_folder}/${file.name}`) }));
  const total = wheels.reduce((sum, wheel) => sum + wheel.bytes, 0);
  let received = 0;
  progress('packages', 'running', { done: 0, total });
  const [files] = await Promise.all([
    fetchAll(wheels, {
      cacheName: CACHE_NAME,
      say,
      onBytes: (delta) => {
        received += delta;
        progress('packages', 'running', { done: received, total });
      },
    }),
    pyodide.loadPackage(config.pyodide.packages, { messageCallback: () => {}, errorCallback: (m) => console.warn(m) }),
  ]);
  // Our wheels are pure Python: Pyodide's own installer unpacks them into site-packages from the checked bytes.
  const sitePackages = pyodide.runPython('import site; site.getsitepackages()[0]');
  for (const wheel of wheels) {
    pyodide.unpackArchive(files.get(wheel.name), 'wheel', { extractDir: sitePackages });
  }
  progress('packages', 'done', { done: total, total });
}

// -- 4. app -----------------------------------------------------------------------------------------------

function sendPatch(patch, buffers) {
  post({ type: 'patch', patch, buffers });
}

async function startApp(weights) {
  progress('app', 'running');
  const browser = pyodide.pyimport('transformer_explainer.app.browser');
  browser.prepare_panel(JSON.stringify(location));
  const options = JSON.stringify({ notice: config.model.notice ?? '', manifest_sha256: config.model.manifest_sha256,
    language });
  const loadFastPath = config.model.graph && config.runtime !== 'numpy' ? () => startFastPath(weights) : null;
  const result = await browser.start(weights, options, loadFastPath);
  const [docsJson, renderItems, rootIds] = result.toJs();
  result.destroy();
  post({ type: 'render', docs_json: docsJson, render_items: renderItems, root_ids: rootIds });
  progress('app', 'done');
  return browser;
}

// -- 5. the fast path -------------------------------------------------------------------------------------

async function startFastPath(weights) {
  post({ type: 'fast', loading: true });
  try {
    const bridge = await import(siteUrl(config.ort.bridge));
    const manifest = JSON.parse(new TextDecoder().decode(weights.get('manifest.json')));
    const session = await bridge.createSession({
      modelUrl: siteUrl(`${config.model.folder}/${config.model.graph}`),
      ortUrl: siteUrl(config.ort.folder),
      provider: config.provider ?? 'auto',
      files: { manifest, files: weights },
      graph: weights.get(config.model.graph),
    });
    const provider = done.app.attach_fast_generator(session);
    post({ type: 'fast', provider });
  } catch (error) {
    // The NumPy model still generates (with its KV cache): say so once, do not fail the page.
    console.warn(`onnxruntime-web is not available, generating with the NumPy model: ${error.message ?? error}`);
    post({ type: 'fast', error: String(error.message ?? error) });
  }
}

// -- the pipeline -----------------------------------------------------------------------------------------

async function step(name, work) {
  if (name in done) return done[name];
  try {
    done[name] = await work();
    return done[name];
  } catch (error) {
    const message = error?.message ?? String(error);
    progress(name, 'failed');
    throw Object.assign(new Error(message), { step: name });
  }
}

function pythonMessage(error) {
  // A Python exception arrives as "PythonError: Traceback ...\nWeightsError: <the message>": the last line says it.
  const lines = String(error.message ?? error).trim().split('\n');
  return lines[lines.length - 1].replace(/^[A-Za-z_.]*(Error|Exception): /, '');
}

async function run() {
  const weights = step('weights', fetchWeights); // the network works while Pyodide boots
  weights.catch(() => {}); // a failure is reported below, once, not as an unhandled rejection meanwhile
  try {
    pyodide = await step('python', bootPython);
    await step('packages', installPackages);
    const files = await weights;
    await step('app', () => startApp(files));
    forgetOtherBuilds(CACHE_NAME, [...modelEntries(), ...config.wheels.map((w) => ({ ...w, url: siteUrl(`${config.wheel_folder}/${w.name}`) }))]);
  } catch (error) {
    const failure = await weights.then(() => error, (weightError) => weightError);
    const stepName = failure.step ?? error.step;
    let message = stepName === 'app' ? pythonMessage(failure) : failure.message;
    if (/out of memory|allocation failed|cannot allocate|Aborted\(OOM\)/i.test(message)) {
      message = say('site.out_of_memory', { need: config.memory_gb });
    }
    post({ type: 'error', step: stepName, message, retry: true });
  }
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === 'start') {
    config = message.config;
    location = message.location;
    language = message.language ?? 'en';
    say = sayer(config.words ?? {}, language);
    run();
  } else if (message.type === 'retry') {
    run();
  } else if (message.type === 'rendered') {
    done.app.link_document(sendPatch);
  } else if (message.type === 'benchmark') {
    // scripts/bench_site.py: timings measured here (app/browser.py benchmark), not through the page's document
    const result = await done.app.benchmark(JSON.stringify(message.request));
    post({ type: 'benchmark', id: message.id, result });
  } else if (message.type === 'patch') {
    try {
      done.app.receive_patch(message.patch);
    } catch (error) {
      console.error(`the app could not apply a change from the page: ${pythonMessage(error)}`);
    }
    post({ type: 'idle' });
  }
};
