/* global source */
// The Reload button (``source``, in a Panel callback) after the connection was lost: the link as it is (Panel keeps
// the URL up to date with the settings), with the prompt as the box shows it now, so that text typed after the last
// Run is not lost.
const url = new URL(window.location.href);
let typed = null;
for (const model of source.document.all_models) {
  if ((model.css_classes || []).includes('te-prompt')) typed = model.value_input;
}
if (typed != null && typed !== url.searchParams.get('prompt')) url.searchParams.set('prompt', typed);
window.location.assign(url.href);
