/* global layer_select, head_select, token_select, patterns, heatmap, heatmap_title, outline, cells, mapper, overlay_title, n_head, n_image, n_text, first, count, labels, titles, fill_template, patch_values, show_on_patches */
// A vision-to-text model's cross-attention (viz/image_attention.py), in the page: the chosen head's matrix (rows:
// text tokens, columns: image tokens), the chosen text token's row outlined and laid over the picture's patches.
const layer = Number(layer_select.value), head = Number(head_select.value), token = Number(token_select.value);
const image = patterns.data.image[layer * n_head + head];
heatmap.data = {image: [image], x: [0], y: [0], dw: [n_image], dh: [n_text]};
const fields = {layer, head, token, label: labels[token]};
heatmap_title.text = fill_template(titles.pattern, fields);
outline.top = token;
outline.bottom = token + 1;
outline.visible = true;
const values = patch_values(image, token * n_image + first, count);
show_on_patches(cells, mapper, values, fill_template(titles.what, fields));
overlay_title.text = fill_template(titles.overlay, fields);
