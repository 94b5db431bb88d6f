/* global data, window, setTimeout, clearTimeout */
// The ``render`` script of app/widgets.py's Viewport: the window's width, now and after each resize (a quarter of
// a second after the last), for Python to choose the picture's orientation.
data.window_width = window.innerWidth;
let pending = null;
window.addEventListener('resize', () => {
  if (pending !== null) clearTimeout(pending);
  pending = setTimeout(() => { pending = null; data.window_width = window.innerWidth; }, 250);
});
