/* global plot, stages, heads, tokens, cells, probabilities, cursor, texts, live_id, exact_number, fill_template, Bokeh */
// The picture without a mouse (viz/picture/keyboard.py): a keyboard cursor over the picture's parts, drawn as an
// outline (``cursor``) and read aloud in the polite live region ``live_id``. ``texts``: every word
// it shows or says, in the page's language (its ``{fields}`` filled here, token strings as text, never HTML).
// Run when the document is ready: from then on, twice a second, the picture's canvas (a new one each time the
// picture is shown again, after the derivation) gets its attributes and its key listener, once each.
if (window.__te_keyboard_installed === plot.id) return;
window.__te_keyboard_installed = plot.id;
const words = texts instanceof Map ? Object.fromEntries(texts) : texts;
const exact = (value) => exact_number(value, words.masked);
const col = (source, name) => source.data[name];
const real = (v) => typeof v === 'number' && Number.isFinite(v);
const token_count = () => col(tokens, 'position').filter((p) => real(p) && p >= 0).length;
const state = {mode: 'ring', item: 0, index: 0, row: 0, col: 0};
window.__te_keyboard_state = state;

function live_region() {
  let el = document.getElementById(live_id);
  if (el === null) {
    el = document.createElement('div');
    el.id = live_id;
    el.setAttribute('role', 'status');
    el.setAttribute('aria-live', 'polite');
    el.setAttribute('aria-atomic', 'true');
    el.style.cssText = 'position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;'
                     + 'clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;';
    document.body.appendChild(el);
  }
  return el;
}

// The parts along the flow: the tokens, each stage and picker button (one per name: the widest box), the head
// cards; the output last.
function ring() {
  const items = [], seen = {};
  const n = token_count();
  if (n > 0) items.push({kind: 'tokens', left: col(tokens, 'left')[0]});
  const names = col(stages, 'stage'), lefts = col(stages, 'left'), rights = col(stages, 'right');
  for (let i = 0; i < names.length; i++) {
    const width = rights[i] - lefts[i];
    if (!names[i] || !real(width)) continue;  // a padding row
    if (seen[names[i]] !== undefined) {
      const other = items[seen[names[i]]];
      if (width > other.width) { other.index = i; other.width = width; other.left = lefts[i]; }
      continue;
    }
    seen[names[i]] = items.length;
    items.push({kind: 'stage', stage: names[i], index: i, left: lefts[i], width: width});
  }
  if (col(heads, 'head').length > 0) items.push({kind: 'heads', left: col(heads, 'left')[0]});
  items.sort((a, b) => (a.stage === 'output') - (b.stage === 'output') || a.left - b.left);
  return items;
}

function box(source, i, pad) {
  return [col(source, 'left')[i] - pad, col(source, 'right')[i] + pad, col(source, 'top')[i] - pad,
          col(source, 'bottom')[i] + pad];
}

function union(source, count, pad) {
  let l = Infinity, r = -Infinity, t = Infinity, b = -Infinity;
  for (let i = 0; i < count; i++) {
    const [li, ri, ti, bi] = box(source, i, pad);
    l = Math.min(l, li); r = Math.max(r, ri); t = Math.min(t, ti); b = Math.max(b, bi);
  }
  return [l, r, t, b];
}

function candidates() {
  const y = col(probabilities, 'y'), out = [];
  for (let i = 0; i < y.length; i++) if (real(y[i])) out.push(i);
  return out;
}

