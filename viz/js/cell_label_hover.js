/* global value, labels, n */
// The label of the cell under the cursor: ``labels[floor(value)]`` (value is $x or $y, one cell per unit), or its
// index when there are no labels; nothing outside the ``n`` cells.
const i = Math.floor(value);
if (i < 0 || i >= n) return "";
return labels.length > 0 ? String(labels[i]) : String(i);
