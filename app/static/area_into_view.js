/* global source, window, Bokeh */
// The picture's area, when its top is in the lower part of the screen or below, scrolls up to the top of it (a
// button far above the area, on a phone, changed what the area shows).
for (const model of source.document.all_models) {
  if (!(model.css_classes || []).includes('te-picture-area')) continue;
  const view = Bokeh.index.find_one_by_id(model.id);
  if (view == null) return;
  const top = view.el.getBoundingClientRect().top;
  if (top > window.innerHeight * 0.6) view.el.scrollIntoView({ behavior: 'smooth', block: 'start' });
  return;
}