// Where the cursor is: [box, text].
function describe(items) {
  const item = items[state.item];
  const n = token_count();
  const numbered = (text) => fill_template(words.item, {index: state.item + 1, count: items.length, text: text});
  if (state.mode === 'ring') {
    if (item.kind === 'tokens') return [union(tokens, n, 3), numbered(fill_template(words.tokens, {n: n}))];
    if (item.kind === 'heads') return [union(heads, col(heads, 'head').length, 3),
                                       numbered(fill_template(words.heads, {n: col(heads, 'head').length}))];
    const i = item.index, description = String(col(stages, 'description')[i]);
    const hint = item.stage === 'attention' ? words.matrix : item.stage === 'output' ? words.output : '';
    const text = hint ? description.replace(/[.\s]*$/, '.') + ' ' + hint : description;
    return [box(stages, i, 0), numbered(text)];
  }
  if (state.mode === 'tokens') {
    const i = state.index;
    return [box(tokens, i, 2), fill_template(words.token, {token: col(tokens, 'hover_label')[i]})];
  }
  if (state.mode === 'heads') {
    const i = state.index;
    return [box(heads, i, 2), fill_template(words.head, {head: col(heads, 'head')[i],
                                                          description: col(heads, 'description')[i]})];
  }
  if (state.mode === 'cells') {
    const k = state.row * n + state.col;
    const label = (slot) => col(tokens, 'hover_label')[slot];
    return [box(cells, k, 1), fill_template(words.cell, {query: label(state.row), key: label(state.col),
      raw: exact(col(cells, 'raw')[k]), score: exact(col(cells, 'score')[k]), weight: exact(col(cells, 'weight')[k])})];
  }
  const rows = candidates(), i = rows[state.index];
  const output = items[state.item].index;
  // (turned, a phone: the candidates' rows go down the picture's flow, and their boxes are drawn as they are)
  const turned = plot.x_range.end < plot.y_range.start;
  const row = [col(probabilities, 'top')[i] - 3, col(probabilities, 'bottom')[i] + 3];
  const b = turned ? [...row, col(stages, 'top')[output], col(stages, 'bottom')[output]]
    : [col(stages, 'left')[output], col(stages, 'right')[output], ...row];
  const id = col(probabilities, 'token_id')[i];
  const values = {token: col(probabilities, 'token')[i], percent: col(probabilities, 'percent')[i],
                  probability: exact(col(probabilities, 'probability')[i]), logit: exact(col(probabilities, 'logit')[i])};
  return [b, fill_template(id >= 0 ? words.candidate : words.others, values)];
}

function show(extra) {
  const items = ring();
  if (items.length === 0) return;
  state.item = Math.max(0, Math.min(state.item, items.length - 1));
  const [b, text] = describe(items);
  const said = extra ? text + ' ' + extra : text;
  const drawn = {left: [b[0]], right: [b[1]], top: [b[2]], bottom: [b[3]]};
  cursor.data = Object.assign({}, drawn,
                              {mode: [state.mode], item: [items[state.item].stage || items[state.item].kind],
                               index: [state.mode === 'cells' ? state.row * token_count() + state.col : state.index],
                               text: [said]});
  const region = live_region();
  region.textContent = '';  // the same text again is still read
  setTimeout(() => { region.textContent = said; }, 30);
}

function hide() {
  const empty = {left: [NaN], right: [NaN], top: [NaN], bottom: [NaN]};
  cursor.data = Object.assign({}, empty, {mode: [state.mode], item: [''], index: [-1], text: ['']});
}

function tap(source, index) {
  source.selected.indices = [index];  // as a tap: the app's Python callback reads it (and empties it)
}

// The first element matching ``selector`` inside an element of class ``cls``, shadow roots included.
function deep_find(cls, selector) {
  const inside = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(selector)) return el;
      if (el.shadowRoot) { const found = inside(el.shadowRoot); if (found) return found; }
    }
    return null;
  };
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains(cls)) { const found = inside(el.shadowRoot || el); if (found) return found; }
      if (el.shadowRoot) { const found = walk(el.shadowRoot); if (found) return found; }
    }
    return null;
  };
  return walk(document);
}

// The matrix opened into its derivation from the keyboard: the focus goes to its Back button (the canvas is gone),
// and comes back to the picture's new canvas when the picture is shown again.
function follow_the_derivation() {
  state.return_focus = true;
  let tries = 0;
  const look = () => {
    const button = deep_find('te-picture-back', 'button');
    if (button !== null && button.offsetParent !== null) { button.focus(); return; }
    if (++tries < 100) setTimeout(look, 100);
  };
  setTimeout(look, 100);
}

