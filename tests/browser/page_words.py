"""The words a page shows, read from the page itself: its text (through Panel's shadow roots, visible elements
only) and the text its Bokeh models draw on canvases or show on hover (titles, axis labels, labels, tooltips,
widget titles and options, and the string columns of its data sources, which hold the picture's labels).

``english_words(page, allowed)`` returns the words of 4 or more Latin letters left after removing what may stay
in any language: token strings (the student's text and the model's vocabulary pieces), formulas and hook names,
and the few terms the glossary keeps (GPT-2, LayerNorm, softmax, token, logits, ...)."""

from __future__ import annotations

import re

PAGE_TEXT_JS = r"""() => {
  const texts = [];
  const walk = (root) => {
    for (const node of root.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        const parent = node.parentElement;
        if (parent && !['STYLE', 'SCRIPT', 'NOSCRIPT'].includes(parent.tagName) && parent.checkVisibility()
            && node.textContent.trim()) texts.push(node.textContent.trim());
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (node.shadowRoot) walk(node.shadowRoot);
        for (const name of ['aria-label', 'title', 'placeholder']) {
          const value = node.getAttribute(name);
          if (value && node.checkVisibility()) texts.push(value);
        }
        walk(node);
      }
    }
  };
  walk(document.body);
  // What Bokeh draws or shows: titles, labels, axis labels, widget titles and options, toolbar tooltips; the
  // columns a text glyph draws or a tooltip names; categorical factors. (Panel's markup models are read above,
  // as the page shows them; colours, ids and other columns nobody sees are not words.)
  const props = ['axis_label', 'label', 'title', 'placeholder', 'description'];
  const columnsShown = [];
  for (const doc of Bokeh.documents) for (const model of doc.all_models) {
    const type = model.type ?? '';
    if (model.properties.text !== undefined && typeof model.text === 'string' && !/HTML|Markdown|Str$/.test(type))
      texts.push(model.text);
    for (const prop of props) {
      const value = model.properties[prop] !== undefined ? model[prop] : undefined;
      if (typeof value === 'string') texts.push(value);
      else if (value && typeof value === 'object' && typeof value.text === 'string') texts.push(value.text);
    }
    if (Array.isArray(model.labels)) texts.push(...model.labels.filter((l) => typeof l === 'string'));
    if (Array.isArray(model.options)) for (const option of model.options)
      texts.push(Array.isArray(option) ? String(option[1]) : String(option));
    if (Array.isArray(model.factors)) texts.push(...model.factors.flat(2).map(String));
    if (model.properties.tooltips !== undefined) {
      const tips = model.tooltips;
      const templates = typeof tips === 'string' ? [tips] : Array.isArray(tips) ? tips.map((t) => String(t[1])) : [];
      if (typeof tips === 'string') texts.push(tips.replace(/<[^>]*>/g, ' '));
      else if (Array.isArray(tips)) for (const [label] of tips) texts.push(String(label));
      // A tooltip's @column is read from its own renderers' sources (every source when it names none).
      const own = Array.isArray(model.renderers) ? model.renderers.map((r) => r.data_source).filter(Boolean) : [null];
      for (const template of templates)
        for (const match of template.matchAll(/@\{?(\w+)\}?/g))
          for (const source of own) columnsShown.push([source, match[1]]);
    }
    if (model.glyph !== undefined && model.data_source !== undefined && model.glyph.properties.text !== undefined) {
      const spec = model.glyph.text;
      if (spec != null && spec.field !== undefined) columnsShown.push([model.data_source, spec.field]);
      else if (spec != null && typeof spec.value === 'string') texts.push(spec.value);
      else if (typeof spec === 'string') texts.push(spec);
    }
  }
  const sources = Bokeh.documents.flatMap((doc) => [...doc.all_models].filter((m) => m.data !== undefined
                                                                               && m.properties.data !== undefined));
  for (const [source, field] of columnsShown) {
    for (const s of source === null ? sources : [source]) {
      const column = s.data[field];
      if (Array.isArray(column)) texts.push(...column.filter((v) => typeof v === 'string'));
    }
  }
  return texts;
}"""

# Terms every language keeps (the glossary keeps them, or they are names), hook and weight names, units.
KEPT_TERMS = {
    "gpt", "layernorm", "softmax", "token", "tokens", "logit", "logits", "query", "value", "mlp", "gelu",
    "transformer", "explainer", "pyodide", "webassembly", "chrome", "edge", "firefox", "safari", "ctrl", "enter",
    "english", "language", "tanh", "dropout", "lens", "attn", "hook",
}


def page_texts(page) -> list[str]:
    return page.evaluate(PAGE_TEXT_JS)


def english_words(texts: list[str], allowed_texts: list[str] = (), formulas: list[str] = ()) -> dict[str, str]:
    """Each remaining English word with one text it came from. ``allowed_texts``: texts whose every word may
    appear (the prompt, the vocabulary); ``formulas``: exact texts that may appear as they are."""
    allowed = {word.lower() for text in allowed_texts for word in re.findall(r"[A-Za-z]{4,}", text)}
    found: dict[str, str] = {}
    for text in texts:
        for formula in sorted(formulas, key=len, reverse=True):
            text = text.replace(formula, " ")
        cleaned = re.sub(r"[\w.]*(hook_|\.|_)[\w.]*", " ", text)  # hook names, weight names, file names
        for word in re.findall(r"[A-Za-z]{4,}", cleaned):
            lower = word.lower()
            if lower not in KEPT_TERMS and not any(lower in allowed_word for allowed_word in allowed):
                found.setdefault(word, text[:120])
    return found
