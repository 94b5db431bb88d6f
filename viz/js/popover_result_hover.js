/* global value, y_name, pos, elements, block, largest, hook_name, fill_template */
// Hover on the popover's result strip: the hook of the output under the cursor, or (a vocabulary-wide y drawn
// ``block`` outputs per cell) the block's outputs and its largest (``largest``: the words, in the page's language).
// hook_name (popover_hook_name.functions.js) reads the arguments ``kind``, ``d`` and ``dh`` too.
const E = elements.data;
const e = Math.floor(value / block);
if (e < 0 || e >= E.start.length) return "";
if (block === 1) return hook_name(E.start[e]);
return fill_template(largest, {name: y_name, pos, first: E.start[e], last: E.stop[e] - 1, id: E.arg[e],
                               token: E.token[e]});
