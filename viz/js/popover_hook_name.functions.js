/* global kind, y_name, pos, d, dh */
/* exported hook_name */
// Which hook (and index) output column ``j`` of a weight popover is (viz/popover.py): the same function names the
// result on hover (popover_result_hover.js) and in the detail line (popover_render.functions.js). ``qkv``: column j
// of [q | k | v] (``d`` wide each, ``dh`` per head) is hook_q, hook_k or hook_v at [pos, head, dim].
function hook_name(j) {
  if (kind === "qkv") {
    const part = Math.floor(j / d), head = Math.floor((j % d) / dh), dim = j % dh;
    return `${y_name}.hook_${"qkv"[part]}[${pos}, ${head}, ${dim}]`;
  }
  return `${y_name}[${pos}, ${j}]`;
}
