/* global plot, box, texts, sizes, min_px, margin, max_scale, Bokeh */
// Fits the picture (viz/picture/fit.py) into the room it has: the width of its box (``box``) and the window's
// height below the picture's top in the page, less ``margin``; its shape kept (the design's size is its ranges' extent).
// Every text of the picture (``texts``, their sizes at scale 1 in ``sizes``) scales with it, never below ``min_px``.
// Run once when the page is ready: from then on it follows the window, the box, and a turned picture by itself.
const key = '__te_picture_fit_' + plot.id;
const state = window[key] || (window[key] = {installed: false, el: null, scale: null});

function fit() {
  const view = Bokeh.index.find_one_by_id(box.id);
  if (view == null || !view.el.isConnected) return;
  const el = view.el, width = el.clientWidth;
  if (!(width > 0)) return;
  // The picture's top in the page (not in the window: a scrolled page keeps its picture as it was). Far down a
  // page, it still takes at least 60% of the window's height.
  const top = el.getBoundingClientRect().top + window.scrollY;
  const room = Math.max(window.innerHeight - top - margin, 0.6 * window.innerHeight);
  const design_width = Math.abs(plot.x_range.end - plot.x_range.start);
  const design_height = Math.abs(plot.y_range.start - plot.y_range.end);
  const scale = Math.min(width / design_width, room / design_height, max_scale);
  const w = Math.max(1, Math.floor(design_width * scale)), h = Math.max(1, Math.floor(design_height * scale));
  if (plot.width !== w || plot.height !== h) plot.setv({width: w, height: h});
  for (let i = 0; i < texts.length; i++) {
    const px = Math.max(min_px, sizes[i] * scale).toFixed(1) + 'px';
    const now = texts[i].text_font_size;
    if (now == null || now.value !== px) texts[i].text_font_size = {value: px};
  }
  state.scale = scale;
  el.dataset.teScale = scale.toFixed(4);
}

let pending = false;
function soon() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; fit(); });
}

// The box's element is new each time the picture is shown again (after the derivation): watch the new one.
function watch() {
  const view = Bokeh.index.find_one_by_id(box.id);
  if (view == null || view.el === state.el) return;
  if (state.observer) state.observer.disconnect();
  state.el = view.el;
  if (typeof ResizeObserver === 'function') {
    state.observer = new ResizeObserver(soon);
    state.observer.observe(view.el);
  }
  soon();
}

if (!state.installed) {
  state.installed = true;
  window.addEventListener('resize', soon);
  setInterval(watch, 500);
}
watch();
fit();
