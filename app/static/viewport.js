/* global data, window, setTimeout, clearTimeout */
// The ``render`` script of app/widgets.py's Viewport: the window's width, now and after each resize (a quarter of
// a second after the last), for Python to choose the picture's orientation.
data.window_width = window.innerWidth;
let pending = null;
window.addEventListener('resize', () => {
  if (pending !== null) clearTimeout(pending);
  pending = setTimeout(() => { pending = null; data.window_width = window.innerWidth; }, 250);
});
// The static site draws the document before it sends the page's changes to Python (site.mjs), so the width set
// above never reached Python there: once the link is made, the site says so and the width is told again (0 first,
// which Python ignores, since an unchanged value would not be sent).
window.addEventListener('te-document-linked', () => {
  data.window_width = 0;
  data.window_width = window.innerWidth;
});
