// The views' drawing code for the player (viz/js/*_render.functions.js) on small hand-made data: the colour scales,
// the numbers written in cells, and what each frame reveals.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { functionsOf, source } from './bokeh_function.mjs';

const palette = (n) => Array.from({ length: n }, (_, i) => `c${i}`);

test("the derivation's diverging scale maps -limit, 0 and +limit to the palette's ends and middle, clamped", () => {
  const { signed_colour } = functionsOf({ diverging: palette(255), sequential: palette(256) }, ['signed_colour'],
    'derivation_render');
  assert.deepEqual(signed_colour(0, 4), ['c127', false]);
  assert.deepEqual(signed_colour(4, 4), ['c254', true]);
  assert.deepEqual(signed_colour(-4, 4), ['c0', true]);
  assert.deepEqual(signed_colour(40, 4), ['c254', true]);
  assert.deepEqual(signed_colour(-2, 4), ['c64', false]);  // u = -0.5: (0.5 / 2) * 254 = 63.5, rounded up
  assert.deepEqual(signed_colour(2.44, 4), ['c204', true]);  // |u| = 0.61 > 0.6: white text
});

test("the derivation's weight scale maps 0 and 1 to the sequential palette's ends, dark past 0.55", () => {
  const { weight_colour } = functionsOf({ diverging: palette(255), sequential: palette(256) }, ['weight_colour'],
    'derivation_render');
  assert.deepEqual(weight_colour(0), ['c0', false]);
  assert.deepEqual(weight_colour(1), ['c255', true]);
  assert.deepEqual(weight_colour(0.5), ['c128', false]);
  assert.deepEqual(weight_colour(0.56), ['c143', true]);
  assert.deepEqual(weight_colour(1.5), ['c255', true]);
});

test('numbers in cells have two decimals, fewer when large, a true minus, and −∞ for masked', () => {
  const { cell_text_of } = functionsOf({}, ['cell_text_of'], 'derivation_render');
  assert.equal(cell_text_of(-1.234), '\u22121.23');
  assert.equal(cell_text_of(12.34), '12.3');
  assert.equal(cell_text_of(123.4), '123');
  assert.equal(cell_text_of(-Infinity), '\u2212\u221e');
  assert.equal(cell_text_of(NaN), '');
  const { product_text } = functionsOf({}, ['product_text'], 'popover_render');
  assert.equal(product_text(-0.00001234), '\u22121.23e-5');
  assert.equal(product_text(0.01234), '0.0123');
  assert.equal(product_text(3.14159), '3.142');
  assert.equal(product_text(12345.6), '12346');
});

// Two tokens "A" and "B", one head of one dimension: S = q·kᵀ, key 1 masked for query 0.
function derivation(frames) {
  const p = 1 / (1 + Math.exp(-2));  // softmax(1, 3)
  const args = {
    frames: source(frames),
    cells: source({ row: [0, 0, 1, 1], raw: [2, 5, 1, 3], scaled: [2, 5, 1, 3], scores: [2, -Infinity, 1, 3],
      pattern: [1, 0, 1 - p, p], query: ['0: A', '0: A', '1: B', '1: B'], key: ['0: A', '1: B', '0: A', '1: B'],
      shown: [NaN, NaN, NaN, NaN], fill_color: ['w', 'w', 'w', 'w'] }),
    cell_text: source({ text: [null, null, null, null], text_color: ['t', 't', 't', 't'] }),
    weights: source({ value: [NaN, NaN], fill_color: ['w', 'w'], fill_alpha: [0, 0], line_alpha: [0, 0],
      text: ['', ''], text_color: ['t', 't'] }),
    veils: source({ alpha: [0, 0] }),
    fresh: source({ x: [0], y: [0], width: [0], height: [0], on: [0], alpha: [0] }),
    highlight: source({ x: [0, 0, 0, 0], y: [0, 0, 0, 0], width: [0, 0, 0, 0], height: [0, 0, 0, 0],
      alpha: [0, 0, 0, 0] }),
    detail: source({ text: [''] }),
    geometry: source({ n: [2], limit: [5], q_left: [-3], q_width: [1], k_top: [-2], k_height: [1], v_left: [3],
      v_width: [1], p_left: [2.5], p_width: [0.5], z_left: [5], z_width: [1] }),
    z_source: source({ image: [[NaN, NaN]], final: [[0.5, -0.25]] }),
    figure: { id: 'figure' }, diverging: palette(255), sequential: palette(256), blank: 'blank', masked: 'grey',
    after_mask: 'light', white: 'white', text_colour: 'black', root: '1', ready_line: 'ready',
    texts: { cell: 'q{row}·k{col} = {value} ({query} · {key})', row: 'row {row}', scale: '{raw} ÷ {root}',
      mask: 'mask {first}…{last}', mask_last: 'last row {row}', softmax: 'softmax {value} on {key}',
      z: 'z{row} = {terms}' },
  };
  return { args, ...functionsOf(args, ['render'], 'derivation_render', 'fill_template') };
}

