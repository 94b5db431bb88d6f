/* global data, model, window, performance, requestAnimationFrame */
// The script of app/zoom.py's RangeZoom (its ``render`` and ``move`` scripts): a camera move on a Bokeh figure's
// ranges, played in the browser.
// ``data.move``: {figure, start, end, serial, duration}, in one property so that it arrives whole; ``start`` and
// ``end`` are [x_start, x_end, y_start, y_end]. Each new serial plays once; when it has played, ``done`` says so
// (Python waits for it before what comes after the move). Reduced motion: a jump.
const move = data.move;
if (move == null || !(move.serial > 0)) return;
let figure = null;
for (const m of model.document.all_models) if (m.name === move.figure) { figure = m; break; }
if (figure === null) { data.done = move.serial; return; }
// Once per move, even where Panel renders this component twice: the move is noted on the figure itself.
if (figure.__te_zoom_serial === move.serial) return;
figure.__te_zoom_serial = move.serial;
const serial = move.serial, [a, b] = [move.start, move.end];
const still = window.matchMedia != null && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const duration = still ? 0 : move.duration, began = performance.now();
const glide = (from_start, from_end, to_start, to_end, t) => {
  const centre = (from_start + from_end) / 2 + t * ((to_start + to_end) / 2 - (from_start + from_end) / 2);
  const from_span = from_end - from_start, to_span = to_end - to_start;
  const span = from_span * Math.pow(to_span / from_span, t);
  return [centre - span / 2, centre + span / 2];
};
const step = (now) => {
  if (figure.__te_zoom_serial !== serial) return;  // another move began
  // (a frame's time is when the frame began: the first may be a little before the move did)
  const t = duration > 0 ? Math.min(1, Math.max(0, (now - began) / duration)) : 1, eased = 1 - Math.pow(1 - t, 3);
  const [x0, x1] = glide(a[0], a[1], b[0], b[1], eased), [y0, y1] = glide(a[2], a[3], b[2], b[3], eased);
  // Only the last frame goes to Python (a server would otherwise get two messages a frame, and answer them
  // late): it then knows where the move ended.
  figure.x_range.setv({start: x0, end: x1}, {sync: t >= 1});
  figure.y_range.setv({start: y0, end: y1}, {sync: t >= 1});
  if (t < 1) requestAnimationFrame(step); else data.done = serial;
};
requestAnimationFrame(step);
