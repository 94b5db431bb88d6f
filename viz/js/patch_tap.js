/* global cells, select, first */
// A tap on a patch of the picture (viz/patch_overlay.py) chooses that patch's token in ``select`` (its position:
// ``first`` tokens come before the patches).
const indices = cells.selected.indices;
if (indices.length === 0) return;
const position = String(first + indices[indices.length - 1]);
if (select.value !== position) select.value = position;
