/* global cells, layer_select, head_select, n_head */
// A tap on a head's cell in the attention overview (viz/attention_explorer.py) selects that layer and head.
const indices = cells.selected.indices;
if (indices.length === 0) return;
const i = indices[indices.length - 1];
const layer = String(Math.floor(i / n_head)), head = String(i % n_head);
if (layer_select.value !== layer) layer_select.value = layer;
if (head_select.value !== head) head_select.value = head;