test("the derivation's first frame of q·kᵀ computes one cell and says which", () => {
  const { args, render } = derivation({ step: [1], done: [1], row: [0], col: [0] });
  render(0, 1);
  const C = args.cells.data;
  assert.deepEqual(C.shown.slice(1).map(Number.isNaN), [true, true, true]);
  assert.equal(C.shown[0], 2);
  assert.equal(C.fill_color[0], 'c178');  // 2 / 5 = 0.4 of the way to the top: (1.4 / 2) * 254 = 177.8
  assert.deepEqual(args.cell_text.data.text, ['2.00', null, null, null]);
  assert.equal(args.detail.data.text[0], 'q0·k0 = 2.00 (0: A · 0: A)');
  assert.equal(args.highlight.data.alpha.filter((a) => a === 1).length, 3);  // query row, key column, the cell
});

test("the derivation's mask frame greys the masked score and its softmax frame gives it weight 0", () => {
  const { args, render } = derivation({ step: [3, 4], done: [1, 2], row: [0, 1], col: [-1, -1] });
  render(0, 1);
  assert.equal(args.cells.data.fill_color[1], 'grey');
  assert.equal(args.cell_text.data.text[1], '\u2212\u221e');
  assert.equal(args.detail.data.text[0], 'mask 1…1');
  render(1, 1);
  assert.equal(args.cells.data.fill_color[1], 'light');  // a weight of exactly 0, where the mask was
  assert.equal(args.cells.data.shown[3], args.cells.data.pattern[3]);
  assert.equal(args.detail.data.text[0], 'softmax 0.88 on 1: B');
});

test("the derivation's × V frame reveals Z a row at a time and lays row i's weights beside V", () => {
  const { args, render } = derivation({ step: [5, 5], done: [1, 2], row: [0, 1], col: [-1, -1] });
  render(0, 1);
  assert.deepEqual(args.z_source.data.image[0].map(Number.isNaN), [false, true]);
  assert.equal(args.z_source.data.image[0][0], 0.5);
  assert.deepEqual(args.weights.data.fill_color, ['c255', 'light']);  // key 1 comes after query 0: masked
  assert.equal(args.detail.data.text[0], 'z0 = 1.00·v0');
  render(1, 0.5);
  assert.deepEqual(args.z_source.data.image[0], [0.5, -0.25]);
  assert.equal(args.detail.data.text[0], 'z1 = 0.88·v1 + 0.12·v0');
  assert.equal(args.veils.data.alpha[1], 0);  // the largest weight is not veiled
  assert.ok(args.veils.data.alpha[0] > 0.3 && args.veils.data.alpha[0] < 0.43);  // 0.85 · (1 − 0.12/0.88) · 0.5
});

