/* global layer_select, head_select, query_select, mode_select, patterns, rollout, cells, mapper, overlay_title, n_head, n, n_layer, first, count, labels, titles, fill_template, patch_values, show_on_patches */
// The picture beside an image model's attention explorer (viz/image_attention.py), in the page: the chosen query's
// row over the patches, of the chosen layer and head, or of the attention rollout (``rollout``: [n, n], every
// layer). ``titles``: the title and hover templates the Python side fills too.
const layer = Number(layer_select.value), head = Number(head_select.value), query = Number(query_select.value);
const mode = mode_select.value === "rollout" ? "rollout" : "head";
const matrix = mode === "rollout" ? rollout.data.image[0] : patterns.data.image[layer * n_head + head];
const values = patch_values(matrix, query * n + first, count);
const fields = {layer, head, query, label: labels[query], n_layer};
show_on_patches(cells, mapper, values, fill_template(titles["what_" + mode], fields));
overlay_title.text = fill_template(titles[mode], fields);
