/* global value, tokens */
// The label of the token in picture row ``value`` ("3: ␣Paris"), read from the token source: hover text only
// (Bokeh escapes what a CustomJSHover returns, and viz never marks a field {safe}).
const i = Math.round(value);
const labels = tokens.data.hover_label;
return (i >= 0 && i < labels.length) ? String(labels[i]) : "";
