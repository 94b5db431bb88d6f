/* global value, n, name */
// Hover on the popover's bias strip: which element of ``name`` (the bias) it is.
const j = Math.floor(value);
return (j >= 0 && j < n) ? `${name}[${j}]` : "";
