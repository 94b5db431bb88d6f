/* global value, n, size, what, fill_template */
// Hover on the popover's W, drawn ``size`` rows (or columns) per cell: the row (column) under the cursor, or the
// block of them (``what``: the words, in the page's language), among ``n``.
const i = Math.floor(value / size);
const first = i * size, last = Math.min(n, first + size) - 1;
if (first < 0 || first >= n) return "";
if (size === 1) return String(first);
return fill_template(what, {first, last, size});
