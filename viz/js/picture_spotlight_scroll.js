/* global plot, cb_obj, Bokeh */
// The spotlight lit a stage (viz/picture/spotlight.py): when its box is not inside the window (a phone, a short
// window), scroll the page until it is. The box is in the picture's own units (its flow along x, its token rows
// along y); on a turned picture (a phone: the flow runs down the screen) the flow is what goes down.
const data = cb_obj.data;
if (data.left.length === 0) return;
const view = Bokeh.index.find_one_by_id(plot.id);
if (view == null || view.canvas_view == null) return;
const vertical = plot.x_range.end < plot.y_range.start;
const down = vertical ? [...data.left, ...data.right] : [...data.top, ...data.bottom];
const ys = down.map((v) => view.frame.y_scale.compute(v));
const canvas = view.canvas_view.el.getBoundingClientRect();
const from = canvas.top + Math.min(...ys), to = canvas.top + Math.max(...ys);
if (from >= 0 && to <= window.innerHeight) return;
const reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
window.scrollBy({top: from - 12, behavior: reduce ? 'auto' : 'smooth'});
