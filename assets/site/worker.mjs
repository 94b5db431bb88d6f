// The static site's Web Worker: Python (Pyodide) runs the explainer app here, off the page's thread.
//
// Steps, each reported to the page as it goes (site.mjs draws the progress):
//   1. weights   the model's shards, manifest and tokenizer, fetched by the download worker (fetcher.mjs: checked,
//                kept in Cache Storage) on its own thread while Pyodide boots here, and handed over a port
//   2. python    Pyodide itself (from the site's own copy, or its CDN: only the base URL differs) with numpy,
//                regex and the rest of its packages the app needs (downloaded while it starts)
//   3. packages  Panel, Bokeh and our wheel (unpacked by the download worker, written here into site-packages) and
//                the SIMD matrix kernels (gpt2_core/kernels.py loads them)
//   4. app       app/browser.py builds the app on the model and hands its Bokeh document to the page
//   5. fast      onnxruntime-web on the same shards, loaded in the background when the student first asks for
//                Generate (that first generation runs on the NumPy model); later ones run on it
// A failed step reports a clear message; "retry" from the page runs the failed steps again (done ones stay done).
//
// Messages in:  start {config, location, language} + the port to the download worker, retry, patch {patch},
//               rendered, benchmark {id, request}
// Messages out: progress {step, state, done, total, detail}, mark {name, at}, render {docs_json, render_items,
//               root_ids}, patch {patch, buffers}, idle, error {step, message, retry}, fast {provider, threads} |
//               fast {error}, benchmark {id, result}

import { sayer } from './words.mjs';

const siteUrl = (path) => new URL(path, new URL('./', self.location.href)).href;
const KERNELS_PATH = '/home/pyodide/kernels/matmul.wasm'; // in Pyodide's file system

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
  mark(`${step}.${state}`);
}

// When each step of the boot happened, on the page's clock (ms since the page started loading): read by
// scripts/bench_site.py, which prints each step's own time.
function mark(name) {
  post({ type: 'mark', name, at: performance.timeOrigin + performance.now() });
}

// -- 1. the files the download worker hands over -----------------------------------------------------------

let downloads = null; // the port to fetcher.mjs
const arrived = new Map(); // file name -> Uint8Array (verified)
const groups = {}; // step ('weights' | 'packages') -> { promise, resolve, reject, failed, seen }

function group(step) {
  if (!groups[step]) {
    const entry = {};
    entry.promise = new Promise((resolve, reject) => Object.assign(entry, { resolve, reject }));
    entry.promise.catch(() => {}); // reported by whoever awaits it (run), not as an unhandled rejection
    groups[step] = entry;
  }
  return groups[step];
}

function listenToDownloads(port) {
  downloads = port;
  port.onmessage = (event) => {
    const message = event.data;
    if (message.type === 'file') {
      arrived.set(message.name, message.bytes);
    } else if (message.type === 'unpacked') {
      arrived.set(message.name, message.files); // a wheel's files: [{path, data}]
    } else if (message.type === 'done') {
      group(message.step).resolve(arrived);
    } else if (message.type === 'failed') {
      const entry = group(message.step);
      entry.failed = true;
      entry.reject(new Error(message.message));
    }
  };
}

/** The files of a step once they all arrived: a Map name -> Uint8Array (with the other steps' files). A failure
 *  is reported to the first caller after it; the next one (a retry) asks the download worker again. */
function received(step) {
  let entry = group(step);
  if (entry.failed && entry.seen) {
    delete groups[step];
    entry = group(step);
    downloads.postMessage({ type: 'fetch', step });
  }
  entry.seen = true;
  return entry.promise;
}

/** The files of a step handed over once more (the download worker reads them from its cache, checked again):
 *  onnxruntime-web needs the weights when the first Generate asks for it, long after Python read its copy. */
function receivedAgain(step) {
  delete groups[step];
  downloads.postMessage({ type: 'fetch', step, again: true });
  return group(step).promise;
}

function forget(files) {
  for (const file of files) arrived.delete(file.name);
}

async function fetchWeights() {
  const files = await received('weights');
  const total = config.model.files.reduce((sum, file) => sum + file.bytes, 0);
  progress('weights', 'done', { done: total, total });
  return files;
}

// -- 2. python --------------------------------------------------------------------------------------------

async function bootPython() {
  progress('python', 'running');
  const base = new URL(config.pyodide.base, self.location.href).href;
  const { loadPyodide } = await import(`${base}pyodide.mjs`);
  mark('python.imported');
  const py = await loadPyodide({
    indexURL: base,
    // The standard library compiled to bytecode by the build, where the site has its own copy (see build.py).
    ...(config.pyodide.stdlib ? { stdLibURL: siteUrl(config.pyodide.stdlib) } : {}),
    // Panel resolves its CSS from PANEL_CDN_ROOT when it is imported: the site's own copy, not Panel's CDN.
    // gpt2_core's matrix products use the SIMD kernels at TE_WASM_KERNELS (written there with the packages).
    env: { HOME: '/home/pyodide', PANEL_CDN_ROOT: siteUrl(config.panel_cdn_root), TE_WASM_KERNELS: KERNELS_PATH },
    // numpy and the rest of Pyodide's packages download while Pyodide itself starts, and are installed once it has
    packages: config.pyodide.packages,
    stdout: (line) => console.log(line),
    stderr: (line) => console.warn(line),
  });
  progress('python', 'done');
  return py;
}

