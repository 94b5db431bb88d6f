/* exported patch_values, show_on_patches */
/* global opacity */
// What the image views share (viz/patch_overlay.py): one value per patch, laid over the picture. ``opacity``: a
// patch's opacity is opacity.low at 0 and opacity.low + opacity.span at the largest value shown (as in Python).

// The patches' part of a row of a flat [rows, n] matrix: the ``count`` numbers from index ``start`` (the row's own
// start plus the tokens before the patches, [CLS] and the like), as plain numbers.
function patch_values(matrix, start, count) {
  const values = [];
  for (let i = 0; i < count; i++) values.push(Number(matrix[start + i]));
  return values;
}

// Show ``values`` (one per patch, row by row) in the overlay's ``cells``: colour scale from 0 to the largest value
// (1 when none is above 0), opacity growing with the value, ``what`` (what the number is) on every patch's hover.
function show_on_patches(cells, mapper, values, what) {
  let high = 0;
  for (const value of values) if (value > high) high = value;
  if (!(high > 0)) high = 1;
  mapper.low = 0;
  mapper.high = high;
  const data = cells.data;
  cells.data = {x: data.x, y: data.y, patch: data.patch, value: values,
                alpha: values.map((value) => opacity.low + opacity.span * value / high),
                what: values.map(() => what)};
}
