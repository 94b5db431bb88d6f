/* global value, start, size, dims */
// Which of the ``dims`` dimensions of a head's vector the cursor is on, in the derivation's Q, Kᵀ, V or Z
// (viz/derivation.py): the vector spans [start, start + size) along the hovered axis.
const d = Math.floor((value - start) / size * dims);
return String(Math.max(0, Math.min(dims - 1, d)));
