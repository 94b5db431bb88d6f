/* global render, frames, slider, play, back, forward, replay, skip, steps, step_div, step_html, play_label, pause_label, cb_obj */
// The player of every animation in viz (viz/player.py): frames as data (``frames``: a ColumnDataSource with each
// frame's ``duration`` in ms and its ``step``), drawn by the view's ``render(frame, t)`` (a viz/js/*.functions.js
// file put in front of this body), played on requestAnimationFrame in the page. The same callback hears the slider,
// the play toggle, the buttons, the step pills and new frames, and tells them apart by ``cb_obj``. State that must
// outlive one call (the running loop) lives on the slider's JS object, not in a Bokeh property, so the server never
// hears of it.
const state = slider.__te_player || (slider.__te_player = {raf: null, frame: 0, frame_start: 0, from_loop: null,
                                                          step: null, drawn: null});
const last_frame = () => frames.data.duration.length - 1;
const clamp = (frame) => Math.max(0, Math.min(last_frame(), Math.round(frame)));

function show(frame, t) {
  const key = frame + ":" + t;
  if (!(t === 1 && state.drawn === key)) render(frame, t);
  state.drawn = key;
  const step = frames.data.step[frame];
  if (state.step !== step) {  // these are Bokeh properties (synced to the server): touched once per step
    state.step = step;
    step_div.text = step_html[step] || "";
    const active = step > 0 ? step - 1 : null;
    if (steps.active !== active) steps.active = active;
  }
}

function stop() {
  if (state.raf !== null) cancelAnimationFrame(state.raf);
  state.raf = null;
}

function set_from_loop(frame) {
  state.from_loop = frame;
  if (slider.value !== frame) slider.value = frame;
}

function begin(frame) {  // animate from the start of ``frame`` on
  stop();
  state.frame = clamp(frame);
  state.frame_start = performance.now();
  set_from_loop(state.frame);
  const tick = (now) => {
    state.raf = null;
    if (!play.active) return;
    const durations = frames.data.duration;
    const end = durations.length - 1;
    let frame = Math.min(state.frame, end);
    while (frame < end && now - state.frame_start >= durations[frame]) {
      state.frame_start += durations[frame];
      frame += 1;
    }
    if (frame !== state.frame) { state.frame = frame; set_from_loop(frame); }
    const t = Math.min(1, Math.max(0, (now - state.frame_start) / Math.max(1, durations[frame])));
    show(frame, t);
    if (frame === end && t >= 1) { play.active = false; return; }
    state.raf = requestAnimationFrame(tick);
  };
  state.raf = requestAnimationFrame(tick);
}

function pause_at(frame) {
  stop();
  if (play.active) play.active = false;
  state.from_loop = null;
  frame = clamp(frame);
  if (Math.round(slider.value) !== frame) slider.value = frame;  // the slider's callback draws it
  else show(frame, 1);
}

function play_from(frame) {
  if (!play.active) play.active = true;  // its callback finds the loop running and leaves it
  begin(frame);
}

const origin = cb_obj.origin !== undefined ? cb_obj.origin : cb_obj;  // a button's click event, or a model
if (origin === slider) {
  const frame = clamp(slider.value);
  if (play.active && state.from_loop === frame) return;  // the loop moved it and draws it itself
  stop();
  if (play.active) play.active = false;  // a person (or a test) moved it: stop there
  state.from_loop = null;
  show(frame, 1);
} else if (origin === play) {
  play.label = play.active ? pause_label : play_label;
  if (play.active) {
    if (state.raf === null) {
      const frame = clamp(slider.value);
      begin(frame >= last_frame() ? 0 : frame + 1);
    }
  } else {
    stop();
    show(clamp(slider.value), 1);
  }
} else if (origin === back) {
  pause_at(slider.value - 1);
} else if (origin === forward) {
  pause_at(slider.value + 1);
} else if (origin === skip) {
  pause_at(last_frame());
} else if (origin === replay) {
  play_from(0);
} else if (origin === frames) {  // new frames (a new prompt, layer or head): start over, paused
  stop();
  if (play.active) play.active = false;
  state.from_loop = null;
  state.drawn = null;
  state.step = null;
  if (slider.value !== 0) slider.value = 0;  // the slider's callback draws frame 0
  else show(0, 1);
} else if (origin === steps) {
  if (steps.active === null) return;
  const wanted = steps.active + 1;
  if (wanted === frames.data.step[clamp(slider.value)]) return;  // the player itself marked the step shown
  const first = frames.data.step.indexOf(wanted);
  if (first >= 0) play_from(first);
}
