/* exported fill_template */
// ``template`` (words from the catalogues, in the page's language) with each ``{name}`` replaced by ``values[name]``,
// in one pass: a value that holds braces (a token's own text) is never read as a field. A field with no value stays
// as it is written.
function fill_template(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, name) =>
    Object.prototype.hasOwnProperty.call(values, name) && values[name] !== undefined ? String(values[name]) : all);
}
