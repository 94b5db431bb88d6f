// The image views' scripts (viz/image_attention.py, viz/hidden_states.py), run as Bokeh runs them on fake sources:
// the chosen query's row (or the rollout's) laid on the patches, with the colour scale and opacity Python computes,
// the cross-attention per text token, the patch norms per hidden state, and a tap on a patch choosing its token.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { customJS, functionsOf, source } from './bokeh_function.mjs';

const opacity = { low: 0.1, span: 0.75 };
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (all, name) => String(values[name] ?? all));

function cells(count) {
  return source({ x: Array(count).fill(0), y: Array(count).fill(0), patch: Array(count).fill(''),
                  value: Array(count).fill(0), alpha: Array(count).fill(0), what: Array(count).fill('') });
}

test('show_on_patches scales colour from 0 to the largest value and opacity with the value', () => {
  const { patch_values, show_on_patches } = functionsOf({ opacity }, ['patch_values', 'show_on_patches'],
                                                        'patch_overlay');
  const target = cells(3), mapper = { low: -1, high: -1 };
  assert.deepEqual(patch_values(Float32Array.from([9, 9, 0.5, 0.25, 1, 9]), 2, 3), [0.5, 0.25, 1]);
  show_on_patches(target, mapper, [0.5, 0.25, 1], 'weights');
  assert.deepEqual([mapper.low, mapper.high], [0, 1]);
  assert.deepEqual(target.data.value, [0.5, 0.25, 1]);
  assert.deepEqual(target.data.alpha, [0.1 + 0.75 * 0.5, 0.1 + 0.75 * 0.25, 0.85]);
  assert.deepEqual(target.data.what, ['weights', 'weights', 'weights']);
  show_on_patches(target, mapper, [0, 0, 0], 'none');  // nothing above 0: a scale from 0 to 1, all faint
  assert.deepEqual([mapper.high, target.data.alpha[0]], [1, 0.1]);
});

// One layer, two heads, [CLS] and a 1 × 2 grid of patches (n = 3).
function imageAttention(mode) {
  const head0 = Float32Array.from([0.2, 0.3, 0.5, 1, 0, 0, 0, 0.4, 0.6]);
  const head1 = Float32Array.from([0.6, 0.1, 0.3, 0, 1, 0, 0.5, 0.5, 0]);
  const rollout = Float32Array.from([0.5, 0.2, 0.3, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6]);
  const target = cells(2), mapper = { low: 0, high: 1 }, title = { text: '' };
  const args = {
    layer_select: { value: '0' }, head_select: { value: '1' }, query_select: { value: '0' },
    mode_select: { value: mode }, patterns: source({ image: [head0, head1] }), rollout: source({ image: [rollout] }),
    cells: target, mapper, overlay_title: title, n_head: 2, n: 3, n_layer: 1, first: 1, count: 2,
    labels: ['[CLS]', '(0, 0)', '(0, 1)'], opacity,
    titles: { head: 'L{layer} H{head} q{query}', rollout: 'rollout q{query} {n_layer}', what_head: 'w {label}',
              what_rollout: 'r {label}' },
  };
  return { args, target, mapper, title, update: customJS(args, 'image_attention_select', 'fill_template',
                                                         'patch_overlay') };
}

test("the picture shows the chosen head's row of the chosen query over the patches, [CLS] left out", () => {
  const { args, target, mapper, title, update } = imageAttention('head');
  update();
  assert.deepEqual(target.data.value, [Math.fround(0.1), Math.fround(0.3)]);
  assert.equal(mapper.high, Math.fround(0.3));
  assert.equal(title.text, fill(args.titles.head, { layer: 0, head: 1, query: 0 }));
  assert.deepEqual(target.data.what, ['w [CLS]', 'w [CLS]']);
  args.query_select.value = '2';
  update();
  assert.deepEqual(target.data.value, [Math.fround(0.5), 0]);
});

test('the rollout option shows the rollout row of the query', () => {
  const { target, title, update } = imageAttention('rollout');
  update();
  assert.deepEqual(target.data.value, [Math.fround(0.2), Math.fround(0.3)]);
  assert.equal(title.text, 'rollout q0 1');
});

test("a tap on a patch chooses that patch's token as the query", () => {
  const patches = source({}, { selected: [1] });
  const select = { value: '0' };
  customJS({ cells: patches, select, first: 1 }, 'patch_tap')();
  assert.equal(select.value, '2');
});

test("the cross-attention view shows the chosen head and the chosen text token's row on the picture", () => {
  // Two heads, two text tokens, [CLS] and two patches (3 image tokens).
  const head1 = Float32Array.from([0.1, 0.2, 0.7, 0.3, 0.3, 0.4]);
  const heatmap = source({}), target = cells(2), outline = { top: 0, bottom: 1, visible: false };
  const args = {
    layer_select: { value: '0' }, head_select: { value: '1' }, token_select: { value: '1' },
    patterns: source({ image: [Float32Array.from([1, 0, 0, 1, 0, 0]), head1] }), heatmap,
    heatmap_title: { text: '' }, outline, cells: target, mapper: { low: 0, high: 1 }, overlay_title: { text: '' },
    n_head: 2, n_image: 3, n_text: 2, first: 1, count: 2, labels: ['<s>', 'cat'], opacity,
    titles: { pattern: 'L{layer} H{head}', overlay: 'token {token}', what: '{label}' },
  };
  customJS(args, 'cross_attention_select', 'fill_template', 'patch_overlay')();
  assert.equal(heatmap.data.image[0], head1);
  assert.deepEqual([heatmap.data.dw[0], heatmap.data.dh[0]], [3, 2]);
  assert.deepEqual([outline.top, outline.bottom, outline.visible], [1, 2, true]);
  assert.deepEqual(target.data.value, [Math.fround(0.3), Math.fround(0.4)]);
  assert.deepEqual([args.overlay_title.text, args.heatmap_title.text, target.data.what[0]], ['token 1', 'L0 H1', 'cat']);
});

test("the hidden-state selector shows that state's patch norms on the picture", () => {
  // Two states, [CLS] and two patches: the norms heatmap is [2, 3].
  const norms = source({ image: [Float32Array.from([1, 2, 3, 4, 5, 6])] });
  const target = cells(2);
  const args = {
    layer_select: { value: '1' }, norms, states: source({ label: ['embeddings', 'after layer 0'] }), cells: target,
    mapper: { low: 0, high: 1 }, overlay_title: { text: '' }, n: 3, first: 1, count: 2, opacity,
    titles: { title: '{label}: norms', what: 'norm in {label}' },
  };
  customJS(args, 'patch_norms_select', 'fill_template', 'patch_overlay')();
  assert.deepEqual(target.data.value, [5, 6]);
  assert.equal(args.overlay_title.text, 'after layer 0: norms');
  assert.equal(target.data.what[1], 'norm in after layer 0');
});
