/* global layer_select, head_select, query_select, patterns, heatmap, heatmap_title, outline, row, row_title, marker, n_head, n, titles, fill_template */
// The attention explorer's selectors (viz/attention_explorer.py), in the page: the chosen head's pattern in the
// heatmap, the chosen query's row outlined and drawn as bars, the head marked in the overview. ``titles``: the
// titles' templates (the same the Python side fills).
const layer = Number(layer_select.value), head = Number(head_select.value), query = Number(query_select.value);
const image = patterns.data.image[layer * n_head + head];
heatmap.data = {image: [image], x: [0], y: [0], dw: [n], dh: [n]};
heatmap_title.text = fill_template(titles.pattern, {layer, head});
outline.top = query;
outline.bottom = query + 1;
outline.visible = true;
const weight = [];
for (let key = 0; key < n; key++) weight.push(image[query * n + key]);
row.data = {x: row.data.x, key: row.data.key, weight: weight};
row_title.text = fill_template(titles.query, {query});
marker.data = {x: [head + 0.5], y: [layer + 0.5]};
