/* global scroller, cb_obj, Bokeh */
// The spotlight lit a stage (viz/picture/spotlight.py): scroll ``scroller`` (the picture's box, which scrolls sideways
// on a narrow screen) so that the stage is in view. The picture is drawn in pixels from its left edge.
const left = cb_obj.data.left, right = cb_obj.data.right;
if (left.length === 0) return;
const view = Bokeh.index.find_one_by_id(scroller.id);
if (view == null) return;
const el = view.el, from = Math.min(...left), to = Math.max(...right);
if (from >= el.scrollLeft && to <= el.scrollLeft + el.clientWidth) return;
const reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
el.scrollTo({left: Math.max(0, from - 12), behavior: reduce ? 'auto' : 'smooth'});