// -- 3. packages ------------------------------------------------------------------------------------------

async function installPackages() {
  progress('packages', 'running');
  // (Pyodide's own packages are in already: loadPyodide installed them)
  const files = await received('packages');
  // Our wheels are pure Python, unpacked by the download worker: their files go into site-packages as they are.
  const sitePackages = pyodide.runPython('import site; site.getsitepackages()[0]');
  for (const wheel of config.wheels) {
    for (const { path, data } of files.get(wheel.name)) {
      const target = `${sitePackages}/${path}`;
      pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf('/')));
      pyodide.FS.writeFile(target, data, { canOwn: true });
    }
    files.delete(wheel.name);
  }
  pyodide.FS.mkdirTree(KERNELS_PATH.slice(0, KERNELS_PATH.lastIndexOf('/')));
  pyodide.FS.writeFile(KERNELS_PATH, files.get(config.kernels.name));
  files.delete(config.kernels.name);
  mark('packages.wheels');
  progress('packages', 'done');
}

// -- 4. app -----------------------------------------------------------------------------------------------

function sendPatch(patch, buffers) {
  post({ type: 'patch', patch, buffers });
}

async function startApp(weightsArriving) {
  progress('app', 'running');
  // Python imports the app and Panel while the weights may still be arriving; only the model needs them
  const browser = pyodide.pyimport('transformer_explainer.app.browser');
  mark('boot.app_imported');
  browser.prepare_panel(JSON.stringify(location));
  mark('boot.panel_imported');
  const weights = await weightsArriving;
  const options = JSON.stringify({ notice: config.model.notice ?? '', manifest_sha256: config.model.manifest_sha256,
    language });
  const loadFastPath = config.model.graph && config.runtime !== 'numpy' ? () => startFastPath() : null;
  const result = await browser.start(weights, options, loadFastPath, mark);
  forget(config.model.files); // Python holds the model now: the JavaScript copy goes (250 MB for GPT-2 small)
  const [docsJson, renderItems, rootIds] = result.toJs();
  result.destroy();
  post({ type: 'render', docs_json: docsJson, render_items: renderItems, root_ids: rootIds });
  progress('app', 'done');
  return browser;
}

// -- 5. the fast path -------------------------------------------------------------------------------------

async function startFastPath() {
  post({ type: 'fast', loading: true });
  try {
    const weights = await receivedAgain('weights');
    const bridge = await import(siteUrl(config.ort.bridge));
    const manifest = JSON.parse(new TextDecoder().decode(weights.get('manifest.json')));
    const session = await bridge.createSession({
      modelUrl: siteUrl(`${config.model.folder}/${config.model.graph}`),
      ortUrl: siteUrl(config.ort.folder),
      provider: config.provider ?? 'auto',
      files: { manifest, files: weights },
      graph: weights.get(config.model.graph),
    });
    forget(config.model.files); // onnxruntime-web holds its own copy now
    const provider = done.app.attach_fast_generator(session);
    post({ type: 'fast', provider, threads: session.threads });
  } catch (error) {
    // The NumPy model still generates (with its KV cache): say so once, do not fail the page.
    console.warn(`onnxruntime-web is not available, generating with the NumPy model: ${error.message ?? error}`);
    post({ type: 'fast', error: String(error.message ?? error) });
  }
}

// -- 6. BokehJS for the report download ---------------------------------------------------------------------

// The HTML report (the page's download) inlines BokehJS from Python's copy of Bokeh, which the site's wheel leaves
// out: the page's own files go there once the app is live (from the browser's cache; about 2 MB).
async function keepBokehForReports() {
  try {
    const folder = pyodide.runPython(
      'import bokeh, pathlib; str(pathlib.Path(bokeh.__file__).parent / "server" / "static" / "js")');
    pyodide.FS.mkdirTree(folder);
    for (const path of config.bokeh_js ?? []) {
      const response = await fetch(siteUrl(path));
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      pyodide.FS.writeFile(`${folder}/${path.slice(path.lastIndexOf('/') + 1)}`,
        new Uint8Array(await response.arrayBuffer()));
    }
  } catch (error) {
    console.warn(`the report download will not work: ${error.message ?? error}`);
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
  mark('worker.run');
  const weights = step('weights', fetchWeights); // the download worker fetches them while Pyodide boots here
  weights.catch(() => {}); // a failure is reported below, once, not as an unhandled rejection meanwhile
  try {
    pyodide = await step('python', bootPython);
    await step('packages', installPackages);
    await step('app', () => startApp(weights));
    step('bokeh_js', keepBokehForReports);
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
    listenToDownloads(event.ports[0]);
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
