/* global cb_obj, Bokeh, window, setTimeout */
// A tour step shown (the card's text changed): the card comes to the top of the window, with the picture under it,
// so the part the step outlines is in view (the prompt and the controls are a scroll away). No args: found by class.
const doc = cb_obj.document;
setTimeout(() => {
  for (const model of doc.all_models) {
    if (!(model.css_classes || []).includes('te-tour')) continue;
    const view = Bokeh.index.find_one_by_id(model.id);
    if (view == null || view.el.offsetParent === null) continue;
    const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    view.el.scrollIntoView({ block: 'start', behavior: still ? 'auto' : 'smooth' });
  }
}, 60);
