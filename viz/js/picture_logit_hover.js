/* global value, others, masked, exact_number */
// The logit of a candidate next token in the picture's output (viz/picture/output.py); the row of all the other
// tokens has none (NaN): ``others`` says so, in the page's language.
if (Number.isNaN(value)) return others;
return exact_number(value, masked);
