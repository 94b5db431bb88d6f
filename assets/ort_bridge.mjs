// GPT-2 on onnxruntime-web: fetch the weight shards once, create a session, prefill, decode.
//
// The graph is the one gpt2_core/onnx_export.py writes (model.onnx beside manifest.json, the weight
// shards and the tokenizer). Its weights are ONNX external data pointing into the shards, so the
// bytes fetched here can also feed the NumPy model in Pyodide: one download, not two.
//
// From plain JS:
//   import { createSession } from './ort_bridge.mjs';
//   const gpt2 = await createSession({ modelUrl: 'models/gpt2/model.onnx', onProgress: (done, total) => ... });
//   gpt2.provider;                           // 'webgpu' or 'wasm': what actually runs
//   let logits = await gpt2.prefill([464, 2068, 7586]);  // Float32Array [n_vocab]
//   logits = await gpt2.decodeStep(21831);   // the KV cache stays here, between steps
//   gpt2.reset();
// From Python in Pyodide: gpt2_core/onnx_runtime.py (OnnxGPT2.from_url) imports this module.

const DEFAULT_ORT_URL = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
// One onnxruntime-web build per provider, so a browser downloads only the runtime it uses: the
// wasm-only build (14 MB of .wasm), or for WebGPU (it includes the CPU kernels too) the JSPI build
// (17 MB) where the browser has WebAssembly JSPI, else the asyncify build (27 MB).
const ORT_BUILDS = { wasm: 'ort.wasm.min.mjs', webgpuJspi: 'ort.jspi.min.mjs', webgpuAsyncify: 'ort.webgpu.min.mjs' };
const PARALLEL_FETCHES = 6; // what a browser opens per host over HTTP/1.1

/** The onnxruntime-web module file for a provider. */
export function ortBuildFor(provider) {
  if (provider === 'wasm') return ORT_BUILDS.wasm;
  return typeof WebAssembly.Suspending === 'function' ? ORT_BUILDS.webgpuJspi : ORT_BUILDS.webgpuAsyncify;
}

/**
 * How many threads onnxruntime-web's wasm provider can use here: up to 4 of the device's cores where the page is
 * cross-origin isolated (threads share memory through SharedArrayBuffer, which needs COOP/COEP headers), else 1.
 * A decode step reads every weight once, so a second thread nearly halves it (measured here on GPT-2 small, 2
 * cores: 46 -> 30 ms per token).
 */
export function threadsAvailable() {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer !== 'function') return 1;
  return Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
}

/** Throws when this browser cannot run onnxruntime-web at all. */
export function checkBrowser() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    throw new Error(
      'this browser cannot run the model: it has no WebAssembly (use a recent Chrome, Edge, Firefox or Safari)',
    );
  }
  if (typeof fetch !== 'function') {
    throw new Error('this browser cannot run the model: it has no fetch()');
  }
}

/** 'webgpu' when asked for (or 'auto') and the browser offers a WebGPU adapter, else 'wasm'. */
export async function pickProvider(requested = 'auto') {
  if (!['auto', 'webgpu', 'wasm'].includes(requested)) {
    throw new Error(`unknown provider ${JSON.stringify(requested)}: use 'auto', 'webgpu' or 'wasm'`);
  }
  if (requested === 'wasm') return 'wasm';
  let adapter;
  try {
    adapter = globalThis.navigator?.gpu ? await navigator.gpu.requestAdapter() : null;
  } catch {
    adapter = null; // some browsers throw instead of returning null
  }
  if (adapter) return 'webgpu';
  if (requested === 'webgpu') {
    throw new Error('the webgpu provider was requested, but this browser offers no WebGPU adapter (navigator.gpu)');
  }
  return 'wasm';
}

// -- fetching -----------------------------------------------------------------------------------------

async function fetchResponse(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`cannot fetch ${what} ${url}: ${error.message} (is the server reachable?)`, { cause: error });
  }
  if (!response.ok) {
    const missing =
      response.status === 404 ? ' (missing model file: export it with python -m transformer_explainer.gpt2_core.onnx_export)' : '';
    const status = `${response.status} ${response.statusText}`;
    throw new Error(`cannot load ${what} ${url}: the server answered ${status}${missing}`);
  }
  return response;
}

