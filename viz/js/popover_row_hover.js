/* global value, n, name, pos */
// Hover on the popover's x (or GELU(y)) strip: which element of the hook ``name`` at token ``pos`` it is.
const i = Math.floor(value);
return (i >= 0 && i < n) ? `${name}[${pos}, ${i}]` : "";
