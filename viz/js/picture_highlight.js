/* global watched, targets, state, tokens, highlight, dim, cb_obj */
// A token's path through the picture (viz/picture/figure.py): which token is under the pointer (any ``watched``
// source's inspected row names its picture row, ``slot``), else the tapped token (pinned: a phone has no hover),
// then every ``targets`` source's ``alpha``: its rows of that slot lit (the matrix: the token's query row and key
// column), the rest dimmed by ``dim``; no token: back to ``base_alpha``. Runs once per hovered renderer; only the
// first run with a new slot changes anything. ``state`` is changed in place (no round trip to Python).
let slot = -1;
const leaving = cb_obj != null && cb_obj.event_name === "mouseleave";
if (!leaving) {
  for (const source of watched) {
    const hit = source.inspected.indices;
    if (hit.length > 0) {
      const s = source.data.slot[hit[0]];
      if (s >= 0) { slot = s; break; }
    }
  }
}
const pinned = tokens.selected.indices;
if (slot < 0 && pinned.length > 0 && tokens.data.slot[pinned[0]] >= 0) slot = tokens.data.slot[pinned[0]];
if (state.data.slot[0] === slot) return;
for (const source of targets) {
  const data = source.data, alpha = data.alpha, base = data.base_alpha, slots = data.slot, keys = data.key_slot;
  for (let i = 0; i < alpha.length; i++) {
    if (slot < 0) { alpha[i] = base[i]; continue; }
    const lit = slots[i] === slot || (keys !== undefined && keys[i] === slot);
    alpha[i] = lit ? (base[i] > 0.5 ? 1.0 : highlight) : base[i] * dim;
  }
  source.change.emit();
}
state.data.slot[0] = slot;
state.data.position[0] = slot >= 0 ? tokens.data.position[slot] : -1;
