// The words of the static site's own page and worker, shown before Python runs: the "site.*" keys of the
// catalogues (viz/locales/<lang>.json), which the build copies into the page's config as
// config.words = { en: { key: template }, zh: { ... } }. A template's {name} is filled in; nothing is translated
// here, and every text is shown as text (textContent), never HTML.

/** The language to show: the link's ?lang= when the site has it, else the first the browser prefers that it
 *  has (zh, zh-CN, zh-TW... read Simplified Chinese), else English: the same rule as viz/i18n.py language_from. */
export function pickLanguage(words, search, preferences) {
  const asked = new URLSearchParams(search).get('lang');
  if (asked && asked in words) return asked;
  for (const tag of preferences ?? []) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary in words) return primary;
  }
  return 'en';
}

/** say(key, values): the text of ``key`` in ``lang`` (English when the language lacks it), fields filled in. */
export function sayer(words, lang) {
  return (key, values = {}) => {
    const template = words[lang]?.[key] ?? words.en?.[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  };
}
