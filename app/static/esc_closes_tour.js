/* global cb_obj, Bokeh, window, document, setTimeout */
// Esc leaves the tour: the page's keydown listener clicks the Close button (the one way the tour ends, so the
// state and the URL follow as for a click), except in a text box or a menu, where Esc is the box's own (a student
// trying a step's prompt keeps the tour). Added once, when the document is ready (app/tour.py).
if (window.__te_tour_escape) return;
window.__te_tour_escape = true;
const doc = cb_obj.all_models !== undefined ? cb_obj : cb_obj.document;
setTimeout(() => {  // a link to a step: the card and the picture under it in view, as after Next
  for (const model of doc.all_models) {
    if (!(model.css_classes || []).includes('te-tour')) continue;
    const view = Bokeh.index.find_one_by_id(model.id);
    if (view != null && view.el.offsetParent !== null) view.el.scrollIntoView({ block: 'start' });
  }
}, 300);
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || event.defaultPrevented) return;
  const target = event.composedPath()[0];  // (inside a shadow root: the event's own target is its host)
  if (target != null && (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable)) return;
  for (const model of doc.all_models) {
    if (!(model.css_classes || []).includes('te-tour-close')) continue;
    const view = Bokeh.index.find_one_by_id(model.id);
    if (view == null || view.button_el == null || view.el.offsetParent === null) continue;
    event.preventDefault();
    view.button_el.click();
    return;
  }
});
