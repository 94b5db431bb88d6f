/* global target, kind, filename, Bokeh, document, URL, setTimeout */
// The body of a button's CustomJS: what ``target`` (a Panel layout's Bokeh model: the picture's area, a section)
// shows now, drawn into a PNG (``kind`` "png") or an SVG ("svg": its text stays text) and downloaded as
// ``filename`` — in the browser, with no server (BokehJS draws every plot of the layout into one image).
const view = Bokeh.index.find_one_by_id(target.id);
if (view == null) return;
view.export(kind).to_blob().then((blob) => {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
});
