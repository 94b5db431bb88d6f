/* global frames, cells, cell_text, weights, veils, fresh, highlight, detail, geometry, z_source, figure, diverging, sequential, blank, masked, after_mask, white, text_colour, root, ready_line, texts, fill_template, Bokeh */
/* exported render, cell_text_of, signed_colour, weight_colour */
// The attention derivation's drawing (viz/derivation.py), called by the player (player.js): frame -> what S, the
// weights column, Z, the outlines and the detail line show.
// A cell's number as drawn in it: two decimals, fewer for large values, a true minus sign; -inf as −∞.
function cell_text_of(v) {
  if (v === -Infinity) return "\u2212\u221e";
  if (!Number.isFinite(v)) return "";
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s.replace("-", "\u2212");
}

// A score's colour on the diverging palette, from -limit (its first colour) to +limit (its last), and whether the
// cell is dark enough to want white text.
function signed_colour(v, limit) {
  const u = Math.max(-1, Math.min(1, v / limit));
  return [diverging[Math.round((u + 1) / 2 * (diverging.length - 1))], Math.abs(u) > 0.6];
}

// An attention weight's colour on the sequential palette, from 0 (its first colour) to 1 (its last), and whether
// the cell is dark enough to want white text.
function weight_colour(p) {
  const u = Math.max(0, Math.min(1, p));
  return [sequential[Math.round(u * (sequential.length - 1))], u > 0.55];
}

function render(frame, t) {
  // A new frame (or new data) redraws the matrices; within a frame only the overlay fades (its own canvas
  // layer, so the ticks in between cost almost nothing).
  const memo = cells.__te_drawn || (cells.__te_drawn = {frame: null, data: null});
  if (memo.frame !== frame || memo.data !== cells.data) {
    draw_frame(frame);
    memo.frame = frame; memo.data = cells.data;
  }
  const R = fresh.data, W = weights.data;
  const fade = 1 - t;
  for (let i = 0; i < R.alpha.length; i++) R.alpha[i] = R.on[i] * 0.8 * fade;
  fresh.change.emit();
  if (frames.data.step[frame] === 5) {
    let largest = 0;
    for (let j = 0; j < W.value.length; j++) largest = Math.max(largest, W.value[j]);
    const V = veils.data;
    for (let j = 0; j < W.value.length; j++) V.alpha[j] = 0.85 * (1 - (largest > 0 ? W.value[j] / largest : 0)) * t;
    veils.change.emit();
  }
}

