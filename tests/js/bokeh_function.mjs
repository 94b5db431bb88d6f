// Builds a viz/js script as Bokeh does, for node's test runner: the function files first, then the body, joined by
// newlines (transformer_explainer.viz.js_code), in `new Function(...args, extra..., "'use strict';\n" + code)`.
import { readFileSync } from 'node:fs';

const folder = new URL('../../viz/js/', import.meta.url);

/** The code Python's js_code(body, ...functions) gives Bokeh. */
export function jsCode(body, ...functions) {
  const names = [...functions.map((name) => `${name}.functions.js`), `${body}.js`];
  return names.map((name) => readFileSync(new URL(name, folder), 'utf8')).join('\n');
}

function compile(code, args, extra) {
  const names = Object.keys(args);
  const func = new Function(...names, ...extra, `'use strict';\n${code}`);
  return (...rest) => func(...Object.values(args), ...rest);
}

/** A CustomJS: call it with (cb_obj, cb_data, cb_context). */
export function customJS(args, body, ...functions) {
  return compile(jsCode(body, ...functions), args, ['cb_obj', 'cb_data', 'cb_context']);
}

/** A CustomJSHover: call it with (value, format, special_vars). */
export function customJSHover(args, body, ...functions) {
  return compile(jsCode(body, ...functions), args, ['value', 'format', 'special_vars']);
}

/** The functions ``names`` that the function files define, reading ``args`` as a body built from them would. */
export function functionsOf(args, names, ...functions) {
  const files = functions.map((name) => readFileSync(new URL(`${name}.functions.js`, folder), 'utf8'));
  return compile(`${files.join('\n')}\nreturn {${names.join(', ')}};`, args, [])();
}

/** A fake ColumnDataSource: its columns, a change signal that counts its emits, a selection and an inspection. */
export function source(data, { selected = [], inspected = [] } = {}) {
  const fake = { data, selected: { indices: selected }, inspected: { indices: inspected }, emitted: 0 };
  fake.change = { emit: () => { fake.emitted += 1; } };
  return fake;
}
