// Build-time, under Node: assemble matmul.wat into an Emscripten side module that Pyodide loads with ctypes.
//
//   node assets/kernels/build.mjs OUT_FILE
//
// wabt (an npm dev dependency) assembles the text; the "dylink.0" custom section, first in the module, tells
// Emscripten's loader that the module wants no memory or table of its own (it imports Pyodide's memory).

import { readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const wabt = await wabtInit();
const module = wabt.parseWat('matmul.wat', readFileSync(new URL('./matmul.wat', import.meta.url), 'utf8'), { simd: true });
module.validate();
const { buffer } = module.toBinary({});
const name = [...'dylink.0'].map((c) => c.charCodeAt(0));
const memoryInfo = [1, 4, 0, 0, 0, 0]; // WASM_DYLINK_MEM_INFO: memory size, alignment, table size, alignment: all 0
const section = [0, 1 + name.length + memoryInfo.length, name.length, ...name, ...memoryInfo];
const out = new Uint8Array(buffer.length + section.length);
out.set(buffer.subarray(0, 8)); // the magic number and version
out.set(section, 8);
out.set(buffer.subarray(8), 8 + section.length);
writeFileSync(process.argv[2], out);