function draw_frame(frame) {
  const F = frames.data, C = cells.data, T = cell_text.data, W = weights.data, H = highlight.data, G = geometry.data;
  const n = G.n[0];
  const step = F.step[frame], done = F.done[frame];
  const row = F.row[frame], col = F.col[frame];
  const limit = G.limit[0];

  // cells big enough to hold a number show it
  let cell_px = 30;
  const index = (typeof Bokeh !== "undefined" && Bokeh.index) ? Bokeh.index : null;
  const view = index && index.find_one_by_id ? index.find_one_by_id(figure.id) : null;
  if (view && view.frame && view.frame.x_scale)
    cell_px = Math.abs(view.frame.x_scale.compute(1) - view.frame.x_scale.compute(0));
  const numbers = cell_px >= 23;

  // S: how far each cell has got (0 blank, 1 raw, 2 scaled, 3 masked scores, 4 weights)
  const matrices = [null, C.raw, C.scaled, C.scores, C.pattern];
  for (let k = 0; k < C.raw.length; k++) {
    const r = C.row[k];
    let stage = 0;
    if (step === 1) stage = k < done ? 1 : 0;
    else if (step >= 2 && step <= 4) stage = r < done ? step : step - 1;
    else if (step === 5) stage = 4;
    const value = stage === 0 ? NaN : matrices[stage][k];
    const was_masked = C.scores[k] === -Infinity;
    let fill = blank, dark = false, text = null, text_fill = text_colour;  // null: no label to lay out
    if (stage > 0 && value === -Infinity) { fill = masked; text = "\u2212\u221e"; text_fill = white; }
    else if (stage === 4 && was_masked) { fill = after_mask; }  // weight exactly 0: the grey says so
    else if (stage === 4) { [fill, dark] = weight_colour(value); text = cell_text_of(value); }
    else if (stage > 0) { [fill, dark] = signed_colour(value, limit); text = cell_text_of(value); }
    C.shown[k] = value;
    C.fill_color[k] = fill;
    T.text[k] = numbers ? text : null;
    T.text_color[k] = dark ? white : text_fill;
  }
  cells.change.emit();
  cell_text.change.emit();

  // Z: the rows computed so far
  const Z = z_source.data, shown_z = Z.image[0], final_z = Z.final[0];
  const dh = final_z.length / n;
  const z_rows = step === 5 ? done : 0;
  for (let r = 0; r < n; r++)
    for (let d = 0; d < dh; d++) shown_z[r * dh + d] = r < z_rows ? final_z[r * dh + d] : NaN;
  z_source.change.emit();

  // step 5: row i's weights beside V
  const terms = [];
  for (let j = 0; j < n; j++) {
    if (step === 5) {
      const p = C.pattern[row * n + j];
      const [fill, dark] = j > row ? [after_mask, false] : weight_colour(p);  // a later key: masked, weight 0
      W.value[j] = p; W.fill_color[j] = fill; W.fill_alpha[j] = 1; W.line_alpha[j] = 1;
      W.text[j] = numbers && j <= row ? cell_text_of(p) : ""; W.text_color[j] = dark ? white : text_colour;
      terms.push([p, j]);
    } else {
      W.value[j] = NaN; W.fill_alpha[j] = 0; W.line_alpha[j] = 0; W.text[j] = "";
    }
  }
  weights.change.emit();
  if (step !== 5) {
    const V = veils.data;
    for (let j = 0; j < V.alpha.length; j++) V.alpha[j] = 0;
    veils.change.emit();
  }

  // outlines: [query row | V], [key column | weights], [focus in S], [row of Z]
  const box = (i, x, y, w, h) => { H.x[i] = x; H.y[i] = y; H.width[i] = w; H.height[i] = h; H.alpha[i] = 1; };
  for (let i = 0; i < H.alpha.length; i++) H.alpha[i] = 0;
  const q_mid = G.q_left[0] + G.q_width[0] / 2, k_mid = G.k_top[0] + G.k_height[0] / 2;
  if (step === 1) {
    box(0, q_mid, row + 0.5, G.q_width[0], 1);
    if (col >= 0) { box(1, col + 0.5, k_mid, 1, G.k_height[0]); box(2, col + 0.5, row + 0.5, 1, 1); }
    else { box(1, n / 2, k_mid, n, G.k_height[0]); box(2, n / 2, row + 0.5, n, 1); }
  } else if (step >= 2 && step <= 4) {
    box(2, n / 2, row + 0.5, n, 1);
  } else if (step === 5) {
    box(0, G.v_left[0] + G.v_width[0] / 2, n / 2, G.v_width[0], n);
    box(1, G.p_left[0] + G.p_width[0] / 2, n / 2, G.p_width[0], n);
    box(2, n / 2, row + 0.5, n, 1);
    box(3, G.z_left[0] + G.z_width[0] / 2, row + 0.5, G.z_width[0], 1);
  }
  highlight.change.emit();

  // what this frame computes: covered by a white veil that fades as the frame plays
  const R = fresh.data;
  const cover = (x, y, w, h) => { R.x[0] = x; R.y[0] = y; R.width[0] = w; R.height[0] = h; R.on[0] = 1; };
  R.on[0] = 0;
  if (step === 1 && col >= 0) cover(col + 0.5, row + 0.5, 1, 1);
  else if (step >= 1 && step <= 4) cover(n / 2, row + 0.5, n, 1);
  else if (step === 5) cover(G.z_left[0] + G.z_width[0] / 2, row + 0.5, G.z_width[0], 1);

  // the detail line (a text glyph: token strings are drawn as they are, never as HTML or TeX); ``texts`` holds
  // its templates in the page's language, filled in one pass (fill_template.functions.js)
  const token = (i) => C.query[i * n];
  const key_token = (j) => C.key[j];
  let line = ready_line;
  if (step === 1 && col >= 0) {
    const k = row * n + col;
    line = fill_template(texts.cell, {row, col, value: cell_text_of(C.raw[k]), query: token(row), key: key_token(col)});
  } else if (step === 1) {
    line = fill_template(texts.row, {row, query: token(row)});
  } else if (step === 2) {
    const k = row * n + row;
    line = fill_template(texts.scale, {row, root, raw: cell_text_of(C.raw[k]), scaled: cell_text_of(C.scaled[k])});
  } else if (step === 3) {
    line = row < n - 1 ? fill_template(texts.mask, {row, first: row + 1, last: n - 1, query: token(row)})
                       : fill_template(texts.mask_last, {row});
  } else if (step === 4) {
    let best = 0;
    for (let j = 1; j < n; j++) if (C.pattern[row * n + j] > C.pattern[row * n + best]) best = j;
    line = fill_template(texts.softmax, {row, value: cell_text_of(C.pattern[row * n + best]), key: key_token(best)});
  } else if (step === 5) {
    terms.sort((a, b) => b[0] - a[0]);
    const shown = terms.slice(0, 3).filter(([p]) => p > 0).map(([p, j]) => `${cell_text_of(p)}·v${j}`);
    const sum = `${shown.join(" + ")}${terms.filter(([p]) => p > 0).length > 3 ? " + …" : ""}`;
    line = fill_template(texts.z, {row, terms: sum, query: token(row)});
  }
  detail.data.text[0] = line;
  detail.change.emit();
}
