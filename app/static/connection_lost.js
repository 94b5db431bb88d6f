/* global cb_obj, cb_data */
// The body of a CustomJS on the document's "connection_lost" event (app/page.py): the page's connection to the
// server is gone. Bokeh does not reconnect (the server may have restarted and forgotten this session), so the page
// becomes a snapshot: the lost session stops trying to send (BokehJS has no public call for it: ``connection`` is
// the event's own, private field, named in app/compat.py; without it every click logs "not connected so cannot
// send", which tests/reliability/test_server_faults.py would catch after a Bokeh upgrade), every control is switched
// off but the prompt box (its text can still be copied, and edited for the reload), and the message with its Reload
// button appears. Only models are changed, by their CSS classes.
const connection = cb_data.connection != null ? cb_data.connection.deref() : null;
if (connection != null && !connection.closed_permanently) connection.close();
for (const model of cb_obj.all_models) {
  const classes = model.css_classes || [];
  if (classes.includes('te-offline')) model.visible = true;
  else if (classes.includes('te-prompt')) model.disabled = false;
  else if (classes.includes('te-control')) model.disabled = true;
}
