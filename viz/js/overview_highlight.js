/* global tokens, streams, flows, highlight, dimmed, cb_data */
// The overview (viz/sections/overview.py): hovering a token lights its stream and flow ribbons (``highlight``) and
// dims the others (``dimmed``); off the tokens, every ribbon goes back to its ``base_alpha``.
const hit = cb_data.index.indices;
const slot = hit.length > 0 ? tokens.data.slot[hit[0]] : null;
const is_real = slot !== null && tokens.data.position[hit[0]] >= 0;
for (const source of [streams, flows]) {
  const alpha = source.data.fill_alpha, base = source.data.base_alpha, slots = source.data.slot;
  for (let i = 0; i < alpha.length; i++) {
    alpha[i] = !is_real ? base[i] : (slots[i] === slot ? highlight : dimmed);
  }
  source.change.emit();
}
