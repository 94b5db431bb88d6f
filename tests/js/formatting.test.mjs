// The hover formatters and the template filler of viz/js, built as Bokeh builds them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { customJSHover, functionsOf, source } from './bokeh_function.mjs';

const MASKED = 'masked (\u2212\u221e)';

test('an exact number is the shortest decimal that reads back to the same float32', () => {
  const exact = customJSHover({ masked: MASKED }, 'exact_number_hover', 'exact_number');
  // NumPy's str() of the same float32s (their digits; JavaScript writes the exponent its own way)
  const cases = [[1 / 3, '0.33333334'], [0.1, '0.1'], [-2.5, '-2.5'], [16777217, '16777216'],
    [3.4028235e38, '3.4028235e+38'], [1e-8, '1e-8'], [123456.789, '123456.79'], [-0.0001234, '-0.0001234']];
  for (const [value, text] of cases) assert.equal(exact(Math.fround(value)), text, `for ${value}`);
});

test('every float32 reads back from its exact number, and one digit fewer would not', () => {
  const exact = customJSHover({ masked: MASKED }, 'exact_number_hover', 'exact_number');
  const bits = new Uint32Array(1), float = new Float32Array(bits.buffer);
  let seed = 12345;
  for (let i = 0; i < 2000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    bits[0] = seed;
    const value = float[0];
    if (!Number.isFinite(value)) continue;
    const text = exact(value);
    assert.equal(Math.fround(Number(text)), value, `${text} for ${value}`);
    const mantissa = text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '');
    const digits = mantissa.replace(/^0+/, '').replace(/0+$/, '').length;  // the significant ones
    if (digits > 1) assert.notEqual(Math.fround(Number(value.toPrecision(digits - 1))), value, `${text} is not the shortest`);
  }
});

test('an exact number says masked for -inf, in the words given, and names the other non-numbers', () => {
  const exact = customJSHover({ masked: '已掩码 (−∞)' }, 'exact_number_hover', 'exact_number');
  assert.equal(exact(-Infinity), '已掩码 (−∞)');
  assert.equal(exact(Infinity), '+\u221e');
  assert.equal(exact(NaN), 'NaN');
  assert.equal(exact(null), '');
  assert.equal(exact(undefined), '');
});

test("the picture's logit hover says the others' row has none, else the exact logit", () => {
  const logit = customJSHover({ others: '(one per token: not shown)', masked: MASKED }, 'picture_logit_hover',
    'exact_number');
  assert.equal(logit(NaN), '(one per token: not shown)');
  assert.equal(logit(Math.fround(-1.75)), '-1.75');
});

test('a cell label is the label of the cell under the cursor, its index without labels, nothing outside', () => {
  const label = (labels, n) => customJSHover({ labels, n }, 'cell_label_hover');
  assert.equal(label(['0: The', '1: ␣cat'], 2)(1.99), '1: ␣cat');
  assert.equal(label(['0: The', '1: ␣cat'], 2)(0), '0: The');
  assert.equal(label([], 3)(2.5), '2');
  assert.equal(label(['a', 'b'], 2)(2), '');
  assert.equal(label(['a', 'b'], 2)(-0.01), '');
});

test("the picture's token hover reads the token source's hover label of the row", () => {
  const tokens = source({ hover_label: ['0: The', '1: ␣$$x$$'] });
  const token = customJSHover({ tokens }, 'picture_token_hover');
  assert.equal(token(0.6), '1: ␣$$x$$');
  assert.equal(token(2), '');
});

test('templates are filled in one pass: a value holding braces stays as it is', () => {
  const { fill_template } = functionsOf({}, ['fill_template'], 'fill_template');
  assert.equal(fill_template('{query} looks at {key}', { query: '{key}', key: 'cat' }), '{key} looks at cat');
  assert.equal(fill_template('{a}, {a} and {b}', { a: 1 }), '1, 1 and {b}');
  assert.equal(fill_template('{constructor}', {}), '{constructor}');
  assert.equal(fill_template('{n} tokens', { n: 0 }), '0 tokens');
});

test("the popover's hovers name the hook and index under the cursor", () => {
  const row = customJSHover({ n: 64, name: 'blocks.0.ln2.hook_out', pos: 3 }, 'popover_row_hover');
  assert.equal(row(63.5), 'blocks.0.ln2.hook_out[3, 63]');
  assert.equal(row(64), '');
  const bias = customJSHover({ n: 256, name: 'blocks.0.mlp.c_fc.b' }, 'popover_range_hover');
  assert.equal(bias(7.2), 'blocks.0.mlp.c_fc.b[7]');
  const rows = customJSHover({ n: 256, size: 2, what: 'rows {first}–{last} ({size} rows a pixel)' },
    'popover_weight_hover', 'fill_template');
  assert.equal(rows(5.5), 'rows 4–5 (2 rows a pixel)');
  assert.equal(rows(256), '');
  const single = customJSHover({ n: 64, size: 1, what: 'unused' }, 'popover_weight_hover', 'fill_template');
  assert.equal(single(17.9), '17');
});

test("the popover's result hover names q, k or v by head and dimension, or a block of logits", () => {
  const qkv = customJSHover({ kind: 'qkv', y_name: 'blocks.1.attn', pos: 2, d: 64, dh: 16,
    elements: source({ start: [...Array(192).keys()], stop: [], arg: [], token: [] }), block: 1, largest: '' },
  'popover_result_hover', 'popover_hook_name', 'fill_template');
  assert.equal(qkv(0.5), 'blocks.1.attn.hook_q[2, 0, 0]');
  assert.equal(qkv(64 + 16 + 3), 'blocks.1.attn.hook_k[2, 1, 3]');
  assert.equal(qkv(191), 'blocks.1.attn.hook_v[2, 3, 15]');
  const output = customJSHover({ kind: 'output', y_name: 'unembed.hook_logits', pos: 5, d: 1, dh: 1,
    elements: source({ start: [0, 13], stop: [13, 26], arg: [4, 20], token: ['{pos}', 'cat'] }), block: 13,
    largest: '{name}[{pos}, {first}…{last}]: largest #{id} {token}' },
  'popover_result_hover', 'popover_hook_name', 'fill_template');
  assert.equal(output(0), 'unembed.hook_logits[5, 0…12]: largest #4 {pos}');
  assert.equal(output(14), 'unembed.hook_logits[5, 13…25]: largest #20 cat');
  assert.equal(output(26), '');
});

test("the derivation's dimension hover clamps to the head's dimensions", () => {
  const dim = customJSHover({ start: 10, size: 4, dims: 16 }, 'derivation_dimension_hover');
  assert.equal(dim(10), '0');
  assert.equal(dim(11.99), '7');
  assert.equal(dim(14), '15');
  assert.equal(dim(9), '0');
});