// y = x · W + b for x of 4 and y of 6, the detail worked through for output 0.
function popover(frames) {
  const args = {
    frames: source(frames),
    result: source({ image: [[NaN, NaN, NaN, NaN, NaN, NaN]], final: [[10, 11, 12, 13, 14, 15]] }),
    post: source({ image: [[NaN, NaN, NaN, NaN, NaN, NaN]], final: [[0, 1, 2, 3, 4, 5]] }),
    top: null,
    inputs: source({ x: [[1, 2, 3, 4]], wcol: [[0.5, 0.25, -1, 2]] }),
    elements: source({ start: [0, 1, 2, 3, 4, 5], stop: [1, 2, 3, 4, 5, 6] }),
    geometry: source({ n_in: [4], n_out: [6], focus: [0], has_bias: [true], y_focus: [10], b_focus: [4],
      sx: [0.01], x_left: [-1], x_right: [-0.5], b_top: [5], b_bottom: [6], out_top: [7], out_bottom: [8],
      post_top: [9], post_bottom: [10] }),
    highlight: source({ left: [0, 0, 0, 0, 0], right: [0, 0, 0, 0, 0], top: [0, 0, 0, 0, 0],
      bottom: [0, 0, 0, 0, 0], alpha: [0, 0, 0, 0, 0], fill_alpha: [0, 0, 0, 0, 0] }),
    detail: source({ text: [''] }), ready_line: 'ready', output: 'y', post_name: 'blocks.0.mlp.hook_post[2, …]',
    texts: { rows: '{output}[{focus}] = Σ rows 0…{last} of {n_in} = {sum}', done: '{done} of {total}',
      progress: '{done} of {total}' },
    kind: 'mlp_up', y_name: 'blocks.0.mlp.hook_pre', pos: 2, d: 1, dh: 1,
  };
  return { args, ...functionsOf(args, ['render'], 'popover_render', 'popover_hook_name', 'fill_template') };
}

test("the popover sums the focused output's rows a chunk at a time, then adds b and shows y[0] alone", () => {
  const { args, render } = popover({ step: [1, 1], lo: [0, 4], hi: [2, 4], bias: [0, 1] });
  render(0, 1);
  assert.ok(args.result.data.image[0].every(Number.isNaN));
  assert.equal(args.detail.data.text[0], 'y[0] = Σ rows 0…1 of 4 = 1.000');  // 1·0.5 + 2·0.25
  assert.deepEqual([args.highlight.data.top[0], args.highlight.data.bottom[0]], [0, 2]);
  render(1, 1);
  assert.deepEqual(args.result.data.image[0].map(Number.isNaN), [false, true, true, true, true, true]);
  assert.equal(args.detail.data.text[0],
    'y[0] = 6.000 + b[0] (4.000) = 10.00   = blocks.0.mlp.hook_pre[2, 0]');  // 0.5 + 0.5 − 3 + 8 = 6
});

test('the popover reveals every output a band of columns at a time, then GELU of them', () => {
  const { args, render } = popover({ step: [2, 3], lo: [0, 0], hi: [3, 3], bias: [0, 0] });
  render(0, 1);
  assert.deepEqual(args.result.data.image[0].map(Number.isNaN), [false, false, false, true, true, true]);
  assert.ok(args.post.data.image[0].every(Number.isNaN));
  assert.deepEqual([args.highlight.data.left[1], args.highlight.data.right[1]], [0, 3]);  // W's band of columns
  assert.equal(args.detail.data.text[0], 'y[0…2] = x · W[:, 0…2] + b[0…2]   3 of 6');
  render(1, 1);
  assert.deepEqual(args.result.data.image[0], [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(args.post.data.image[0].slice(0, 3), [0, 1, 2]);
  assert.ok(args.post.data.image[0].slice(3).every(Number.isNaN));
  assert.equal(args.detail.data.text[0], 'GELU(y[0…2]) → blocks.0.mlp.hook_post[2, …]   3 of 6');
});
