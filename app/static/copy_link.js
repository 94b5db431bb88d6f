/* global cb_obj, copied, failed, window, navigator, setTimeout */
// "Copy the link": the page's URL (Panel keeps it up to date with every setting) to the clipboard; the button says
// so for two seconds (``copied`` / ``failed``: its words in the page's language; a page the browser does not
// trust with the clipboard says it cannot, and the address bar holds the same link).
const label = cb_obj.label;
const say = (words) => {
  cb_obj.label = words;
  setTimeout(() => { cb_obj.label = label; }, 2000);
};
if (navigator.clipboard != null && window.isSecureContext) {
  navigator.clipboard.writeText(window.location.href).then(() => say(copied), () => say(failed));
} else {
  say(failed);
}
