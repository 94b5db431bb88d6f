// How many threads the bridge gives onnxruntime-web's wasm provider (assets/ort_bridge.mjs threadsAvailable).
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { threadsAvailable } from '../../assets/ort_bridge.mjs';

const saved = { isolated: globalThis.crossOriginIsolated, navigator: Object.getOwnPropertyDescriptor(globalThis, 'navigator') };

function pretend(isolated, cores) {
  globalThis.crossOriginIsolated = isolated;
  Object.defineProperty(globalThis, 'navigator', { value: { hardwareConcurrency: cores }, configurable: true });
}

afterEach(() => {
  globalThis.crossOriginIsolated = saved.isolated;
  if (saved.navigator) Object.defineProperty(globalThis, 'navigator', saved.navigator);
  else delete globalThis.navigator;
});

test('a page that is not cross-origin isolated gets one thread, whatever its cores', () => {
  pretend(false, 8);
  assert.equal(threadsAvailable(), 1);
});

test('an isolated page gets one thread per core, at most 4', () => {
  for (const [cores, threads] of [[1, 1], [2, 2], [3, 3], [8, 4], [undefined, 1]]) {
    pretend(true, cores);
    assert.equal(threadsAvailable(), threads, `${cores} cores`);
  }
});
