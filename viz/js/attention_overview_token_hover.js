/* global value, labels, n, gap */
// Which token of a cell the cursor is on, in the attention overview (viz/attention_explorer.py): cell (head or
// layer) h spans [h + gap/2, h + 1 - gap/2], its ``n`` tokens evenly inside it.
const cell = Math.floor(value);
const within = (value - cell - gap / 2) / (1 - gap);
if (within < 0 || within >= 1) return "";
const i = Math.floor(within * n);
return labels.length > 0 ? String(labels[i]) : String(i);