/** The body of `url` as bytes, reporting each chunk's size to `onBytes` as it arrives. */
async function fetchBytes(url, what, onBytes = () => {}, expectedBytes = undefined) {
  const response = await fetchResponse(url, what);
  if (!response.body || expectedBytes === undefined) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.byteLength);
    return bytes;
  }
  const bytes = new Uint8Array(expectedBytes);
  const reader = response.body.getReader();
  let received = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw new Error(`the download of ${what} ${url} broke off after ${received} bytes: ${error.message}`, { cause: error });
    }
    if (chunk.done) break;
    if (received + chunk.value.byteLength > expectedBytes) {
      throw new Error(
        `${what} ${url} is larger than the ${expectedBytes} bytes the manifest says: it is from another model`,
      );
    }
    bytes.set(chunk.value, received);
    received += chunk.value.byteLength;
    onBytes(chunk.value.byteLength);
  }
  if (received !== expectedBytes) {
    throw new Error(
      `${what} ${url} has ${received} bytes, the manifest says ${expectedBytes}: it is truncated or from another model`,
    );
  }
  return bytes;
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function inParallel(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The manifest and every file it lists (weight shards, tokenizer), fetched in parallel.
 * onProgress(doneBytes, totalBytes) follows the weight shards. Each shard is checked against its
 * size and, where the page has WebCrypto (https or localhost), its sha256.
 * Returns { manifest, files: Map(fileName -> Uint8Array), verified }; files holds manifest.json too.
 */
export async function fetchModelFiles(manifestUrl, { onProgress = () => {}, verify = true } = {}) {
  checkBrowser();
  const manifestBytes = new Uint8Array(await (await fetchResponse(manifestUrl, 'the weight manifest')).arrayBuffer());
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (error) {
    throw new Error(`the weight manifest ${manifestUrl} is not valid JSON: ${error.message}`, { cause: error });
  }
  const base = new URL('.', new URL(manifestUrl, globalThis.location?.href)).href;
  const total = manifest.shards.reduce((sum, shard) => sum + shard.bytes, 0);
  const checkSha = verify && !!globalThis.crypto?.subtle;
  let done = 0;
  onProgress(0, total);
  const files = new Map([['manifest.json', manifestBytes]]); // every file by name, as Python's shard readers ask
  await inParallel(manifest.shards, PARALLEL_FETCHES, async (shard) => {
    const bytes = await fetchBytes(new URL(shard.file, base).href, 'the weight shard', (n) => {
      done += n;
      onProgress(done, total);
    }, shard.bytes);
    if (checkSha && (await sha256Hex(bytes)) !== shard.sha256) {
      throw new Error(
        `the weight shard ${shard.file} does not match its sha256 in the manifest: it is corrupt or from another model`,
      );
    }
    files.set(shard.file, bytes);
  });
  for (const name of Object.values(manifest.tokenizer ?? {})) {
    files.set(name, await fetchBytes(new URL(name, base).href, 'the tokenizer file'));
  }
  return { manifest, files, verified: checkSha };
}

// -- the runtime --------------------------------------------------------------------------------------

const loadedOrt = new Map(); // module URL -> the onnxruntime-web module (each build is imported once)

async function loadOrt(ortUrl, build, threads) {
  const url = new URL(build, ortUrl).href;
  if (!loadedOrt.has(url)) {
    let ort;
    try {
      ort = await import(url);
    } catch (error) {
      throw new Error(
        `cannot load onnxruntime-web from ${url}: ${error.message} (run npm ci in assets/ and serve its node_modules)`,
        { cause: error },
      );
    }
    loadedOrt.set(url, ort.default ?? ort);
  }
  const ort = loadedOrt.get(url);
  ort.env.wasm.wasmPaths = ortUrl; // the .wasm files beside the module, never a CDN
  ort.env.wasm.numThreads = threads; // more than 1 needs cross-origin isolation (COOP/COEP headers)
  ort.env.wasm.proxy = false;
  return ort;
}

/**
 * A GPT-2 session. Options:
 *   modelUrl     model.onnx (required); manifest.json and the shards are looked up beside it
 *   manifestUrl  where manifest.json is, if elsewhere
 *   ortUrl       the folder serving onnxruntime-web's dist files (default: ./node_modules/onnxruntime-web/dist/)
 *   provider     'auto' (webgpu when there is an adapter, else wasm), 'webgpu' or 'wasm'
 *   threads      wasm threads: a number, or 'auto' (the default: threadsAvailable())
 *   ortBuild     an onnxruntime-web module file to use instead of ortBuildFor(provider)
 *   onProgress   (doneBytes, totalBytes) while the weights download
 *   verify       check each shard's sha256 (default true)
 *   files        { manifest, files } from fetchModelFiles, when the caller fetched them already
 *   graph        the bytes of model.onnx, when the caller fetched them already (then modelUrl only names it)
 *   keepShards   keep the shard bytes in session.files (for the NumPy model in Pyodide: one download)
 */
export async function createSession(options = {}) {
  const { modelUrl, provider = 'auto', threads = 'auto', onProgress, verify = true, keepShards = false } = options;
  checkBrowser();
  if (!modelUrl) throw new Error('createSession needs a modelUrl (the model.onnx written by gpt2_core.onnx_export)');
  const pageUrl = globalThis.location?.href;
  const manifestUrl = options.manifestUrl ?? new URL('manifest.json', new URL(modelUrl, pageUrl)).href;
  const ortUrl = new URL(options.ortUrl ?? DEFAULT_ORT_URL, pageUrl).href.replace(/\/?$/, '/');

  const chosen = await pickProvider(provider);
  const ortBuild = options.ortBuild ?? ortBuildFor(chosen);
  const [graph, fetched, ort] = await Promise.all([
    options.graph ?? fetchBytes(new URL(modelUrl, pageUrl).href, 'the model graph'),
    options.files ?? fetchModelFiles(manifestUrl, { onProgress, verify }),
    loadOrt(ortUrl, ortBuild, threads === 'auto' ? threadsAvailable() : threads),
  ]);
  const { manifest, files } = fetched;
  const externalData = manifest.shards.map((shard) => ({ path: shard.file, data: files.get(shard.file) }));

  const sessionOptions = { executionProviders: [chosen], externalData, graphOptimizationLevel: 'all' };
  if (chosen === 'webgpu') {
    // The KV cache stays in GPU memory between steps; only the logits come back to JS.
    sessionOptions.preferredOutputLocation = Object.fromEntries(
      presentNames(manifest.config.n_layer).map((name) => [name, 'gpu-buffer']),
    );
  }
  let session;
  try {
    session = await ort.InferenceSession.create(graph, sessionOptions);
  } catch (error) {
    throw new Error(`onnxruntime-web (${chosen}) cannot open ${modelUrl}: ${error.message ?? error}`, { cause: error });
  }
  if (!keepShards && !options.files) {
    for (const shard of manifest.shards) files.delete(shard.file); // onnxruntime holds its own copy now
  }
  return new GPT2Session(ort, session, manifest, chosen, files, ortBuild);
}

function kvNames(prefix, nLayer) {
  return Array.from({ length: nLayer }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat();
}

function presentNames(nLayer) {
  return kvNames('present', nLayer);
}

/**
 * One layer's keys (or values), [n_head, length, d_head], kept on the JS side for the wasm provider.
 * Fetching the graph's whole `present` outputs would make onnxruntime-web allocate fresh typed
 * arrays for the entire cache every step (measured here at context 512: fetching them costs more
 * than running the model). Instead each step fetches only this call's keys and values (`new.*`)
 * and appends them here, into one of two buffers that are reused and grow to twice what is needed
 * (at most the context length) when they are too small.
 */
class GrowingCache {
  constructor(ort, nHead, dHead, maxTokens) {
    const [front, back] = [new Float32Array(0), new Float32Array(0)];
    Object.assign(this, { ort, nHead, dHead, maxSize: nHead * maxTokens * dHead, length: 0, front, back });
  }

  /** The cache as the next past input: a view, no copy. */
  tensor() {
    const size = this.nHead * this.length * this.dHead;
    return new this.ort.Tensor('float32', this.front.subarray(0, size), [this.nHead, this.length, this.dHead]);
  }

  /** Append `fresh` [n_head, n, d_head]: each head's rows move into the back buffer, followed by the new ones. */
  append(fresh) {
    const [H, D, old, n] = [this.nHead, this.dHead, this.length, fresh.dims[1]];
    const needed = H * (old + n) * D;
    if (this.back.length < needed) this.back = new Float32Array(Math.max(needed, Math.min(2 * needed, this.maxSize)));
    for (let h = 0; h < H; h++) {
      this.back.set(this.front.subarray(h * old * D, (h + 1) * old * D), h * (old + n) * D);
      this.back.set(fresh.data.subarray(h * n * D, (h + 1) * n * D), (h * (old + n) + old) * D);
    }
    [this.front, this.back] = [this.back, this.front];
    this.length = old + n;
  }

  reset() {
    this.length = 0;
  }
}

export class GPT2Session {
  constructor(ort, session, manifest, provider, files, ortBuild) {
    this.ort = ort;
    this.session = session;
    this.manifest = manifest;
    this.provider = provider; // the provider that runs: 'webgpu' or 'wasm'
    this.ortBuild = ortBuild; // the onnxruntime-web module file it runs on
    this.threads = provider === 'wasm' ? ort.env.wasm.numThreads : 1; // the wasm provider's threads
    this.files = files; // manifest.json and the tokenizer files (and the shards, with keepShards)
    const config = manifest.config;
    this.nLayer = config.n_layer;
    this.nHead = config.n_head;
    this.dHead = config.n_embd / config.n_head;
    this.nCtx = config.n_positions;
    this.nVocab = config.vocab_size;
    this.hasAttention = session.outputNames.includes('attention');
    this.attention = null; // Float32Array [n_layer, n_head, ctx] after each step, if the graph has it
    this.attentionDims = null;
    // Where the KV cache lives between steps: on the GPU (webgpu: the present outputs stay there as
    // gpu-buffer tensors) or in JS buffers this bridge appends to (wasm: see GrowingCache).
    this.keepsCacheInJs = provider === 'wasm';
    this.pastNames = kvNames('past', this.nLayer);
    this.fetches = [
      'logits',
      ...(this.keepsCacheInJs ? kvNames('new', this.nLayer) : presentNames(this.nLayer)),
      ...(this.hasAttention ? ['attention'] : []),
    ];
    const newCache = () => new GrowingCache(ort, this.nHead, this.dHead, this.nCtx);
    this.caches = this.keepsCacheInJs ? Object.fromEntries(this.pastNames.map((name) => [name, newCache()])) : null;
    this.past = null;
    this.length = 0; // tokens in the KV cache
    this.reset();
  }

  /** Forget the sequence: the next feed starts a new prompt. */
  reset() {
    this.disposePast();
    this.length = 0;
    const empty = () => new this.ort.Tensor('float32', new Float32Array(0), [this.nHead, 0, this.dHead]);
    this.past = Object.fromEntries(this.pastNames.map((name) => [name, empty()]));
    for (const cache of Object.values(this.caches ?? {})) cache.reset();
  }

  disposePast() {
    for (const tensor of Object.values(this.past ?? {})) {
      if (tensor.location === 'gpu-buffer') tensor.dispose();
    }
  }

  /** Run `ids` (continuing the cached tokens); returns the last position's logits, Float32Array [n_vocab]. */
  async feed(ids) {
    ids = Array.from(ids, Number);
    if (ids.length === 0) throw new Error('feed needs at least one token id');
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.nVocab);
    if (bad !== undefined) throw new Error(`token id ${bad} is outside the vocabulary (0..${this.nVocab - 1})`);
    if (this.length + ids.length > this.nCtx) {
      throw new Error(`${this.length} cached + ${ids.length} new tokens exceed the context of ${this.nCtx}`);
    }
    const inputIds = new this.ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length]);
    const outputs = await this.session.run({ input_ids: inputIds, ...this.past }, this.fetches);
    this.disposePast();
    this.past = {};
    for (const name of this.pastNames) {
      if (this.keepsCacheInJs) {
        this.caches[name].append(outputs[name.replace('past.', 'new.')]);
        this.past[name] = this.caches[name].tensor();
      } else {
        this.past[name] = outputs[name.replace('past.', 'present.')];
      }
    }
    this.length += ids.length;
    if (this.hasAttention) {
      this.attention = outputs.attention.data;
      this.attentionDims = outputs.attention.dims;
    }
    return outputs.logits.data;
  }

  /** A new prompt: reset, then run all of `ids`. */
  async prefill(ids) {
    this.reset();
    return this.feed(ids);
  }

  /** One more token. */
  async decodeStep(id) {
    return this.feed([id]);
  }

  /** The bytes of a fetched file (manifest.json, the tokenizer; the shards with keepShards), for Python's readers. */
  fileBytes(name) {
    const bytes = this.files.get(name);
    if (!bytes) throw new Error(`${name} was not kept by this session (pass keepShards: true for the weight shards)`);
    return bytes;
  }

  async release() {
    this.disposePast();
    await this.session.release();
  }
}