function on_key(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const items = ring();
  if (items.length === 0) return;
  const item = items[Math.min(state.item, items.length - 1)];
  const n = token_count(), key = event.key;
  let extra = null, handled = true;
  const clamp = (v, count) => Math.max(0, Math.min(v, count - 1));
  const enter = () => {
    if (item.kind === 'tokens') { state.mode = 'tokens'; state.index = 0; }
    else if (item.kind === 'heads') { state.mode = 'heads'; state.index = clamp(col(heads, 'head').findIndex(
        (h, i) => col(heads, 'selected')[i]), col(heads, 'head').length); }
    else if (item.stage === 'attention' && n > 0) { state.mode = 'cells'; state.row = n - 1; state.col = 0; }
    else if (item.stage === 'output' && candidates().length > 0) { state.mode = 'candidates'; state.index = 0; }
    else return false;
    return true;
  };
  if (state.mode === 'ring') {
    if (key === 'ArrowRight') state.item = clamp(state.item + 1, items.length);
    else if (key === 'ArrowLeft') state.item = clamp(state.item - 1, items.length);
    else if (key === 'Home') state.item = 0;
    else if (key === 'End') state.item = items.length - 1;
    else if (key === 'ArrowDown') { if (!enter()) handled = false; }
    else if (key === 'Enter' || key === ' ') {
      if (item.kind === 'stage') {
        tap(stages, item.index); extra = words.opened;
        if (item.stage === 'attention') follow_the_derivation();
      } else enter();
    } else handled = false;
  } else if (key === 'Escape') {
    state.mode = 'ring'; extra = words.back;
  } else if (state.mode === 'cells') {
    if (key === 'ArrowUp') state.row = clamp(state.row - 1, n);
    else if (key === 'ArrowDown') state.row = clamp(state.row + 1, n);
    else if (key === 'ArrowLeft') state.col = clamp(state.col - 1, n);
    else if (key === 'ArrowRight') state.col = clamp(state.col + 1, n);
    else if (key === 'Home') state.col = 0;
    else if (key === 'End') state.col = n - 1;
    else if (key === 'Enter' || key === ' ') { tap(stages, item.index); extra = words.opened; follow_the_derivation(); }
    else handled = false;
  } else {
    const count = state.mode === 'tokens' ? n : state.mode === 'heads' ? col(heads, 'head').length
                                                                      : candidates().length;
    if (key === 'ArrowUp' || key === 'ArrowLeft') state.index = clamp(state.index - 1, count);
    else if (key === 'ArrowDown' || key === 'ArrowRight') state.index = clamp(state.index + 1, count);
    else if (key === 'Home') state.index = 0;
    else if (key === 'End') state.index = count - 1;
    else if (key === 'Enter' || key === ' ') {
      if (state.mode === 'tokens') { tap(tokens, state.index); extra = words.token_pinned; }
      else if (state.mode === 'heads') {
        tap(heads, state.index); extra = fill_template(words.head_drawn, {head: col(heads, 'head')[state.index]});
      } else { tap(stages, item.index); extra = words.opened; }
    } else handled = false;
  }
  if (!handled) return;
  event.preventDefault();
  event.stopPropagation();
  if (state.mode === 'cells') { state.row = clamp(state.row, n); state.col = clamp(state.col, n); }
  show(extra);
}

function ensure() {
  const view = Bokeh.index.find_one_by_id(plot.id);
  if (view == null || view.canvas_view == null) return;
  const el = view.canvas_view.el;
  live_region();
  if (el.__te_keyboard) return;
  el.__te_keyboard = true;
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'application');
  el.setAttribute('aria-label', words.label);
  el.setAttribute('aria-describedby', live_id);
  el.addEventListener('keydown', on_key);
  el.addEventListener('focus', () => { state.focused = el; show(null); });
  el.addEventListener('blur', () => { if (state.focused === el) state.focused = null; hide(); });
  // Back from the derivation, or the canvas it had was redrawn (a removed element sends no blur): focus this one.
  const lost = state.focused != null && !state.focused.isConnected;
  if (state.return_focus) state.mode = 'ring';  // on the matrix again, among the parts
  if (state.return_focus || lost) { state.return_focus = false; el.focus(); }
}
ensure();
setInterval(ensure, 500);
