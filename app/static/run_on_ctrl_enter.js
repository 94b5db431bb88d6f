/* global cb_obj, Bokeh */
// Ctrl+Enter (Cmd+Enter on a Mac) in the prompt box runs it, as Run does (Enter alone starts a new line). BokehJS's
// text area sends no key events to Python, so a listener is added in the page: when the document is ready, and on
// the first keystroke in the box (whichever comes first; adding it twice is refused). It reaches the text area's
// and the button's DOM elements through their BokehJS views (internals, named in app/compat.py).
const doc = cb_obj.all_models !== undefined ? cb_obj : cb_obj.document;
const find = (cls) => {
  for (const m of doc.all_models) if ((m.css_classes || []).includes(cls)) return m;
  return null;
};
const box = find('te-prompt'), run = find('te-run');
const view = box == null ? null : Bokeh.index.find_one_by_id(box.id);
if (view == null || run == null || view.__te_ctrl_enter) return;
view.__te_ctrl_enter = true;
view.input_el.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
  event.preventDefault();
  box.value_input = view.input_el.value;
  const button = Bokeh.index.find_one_by_id(run.id);
  if (button != null) button.button_el.click();
});
