// The static site's download worker: fetches the wheels and the model files (checked, kept in Cache Storage; see
// downloads.mjs) on a thread of its own, so that the downloads go on while Python is busy importing on its own
// thread, and hands each verified file to the Python worker (worker.mjs) over a MessageChannel, the bytes
// transferred, not copied.
//
// Messages in (from the page, boot.mjs):  start {groups: {step: [entry]}, cacheName, words, language} + a port
// Messages in (on the port, from worker.mjs): fetch {step} (again after a failure: the files not yet handed on;
//                                            with again: true, all of them once more)
// Messages out to the page:   progress {step, state, done, total, fromCache}, mark {name, at}
// Messages out on the port:   file {step, name, bytes}, unpacked {step, name, files: [{path, data}]} (a wheel's
//                             files), done {step}, failed {step, message}

import { fetchAll, forgetOtherBuilds } from './downloads.mjs';
import { unzip } from './unzip.mjs';
import { sayer } from './words.mjs';

let groups = {};
let cacheName = null;
let say = sayer({}, 'en');
let port = null;
let lastSaid = 0; // when the page was last told how many bytes came
const PROGRESS_EVERY_MS = 100;
const handedOn = new Set(); // names of the files the Python worker has
const running = new Set(); // steps being fetched now
const finished = new Set();

function mark(name) {
  self.postMessage({ type: 'mark', name, at: performance.timeOrigin + performance.now() });
}

async function fetchGroup(step) {
  if (running.has(step) || finished.has(step)) return;
  running.add(step);
  const entries = groups[step];
  const total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  let done = entries.filter((entry) => handedOn.has(entry.name)).reduce((sum, entry) => sum + entry.bytes, 0);
  self.postMessage({ type: 'progress', step, state: 'running', done, total });
  mark(`${step}.fetching`);
  const unpacking = []; // the wheels being unpacked
  try {
    const files = await fetchAll(entries.filter((entry) => !handedOn.has(entry.name)), {
      cacheName,
      say,
      onBytes: (delta) => {
        done += delta;
        const now = performance.now();
        if (now - lastSaid < PROGRESS_EVERY_MS) return; // (a message per chunk would keep the page busy)
        lastSaid = now;
        self.postMessage({ type: 'progress', step, state: 'running', done, total });
      },
      onFile: (entry, bytes) => {
        if (entry.name.endsWith('.whl')) { // unpacked here, on this thread: Python's thread only writes the files
          unpacking.push(unzip(bytes).then((files) => {
            handedOn.add(entry.name);
            port.postMessage({ type: 'unpacked', step, name: entry.name, files }, files.map((file) => file.data.buffer));
          }));
          return;
        }
        handedOn.add(entry.name);
        const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
        port.postMessage({ type: 'file', step, name: entry.name, bytes: whole }, [whole.buffer]);
      },
    });
    await Promise.all(unpacking);
    finished.add(step);
    mark(`${step}.fetched`);
    const fromCache = step === 'weights' ? { fromCache: files.stats.fromCache } : {}; // (a second visit reads none)
    self.postMessage({ type: 'progress', step, state: 'running', done: total, total, ...fromCache });
    port.postMessage({ type: 'done', step });
    if (Object.keys(groups).every((name) => finished.has(name))) {
      forgetOtherBuilds(cacheName, Object.values(groups).flat());
    }
  } catch (error) {
    port.postMessage({ type: 'failed', step, message: error?.message ?? String(error) });
  } finally {
    running.delete(step);
  }
}

self.onmessage = (event) => {
  const message = event.data;
  if (message.type !== 'start') return;
  ({ groups, cacheName } = message);
  say = sayer(message.words ?? {}, message.language ?? 'en');
  port = event.ports[0];
  port.onmessage = (portEvent) => {
    const { type, step, again } = portEvent.data;
    if (type !== 'fetch') return;
    if (again) { // every file of the step once more (from the cache): the worker let go of its copies
      finished.delete(step);
      for (const entry of groups[step]) handedOn.delete(entry.name);
    }
    fetchGroup(step);
  };
  (async () => { // the wheels first, alone (Python needs them first), then the weights
    for (const step of Object.keys(groups)) await fetchGroup(step);
  })();
};
