/* global frames, result, post, top, inputs, elements, geometry, highlight, detail, ready_line, texts, output, post_name, hook_name, fill_template */
/* exported render, product_text */
// A weight popover's drawing (viz/popover.py), called by the player (player.js): frame -> which outputs are
// computed, the outlines over x, W, b, y and GELU(y), the top logits' names and the detail line.
// ``viz.popover.WeightPopoverView.drawn_at`` writes the same rule out in Python, for the tests.

// A number in the detail line: four significant digits, a true minus sign.
function product_text(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const s = a >= 1000 ? v.toFixed(0) : a >= 1 ? v.toPrecision(4) : a >= 1e-3 ? v.toFixed(4) : v.toExponential(2);
  return s.replace("-", "\u2212");
}

function render(frame, t) {
  const memo = result.__te_drawn || (result.__te_drawn = {frame: null, data: null});
  if (memo.frame !== frame || memo.data !== result.data) {
    draw_frame(frame);
    memo.frame = frame; memo.data = result.data;
  }
  const H = highlight.data;
  H.fill_alpha[1] = H.alpha[1] * (0.12 + 0.3 * (1 - t));  // the band being computed glows, then settles
  highlight.change.emit();
}

function draw_frame(frame) {
  const F = frames.data, G = geometry.data, E = elements.data, H = highlight.data;
  const step = F.step[frame], lo = F.lo[frame], hi = F.hi[frame], bias_frame = F.bias[frame] === 1;
  const n_in = G.n_in[0], n_out = G.n_out[0];
  const focus = G.focus[0], has_bias = G.has_bias[0] === 1 || G.has_bias[0] === true;
  const I = inputs.data, x = I.x[0], wcol = I.wcol[0], y_focus = G.y_focus[0], b_focus = G.b_focus[0];

  // which outputs are computed
  const cols_done = step >= 3 ? n_out : (step === 2 ? hi : 0);
  const focus_done = step >= 2 || bias_frame;
  const shown = result.data.image[0], final = result.data.final[0];
  for (let e = 0; e < final.length; e++) {
    const revealed = E.stop[e] <= cols_done || (focus_done && E.start[e] <= focus && focus < E.stop[e]);
    shown[e] = revealed ? final[e] : NaN;
  }
  result.change.emit();
  if (post !== null) {
    const shown_post = post.data.image[0], final_post = post.data.final[0];
    const post_done = step === 3 ? hi : 0;
    for (let e = 0; e < final_post.length; e++) shown_post[e] = e < post_done ? final_post[e] : NaN;
    post.change.emit();
  }

  // outlines: x, W, b, y, GELU
  const set = (i, left, right, top, bottom) => {
    const min_w = 3 * G.sx[0];  // a band narrower than 3 pixels is drawn 3 pixels wide
    if (right - left < min_w) { const mid = (left + right) / 2; left = mid - min_w / 2; right = mid + min_w / 2; }
    H.left[i] = left; H.right[i] = right; H.top[i] = top; H.bottom[i] = bottom; H.alpha[i] = 1;
  };
  for (let i = 0; i < H.alpha.length; i++) H.alpha[i] = 0;
  const x_left = G.x_left[0], x_right = G.x_right[0];
  if (step === 1 && !bias_frame) {
    set(0, x_left, x_right, lo, hi);
    set(1, focus, focus + 1, lo, hi);
  } else if (step === 1) {
    set(1, focus, focus + 1, 0, n_in);
    if (has_bias) set(2, focus, focus + 1, G.b_top[0], G.b_bottom[0]);
    set(3, focus, focus + 1, G.out_top[0], G.out_bottom[0]);
  } else if (step === 2) {
    set(0, x_left, x_right, 0, n_in);
    set(1, lo, hi, 0, n_in);
    if (has_bias) set(2, lo, hi, G.b_top[0], G.b_bottom[0]);
    set(3, lo, hi, G.out_top[0], G.out_bottom[0]);
  } else if (step === 3) {
    set(3, lo, hi, G.out_top[0], G.out_bottom[0]);
    set(4, lo, hi, G.post_top[0], G.post_bottom[0]);
  }
  highlight.change.emit();

  // the top logits, named, once every output is computed
  if (top !== null) {
    const T = top.data;
    for (let i = 0; i < T.alpha.length; i++) T.alpha[i] = step === 2 && hi >= n_out ? 1 : 0;
    top.change.emit();
  }

  // the detail line (templates in the page's language, ``texts``: fill_template.functions.js)
  let line = ready_line;
  if (step === 1 && !bias_frame) {
    let sum = 0;
    for (let i = 0; i < hi; i++) sum += x[i] * wcol[i];
    line = fill_template(texts.rows, {output, focus, last: hi - 1, n_in, sum: product_text(sum)});
  } else if (step === 1) {
    let sum = 0;
    for (let i = 0; i < n_in; i++) sum += x[i] * wcol[i];
    const y = product_text(y_focus), hook = hook_name(focus);
    line = has_bias ? `${output}[${focus}] = ${product_text(sum)} + b[${focus}] (${product_text(b_focus)}) = ${y}   = ${hook}`
                    : `${output}[${focus}] = x · W[:, ${focus}] = ${y}   = ${hook}`;
  } else if (step === 2) {
    line = `${output}[${lo}…${hi - 1}] = x · W[:, ${lo}…${hi - 1}]${has_bias ? ` + b[${lo}…${hi - 1}]` : ""}`
         + "   " + fill_template(texts.done, {done: hi.toLocaleString("en"), total: n_out.toLocaleString("en")});
  } else if (step === 3) {
    line = `GELU(y[${lo}…${hi - 1}]) → ${post_name}   `
         + fill_template(texts.progress, {done: hi.toLocaleString("en"), total: n_out.toLocaleString("en")});
  }
  detail.data.text[0] = line;
  detail.change.emit();
}
