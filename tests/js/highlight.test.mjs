// What hovering, tapping and choosing do in the page: a token's path lit, the caption, the explorers' selectors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { customJS, source } from './bokeh_function.mjs';

function picture() {
  const tokens = source({ slot: [0, 1, 2], position: [0, 1, -1] });  // slot 2: a padding row, no token
  const strip = source({ slot: [0, 0, 1, 1, 2], alpha: [1, 1, 1, 1, 1], base_alpha: [1, 0.4, 1, 0.4, 1] });
  const matrix = source({ slot: [0, 1, 1], key_slot: [0, 0, 1], alpha: [0.3, 0.3, 0.3], base_alpha: [0.3, 0.3, 0.3] });
  const state = source({ slot: [-1], position: [-1] });
  const args = { watched: [tokens, strip], targets: [strip, matrix], state, tokens, highlight: 0.85, dim: 0.2 };
  return { tokens, strip, matrix, state, highlight: customJS(args, 'picture_highlight') };
}

test("hovering a token's row lights its path: its rows lit, the matrix's query row and key column too", () => {
  const { strip, matrix, state, highlight } = picture();
  strip.inspected.indices = [2];
  highlight({});
  assert.deepEqual(strip.data.alpha, [0.2, 0.4 * 0.2, 1, 0.85, 0.2]);
  assert.deepEqual(matrix.data.alpha, [0.3 * 0.2, 0.85, 0.85]);  // query 1, and key 1 of query 1
  assert.deepEqual([state.data.slot[0], state.data.position[0]], [1, 1]);
  assert.ok(strip.emitted === 1 && matrix.emitted === 1);
  highlight({});  // the same slot again: nothing to do
  assert.equal(strip.emitted, 1);
});

test('leaving the picture puts the rest back, unless a token is pinned by a tap', () => {
  const { tokens, strip, state, highlight } = picture();
  strip.inspected.indices = [2];
  highlight({});
  highlight({ event_name: 'mouseleave' });
  assert.deepEqual(strip.data.alpha, [1, 0.4, 1, 0.4, 1]);
  assert.deepEqual([state.data.slot[0], state.data.position[0]], [-1, -1]);
  tokens.selected.indices = [0];
  highlight({ event_name: 'mouseleave' });
  assert.deepEqual(strip.data.alpha, [1, 0.85, 0.2, 0.4 * 0.2, 0.2]);
  assert.deepEqual([state.data.slot[0], state.data.position[0]], [0, 0]);
});

test("the caption says the hovered stage's description, else the hint", () => {
  const stages = source({ description: ['LayerNorm 1', 'Q, K, V'] });
  const caption = source({ text: ['hint'], shown: ['hint'] });
  const update = customJS({ stages, caption, hint: 'hint', width: 4 }, 'picture_stage_caption', 'picture_wrap');
  stages.inspected.indices = [1];
  update();
  assert.equal(caption.data.text[0], 'Q, K, V');
  assert.equal(caption.data.shown[0], 'Q,\nK, V', 'drawn in lines of at most 4 characters');
  stages.inspected.indices = [];
  update();
  assert.equal(caption.data.text[0], 'hint');
  assert.equal(caption.emitted, 2);
});

test("the overview's token hover lights that token's streams and dims the others", () => {
  const tokens = source({ slot: [0, 1], position: [0, 1] });
  const streams = source({ slot: [0, 1, 1], fill_alpha: [0.5, 0.5, 0.5], base_alpha: [0.5, 0.5, 0.5] });
  const flows = source({ slot: [1], fill_alpha: [0.4], base_alpha: [0.4] });
  const hover = customJS({ tokens, streams, flows, highlight: 0.9, dimmed: 0.1 }, 'overview_highlight');
  hover(null, { index: { indices: [1] } });
  assert.deepEqual(streams.data.fill_alpha, [0.1, 0.9, 0.9]);
  assert.deepEqual(flows.data.fill_alpha, [0.9]);
  hover(null, { index: { indices: [] } });
  assert.deepEqual(streams.data.fill_alpha, [0.5, 0.5, 0.5]);
});

test("the attention explorer's selectors show the chosen head and query, titles filled from the templates", () => {
  const n = 2, n_head = 2;
  const image = (layer, head) => Float32Array.from([1, 0, 0.25 * (head + 1), 1 - 0.25 * (head + 1)].map((v) => v + layer));
  const args = {
    layer_select: { value: '1' }, head_select: { value: '0' }, query_select: { value: '1' },
    patterns: source({ image: [image(0, 0), image(0, 1), image(1, 0), image(1, 1)] }),
    heatmap: source({}), heatmap_title: { text: '' }, outline: { top: 0, bottom: 1, visible: false },
    row: source({ x: [0.5, 1.5], key: [0, 1], weight: [] }), row_title: { text: '' }, marker: source({}),
    n_head, n, titles: { pattern: 'layer {layer}, head {head}', query: 'query #{query}' },
  };
  customJS(args, 'attention_explorer_select', 'fill_template')();
  assert.equal(args.heatmap.data.image[0], args.patterns.data.image[2]);
  assert.deepEqual(args.row.data.weight, [1.25, 1.75]);  // row 1 of layer 1, head 0
  assert.equal(args.heatmap_title.text, 'layer 1, head 0');
  assert.equal(args.row_title.text, 'query #1');
  assert.deepEqual([args.outline.top, args.outline.bottom, args.outline.visible], [1, 2, true]);
  assert.deepEqual(args.marker.data, { x: [0.5], y: [1.5] });
});

test("a tap on the attention overview's cell chooses its layer and head", () => {
  const args = { cells: source({}, { selected: [0, 5] }), layer_select: { value: '0' }, head_select: { value: '0' },
    n_head: 4 };
  customJS(args, 'attention_explorer_tap')();
  assert.deepEqual([args.layer_select.value, args.head_select.value], ['1', '1']);
});

test("the hidden-states selector swaps in the chosen state's strip, similarity, scales and titles", () => {
  const args = {
    layer_select: { value: '1' }, n: 3,
    states: source({ label: ['embedding', 'block {0}'], width: [8, 8], image: ['e', 'b'], low: [-1, -2], high: [1, 2],
      similarity: ['se', 'sb'], similarity_low: [0, -0.5], similarity_high: [1, 0.5] }),
    strip: source({}), strip_mapper: {}, strip_title_model: { text: '' }, similarity: source({}),
    similarity_mapper: {}, similarity_title_model: { text: '' }, outline: {},
    titles: { strip: '{label}: every dimension', similarity: '{label}: cosine similarity' },
  };
  customJS(args, 'hidden_states_select', 'fill_template')();
  assert.deepEqual(args.strip.data, { image: ['b'], x: [0], y: [0], dw: [8], dh: [3] });
  assert.deepEqual([args.strip_mapper.low, args.strip_mapper.high], [-2, 2]);
  assert.equal(args.strip_title_model.text, 'block {0}: every dimension');  // a label's own braces stay
  assert.equal(args.similarity_title_model.text, 'block {0}: cosine similarity');
  assert.deepEqual([args.outline.top, args.outline.bottom, args.outline.visible], [1, 2, true]);
});
