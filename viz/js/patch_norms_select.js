/* global layer_select, norms, states, cells, mapper, overlay_title, n, first, count, titles, fill_template, patch_values, show_on_patches */
// An image model's hidden states (viz/hidden_states.py), in the page: the chosen state's ‖h‖ of every patch laid over
// the picture (``norms``: the [states, n] heatmap of every token's ‖h‖; ``titles``: the templates Python fills too).
const i = Number(layer_select.value);
const label = states.data.label[i];
show_on_patches(cells, mapper, patch_values(norms.data.image[0], i * n + first, count), fill_template(titles.what, {label}));
overlay_title.text = fill_template(titles.title, {label});
