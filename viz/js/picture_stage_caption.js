/* global stages, caption, hint */
// The hovered stage's description in the picture's caption line (viz/picture/figure.py); ``hint`` when none.
const hit = stages.inspected.indices;
const text = hit.length > 0 ? stages.data.description[hit[0]] : hint;
if (caption.data.text[0] !== text) {
  caption.data.text[0] = text;
  caption.change.emit();
}
