/* exported exact_number */
// A float32 as NumPy prints it: the shortest decimal that reads back to the same float32, -inf as ``masked`` (the
// page's words for a cell the causal mask removed), null (no value) as nothing.
function exact_number(value, masked) {
  if (value == null) return "";
  if (value === -Infinity) return masked;
  if (value === Infinity) return "+\u221e";
  if (Number.isNaN(value)) return "NaN";
  const target = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return String(Number(text));
  }
  return String(value);
}
