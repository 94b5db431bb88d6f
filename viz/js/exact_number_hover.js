/* global value, masked, exact_number */
// A hover field's number as an exact float32 (``@field{exact}``); ``masked``: the words for -inf in the page's language.
return exact_number(value, masked);
