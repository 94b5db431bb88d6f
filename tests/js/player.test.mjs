// The player (viz/js/player.js) with fake Bokeh models: a property change runs the callback a microtask later, as
// BokehJS does; requestAnimationFrame and the clock (``performance``, handed in as an argument: the body reads it by
// name) are driven by hand.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { customJS } from './bokeh_function.mjs';

let frameRequests = [];
beforeEach(() => {
  frameRequests = [];
  globalThis.requestAnimationFrame = (tick) => frameRequests.push(tick);
  globalThis.cancelAnimationFrame = (id) => { frameRequests[id - 1] = null; };
});

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A model whose listed properties run ``listener(model)`` a microtask after they change. */
function model(properties, watched = []) {
  const fake = { listeners: [] };
  for (const [name, initial] of Object.entries(properties)) {
    let value = initial;
    Object.defineProperty(fake, name, {
      get: () => value,
      set: (next) => {
        const changed = next !== value;
        value = next;
        if (changed && watched.includes(name)) for (const listener of fake.listeners) queueMicrotask(() => listener(fake));
      },
    });
  }
  return fake;
}

function player(durations = [100, 200, 300, 400], steps = [0, 1, 1, 2]) {
  const drawn = [];
  const args = {
    frames: model({ data: { duration: durations, step: steps } }, ['data']),
    slider: model({ value: 0 }, ['value']), play: model({ active: false, label: '▶' }, ['active']),
    back: {}, forward: {}, replay: {}, skip: {}, steps: model({ active: null }, ['active']),
    step_div: { text: 'ready' }, step_html: ['ready', 'step one', 'step two'], play_label: '▶', pause_label: '❚❚',
    render: (frame, t) => drawn.push([frame, t]),
    performance: { now: () => 1000 },  // the clock when playing starts
  };
  const callback = customJS(args, 'player');
  for (const name of ['frames', 'slider', 'play', 'steps']) args[name].listeners.push((origin) => callback(origin));
  const click = (button) => callback({ origin: button });
  return { args, drawn, callback, click };
}

test('moving the slider draws that frame whole and marks its step', async () => {
  const { args, drawn } = player();
  args.slider.value = 2;
  await flush();
  assert.deepEqual(drawn, [[2, 1]]);
  assert.equal(args.step_div.text, 'step one');
  assert.equal(args.steps.active, 0);
  args.slider.value = 3;
  await flush();
  assert.deepEqual(drawn.at(-1), [3, 1]);
  assert.equal(args.step_div.text, 'step two');
  assert.equal(args.steps.active, 1);
});

test('back, next and skip move one frame or to the end, and stop at the ends', async () => {
  const { args, drawn, click } = player();
  click(args.back);
  await flush();
  assert.equal(args.slider.value, 0);
  assert.deepEqual(drawn, [[0, 1]]);  // already there: drawn at once
  click(args.forward);
  await flush();
  assert.equal(args.slider.value, 1);
  click(args.skip);
  await flush();
  assert.equal(args.slider.value, 3);
  click(args.forward);
  await flush();
  assert.equal(args.slider.value, 3);
  assert.deepEqual(drawn.at(-1), [3, 1]);
});

test('playing moves on when each frame has lasted its duration, and stops at the end', async () => {
  const { args, drawn } = player();
  args.play.active = true;
  await flush();
  const start = 1000;
  assert.equal(args.play.label, '❚❚');
  assert.equal(args.slider.value, 1);  // from the frame after the one shown
  const tick = async (ms) => {
    const next = frameRequests.at(-1);
    frameRequests = [];
    next(start + ms);
    await flush();
  };
  await tick(50);  // a quarter into frame 1 (200 ms)
  assert.deepEqual(drawn.at(-1), [1, 0.25]);
  await tick(250);  // frame 1 done after 200 ms: 50 ms into frame 2 (300 ms)
  assert.equal(args.slider.value, 2);
  assert.deepEqual(drawn.at(-1), [2, 50 / 300]);
  assert.equal(args.step_div.text, 'step one');
  await tick(5000);  // long past the end
  assert.deepEqual(drawn.at(-1), [3, 1]);
  assert.equal(args.slider.value, 3);
  assert.equal(args.play.active, false);
  await flush();
  assert.equal(args.play.label, '▶');
});

test('a step pill plays from the first frame of that step', async () => {
  const { args } = player();
  args.steps.active = 1;  // the pill of step 2
  await flush();
  assert.equal(args.play.active, true);
  assert.equal(args.slider.value, 3);
});

test('new frames start over at frame 0, paused', async () => {
  const { args, drawn } = player();
  args.slider.value = 2;
  await flush();
  args.play.active = true;
  await flush();
  args.frames.data = { duration: [100, 100], step: [0, 1] };
  await flush();
  assert.equal(args.play.active, false);
  assert.equal(args.slider.value, 0);
  await flush();
  assert.deepEqual(drawn.at(-1), [0, 1]);
  assert.equal(args.step_div.text, 'ready');
  assert.equal(args.steps.active, null);
});
