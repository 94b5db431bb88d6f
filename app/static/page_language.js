/* global data, document */
// The ``render`` script of the page's language marker (app/page.py PageLanguage): the page's language on <html>
// (screen readers pronounce by it; the browser picks the CJK glyph forms for Chinese by it) and its font stack.
document.documentElement.lang = data.language === 'zh' ? 'zh-Hans' : data.language;
document.documentElement.style.setProperty('--base-font', data.fonts);
document.body.style.fontFamily = data.fonts;
