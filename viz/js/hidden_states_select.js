/* global layer_select, states, n, strip, strip_mapper, strip_title_model, similarity, similarity_mapper, similarity_title_model, outline, titles, fill_template */
// The hidden-states view's selector (viz/hidden_states.py), in the page: the chosen hidden state's strip and cosine
// similarity, their colour scales and titles (``titles``: the templates the Python side fills too), its norm row outlined.
const i = Number(layer_select.value);
const label = states.data.label[i];
const width = states.data.width[i];
strip.data = {image: [states.data.image[i]], x: [0], y: [0], dw: [width], dh: [n]};
strip_mapper.low = states.data.low[i];
strip_mapper.high = states.data.high[i];
strip_title_model.text = fill_template(titles.strip, {label});
similarity.data = {image: [states.data.similarity[i]], x: [0], y: [0], dw: [n], dh: [n]};
similarity_mapper.low = states.data.similarity_low[i];
similarity_mapper.high = states.data.similarity_high[i];
similarity_title_model.text = fill_template(titles.similarity, {label});
outline.top = i;
outline.bottom = i + 1;
outline.visible = true;
