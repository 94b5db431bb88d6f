/* global stages, caption, hint, width, wrap_lines */
// The hovered stage's description in the picture's caption (viz/picture/figure.py); ``hint`` when none. ``text`` is
// the description, ``shown`` the same in lines of at most ``width`` characters (as drawn).
const hit = stages.inspected.indices;
const text = hit.length > 0 ? stages.data.description[hit[0]] : hint;
if (caption.data.text[0] !== text) {
  caption.data.text[0] = text;
  if (caption.data.shown !== undefined) caption.data.shown[0] = wrap_lines(text, width);
  caption.change.emit();
}
