/* exported wrap_lines */
// A caption broken into lines of at most ``width`` (a wide character, Chinese, counts two), at spaces where the
// text has them, else anywhere: the same lines as viz/picture/labels.py's ``wrap``.
function wrap_lines(text, width) {
  const spaced = text.includes(' ');
  const words = spaced ? text.replace(/\n/g, ' ').split(' ') : Array.from(text);
  const size = (word) => Array.from(word).reduce((n, c) => n + (c.codePointAt(0) > 0x2e80 ? 2 : 1), 0);
  const lines = [];
  let line = '', length = 0;
  for (const word of words) {
    let glue = spaced && line ? ' ' : '';
    if (line && length + glue.length + size(word) > width) {
      lines.push(line);
      line = ''; length = 0; glue = '';
    }
    line += glue + word;
    length += glue.length + size(word);
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
