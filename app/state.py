"""The app's state, in one place: what the student chose, and what follows from it.

Widgets edit the first group; the second is derived here and only read by the views:

    prompt, ablated heads  ──trace (one forward pass)──▶  trace, logit lens
    trace + temperature, top-k, top-p, seed  ──sampling (no forward pass)──▶  probabilities, sampled token

The URL carries the first group, so a shared link restores exactly what a teacher sees.

What a student types is kept as typed, even when it cannot be used (an empty prompt, seed -1, top-k "abc" from a
link): the page says what is wrong (``error``), the views keep the last trace and sampling that worked, and Next
token and Generate refuse, saying why, until the boxes hold what the views show. So the page never continues one
prompt while showing another, and never draws with a seed other than the one in the box.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
import param

from transformer_explainer.gpt2_core import GPT2CoreError, sampling

from transformer_explainer.viz.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, plural, translator

from . import sections
from .examples import EXAMPLE_PROMPTS
from .history import DrawnToken, History, drawn_token
from .progress import read_in_steps, reads_in_steps
from .runtime import ModelRuntime

# "picture": no section open; "overview": the picture zoomed out to the whole model (as ``expanded``); then the
# detail sections.
PICTURE_VIEWS = ["picture", "overview"]
VIEWS = [*PICTURE_VIEWS, *sections.keys()]
ABLATION_PATTERN = re.compile(r"^\s*(\d+)\.(\d+)\s*$")
MAX_PROMPT_CHARACTERS = 20_000  # far beyond any context; stops pathological pastes before tokenizing
MAX_QUOTED_CHARACTERS = 60  # a message quotes at most this much of what was typed
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a Python str, every surrogate is a lone one


def quoted(value, words: Translator = translator()) -> str:
    """``value`` as a message quotes it: text in quotes (at most MAX_QUOTED_CHARACTERS of it), numbers as typed
    (-1, not -1.0: the URL parser reads "-1" as a float), an empty box as such."""
    if value is None:
        return words("state.empty_box")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, str) and len(value) > MAX_QUOTED_CHARACTERS:
        return words("state.quoted_long", start=repr(value[:MAX_QUOTED_CHARACTERS]), n=len(value))
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_CHARACTERS else words("state.quoted_long", start=text[:MAX_QUOTED_CHARACTERS],
                                                               n=len(text))


class Text(param.String):
    """Text as typed, which may hold what no URL can carry: a lone surrogate (half of an emoji, from a paste)
    cannot be encoded as UTF-8, and Panel's URL sync would fail on it with a traceback. In a URL (``serialize``)
    such a character becomes U+FFFD; the state keeps the text as typed, and says what is wrong with it."""

    @classmethod
    def serialize(cls, value):
        return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


class Number(param.Number):
    """A number, never True or False: param takes a bool for a number, and a link's "true" arrives as one (Panel
    reads it so); a slider given True then fails in Bokeh and the page does not load."""

    def _validate_value(self, value, allow_None):
        if isinstance(value, bool):
            raise ValueError(f"{self.name} must be a number, not {value!r}")
        super()._validate_value(value, allow_None)


class Integer(param.Integer):
    """A whole number, never True or False (see Number)."""

    def _validate_value(self, value, allow_None):
        if isinstance(value, bool):
            raise ValueError(f"{self.name} must be a whole number, not {value!r}")
        super()._validate_value(value, allow_None)


def is_whole_number(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class ExplainerState(param.Parameterized):
    # -- chosen by the student (and carried by the URL) ---------------------------------------------
    prompt = Text(default=EXAMPLE_PROMPTS[0], doc="the text GPT-2 continues")
    temperature = Number(default=0.8, bounds=(0, 10), step=0.05, doc="0 = always the most likely token")
    top_k = param.Parameter(default=0, doc="keep the k most likely tokens; 0 = all. Kept as typed: anything "
                                           "but a whole number >= 0 is reported, and the last valid top-k used")
    top_p = Number(default=1.0, bounds=(0.01, 1.0), step=0.01, doc="keep the top tokens up to this mass")
    seed = param.Parameter(default=42, doc="makes sampling repeatable: a whole number from 0 to 2**63 - 1. Kept "
                                           "as typed: anything else is reported, and the last valid seed used")
    view = param.Selector(default="picture", objects=VIEWS, doc="the detail section that is open ('picture': none, "
                                                               "only the picture)")
    layer = Integer(default=0, bounds=(0, None))
    head = Integer(default=0, bounds=(0, None))
    position = Integer(default=-1, doc="the token the per-token views show; -1 = the last")
    ablated = Text(default="", doc="silenced heads as 'layer.head' pairs, e.g. '0.3,5.1'")
    expanded = param.Boolean(default=False, doc="the picture zoomed out to the whole model, every block in a row")
    lang = param.Selector(default=DEFAULT_LANGUAGE, objects=list(LANGUAGES),
                          doc="the language of every word shown (viz/i18n.py): 'en' or 'zh'")
    tour = Integer(default=0, bounds=(0, None), doc="the guided tour's step, from 1; 0 = no tour (app/tour.py)")
    compare = Text(default="", doc="a second prompt, beside ``prompt`` in the compare section; '' = none")
    made = Integer(default=0, bounds=(0, None), doc="how many tokens at the end of the prompt the model drew "
                                                   "(Next token, Generate): the steps a link restores")
    step = Integer(default=0, bounds=(0, None), doc="the step the views show: 0 the prompt as it is now; k the pass "
                                                   "that drew the k-th token the model added (app/history.py)")

    # -- derived (read-only for views) ----------------------------------------------------------------
    trace = param.Parameter(default=None, doc="the traced forward pass of ``traced_prompt``")
    probabilities = param.Parameter(default=None, doc="[V]: the distribution the next token is drawn from")
    sampled_id = param.Integer(default=0)
    error = param.String(default="", doc="what is wrong, one problem a line, shown in the page; '' when all is well")
    generating = param.Boolean(default=False)
    status = param.String(default="")
    compare_trace = param.Parameter(default=None, doc="the traced pass of ``compare`` (the last one that ran)")
    compare_error = param.String(default="", doc="what is wrong with ``compare``, said in the compare section")
    history = param.Parameter(default=None, doc="the prompt's own ids and the tokens the model drew after them "
                                                "(app/history.py History)")

    def __init__(self, runtime: ModelRuntime, **params):
        self.runtime = runtime
        config = runtime.config
        self.traced_prompt: str | None = None  # the prompt ``trace`` is of: ``prompt`` unless that one failed
        # The token ids of a prompt the model extended (Next token, Generate), with its text: the model's own ids
        # are kept, never re-tokenized (a byte-level token decodes to "�", which encodes as other ids).
        self._model_ids: tuple[str, list[int]] | None = None
        self._problems: dict[str, str] = {}  # what ``error`` says, by where it comes from
        self._valid = {"top_k": 0, "seed": 42}  # the last valid value of each box kept as typed
        self._stop_requested = False
        self._lens, self._lens_of = None, None
        self._drawn: list[DrawnToken] = []  # what Next token / Generate just drew, for the history
        super().__init__(**params)
        self.param.layer.bounds = (0, config.n_layer - 1)
        self.param.head.bounds = (0, config.n_head - 1)
        # Every time, not only on a change: param takes False for 0 and True for 1, so a box showing "0" after a
        # link's "false" would otherwise keep the message about "false".
        self.param.watch(lambda *events: self.resample(), ["top_k", "seed"], onlychanged=False)
        # The text, the silenced heads, the steps a link carries and the step shown, read together: a link sets
        # them at once, and the steps are the prompt's own.
        self.param.watch(self._on_text_or_step, ["prompt", "ablated", "made", "step"])
        self.retrace()
        self.retrace_compare()

    # -- words and problems -------------------------------------------------------------------------

    @property
    def words(self) -> Translator:
        """The catalogue of the language shown (viz/i18n.py): every message below is in it."""
        return translator(self.lang)

    def _quoted(self, value) -> str:
        return quoted(value, self.words)

    def _prompt_problem(self, error: GPT2CoreError) -> str:
        """What the model's refusal of the prompt says, in the language shown: the library's own English words
        in English; in another language the usual refusals in its words, any other with the library's detail."""
        if self.lang == DEFAULT_LANGUAGE:
            return str(error)
        surrogate = LONE_SURROGATE.search(self.prompt)
        if surrogate is not None:
            return self.words("state.prompt_not_unicode", index=surrogate.start())
        if not self.prompt:
            return self.words("state.prompt_empty")
        try:
            n = len(self.prompt_ids())
        except GPT2CoreError:
            n = 0
        if n > self.runtime.config.n_ctx:
            return self.words("state.prompt_too_long", n=n, n_ctx=self.runtime.config.n_ctx)
        return self.words("state.prompt_failed", detail=str(error))

    @param.depends("lang", watch=True)
    def _say_again(self) -> None:
        """The language changed: every message is said again in it (the checks run again; what was about an
        earlier click or link is past), and the status is cleared."""
        self.status = ""
        if self._problems:  # else nothing is said: no need to trace again (every view would redraw)
            self._problems.clear()
            self.retrace()
            self._check_boxes()  # said by retrace only when the prompt runs

    # -- problems -----------------------------------------------------------------------------------

    def report(self, source: str, message: str = "") -> None:
        """Say (or, with no message, stop saying) what is wrong with one thing: ``source`` is 'prompt',
        'ablation', 'sampling', 'link' or 'action' (a Next token / Generate that was refused or failed)."""
        if message:
            self._problems[source] = message
        else:
            self._problems.pop(source, None)
        self.error = "\n".join(self._problems.values())

    # -- derived values -----------------------------------------------------------------------------

    @property
    def ablated_heads(self) -> list[tuple[int, int]]:
        """The valid (layer, head) pairs of ``ablated``; anything else in it is reported, not silently used."""
        heads, config = [], self.runtime.config
        for item in filter(None, (part.strip() for part in self.ablated.split(","))):
            match = ABLATION_PATTERN.match(item)
            if match and int(match[1]) < config.n_layer and int(match[2]) < config.n_head:
                heads.append((int(match[1]), int(match[2])))
        return sorted(set(heads))

    def _invalid_ablations(self) -> list[str]:
        valid = {f"{layer}.{head}" for layer, head in self.ablated_heads}
        return [item for item in filter(None, (p.strip() for p in self.ablated.split(","))) if item not in valid]

    @property
    def lens_logits(self) -> np.ndarray | None:
        """[n_layer, V]: each block's next-token logits (the logit lens) for ``trace``, computed when first asked
        (only the lens section and the tour need it: a prompt costs nothing more while they are closed)."""
        if self.trace is None:
            return None
        if self._lens_of is not self.trace:
            self._lens, self._lens_of = self.runtime.logit_lens(self.trace), self.trace
        return self._lens

    @property
    def token_count(self) -> int:
        return 0 if self.trace is None else self.trace.n_tokens

    @property
    def selected_position(self) -> int:
        """``position`` as an index into the current trace (the last token when -1 or out of range)."""
        n = self.token_count
        return self.position if 0 <= self.position < n else max(n - 1, 0)

    @property
    def shows_prompt(self) -> bool:
        """Whether the views show the prompt in the box (not an earlier one kept because this one failed)."""
        return self.trace is not None and self.traced_prompt == self.prompt

    def _on_text_or_step(self, *events) -> None:
        names = {event.name for event in events}
        settled = self.history is not None and self.made == self.history.steps  # (made set by the steps themselves)
        if names & {"prompt", "ablated"}:
            self.retrace(from_link="made" in names and not settled)
        elif "made" in names and not settled:
            self._follow_history(from_link=True)
        if names & {"step", "ablated", "made", "prompt"}:
            self._show_step()

    def retrace(self, from_link: bool = False) -> None:
        """Tokenize and trace the prompt. Bad input sets ``error`` and keeps the last good trace on screen."""
        if len(self.prompt) > MAX_PROMPT_CHARACTERS:
            self.report("prompt", self.words("state.prompt_too_many_characters", n=len(self.prompt),
                                             n_ctx=self.runtime.config.n_ctx))
            return
        try:
            ids = self.prompt_ids()
            if reads_in_steps(len(ids)):  # a long prompt in the browser: block by block, Stop heard (progress.py)
                read_in_steps(self, self.runtime.trace_in_steps(ids, self.ablated_heads),
                              lambda trace: self._show(trace, from_link))
                return
            trace = self.runtime.trace(ids, self.ablated_heads)
        except GPT2CoreError as error:
            self.report("prompt", self._prompt_problem(error))
            return
        self._show(trace, from_link)

    def _show(self, trace, from_link: bool = False) -> None:
        """The views show ``trace``, the prompt's pass, and the history follows it."""
        invalid = self._invalid_ablations()
        for source in ("prompt", "link", "action"):  # what a link or an earlier click got wrong is past
            self._problems.pop(source, None)
        if not self.generating and self._model_ids is None:
            self.status = ""  # a new prompt: "Generated 12 tokens." was about the previous one
        self.report("ablation", self.words("state.ignored_ablation", entries=", ".join(self._quoted(v) for v in invalid),
                                           n_layer=self.runtime.config.n_layer, n_head=self.runtime.config.n_head)
                    if invalid else "")
        probabilities, sampled = self._sample(trace)
        with param.parameterized.batch_call_watchers(self):  # the views hear of all three changes at once
            self.trace = trace
            self.traced_prompt = self.prompt
            self.probabilities, self.sampled_id = probabilities, sampled
        self._follow_history(from_link)

    # -- the steps of a generation (app/history.py) ---------------------------------------------------

    def _follow_history(self, from_link: bool = False) -> None:
        """The history of the text the views show: extended by what the model just drew; kept when the text is
        the same; from the link's ``made`` when a link set it; else a new prompt's own (no steps)."""
        if self.trace is None:
            return
        ids, history = list(self.trace.token_ids), self.history
        if self._drawn and history is not None and history.extended(self._drawn).ids == ids:
            history = history.extended(self._drawn)
        elif from_link and self.made > 0:
            logits = self.runtime.model.forward(ids)  # one pass: every drawn token's logits, as it was drawn
            history = History.from_link(ids, self.made, logits, self.sampling_settings())
        elif history is None or history.ids != ids:
            history = History(tuple(ids))
        self._drawn = []
        self.history = history
        self.param.update(made=history.steps, step=min(self.step, history.steps))  # (the link follows)

    def _show_step(self) -> None:
        """Step 0: the prompt as it is (the live pass). Step k: the pass that drew the k-th token the model added,
        recomputed from the model's own ids, its probabilities as they were drawn and that token marked."""
        history = self.history
        if history is None or self.step == 0:
            if self.trace is not None and self.traced_prompt is None:  # a step was shown: back to now
                self.retrace()
            return
        step = min(self.step, history.steps)
        if step != self.step:  # past the tokens drawn: the last one (shown by the change itself)
            self.step = step
            return
        drawn = history.drawn[step - 1]
        try:
            trace = self.runtime.trace(history.ids_before(step), self.ablated_heads)
        except GPT2CoreError as error:
            self.report("action", str(error))
            return
        probabilities = sampling.probabilities(trace.logits, **drawn.settings)
        with param.parameterized.batch_call_watchers(self):
            self.trace = trace
            self.traced_prompt = None  # the views show a step, not the prompt: Next token goes back to now first
            self.probabilities, self.sampled_id = probabilities, drawn.token_id

    def back_to_now(self) -> None:
        """Show the prompt as it is (step 0) before the model continues it."""
        if self.step:
            self.step = 0

    def run(self, text: str) -> None:
        """Run: trace ``text``; again if it is the prompt already but not what the views show (a long prompt was
        stopped, or failed)."""
        if text == self.prompt and not self.shows_prompt:
            if not self.generating:  # (a long prompt being read already: leaving the box ran it)
                self.retrace()
        else:
            self.prompt = text

    def prompt_ids(self) -> list[int]:
        """The prompt's token ids: the model's own where it extended this very text, else the tokenizer's."""
        if self._model_ids is not None and self._model_ids[0] == self.prompt:
            return list(self._model_ids[1])
        self._model_ids = None
        return self.runtime.encode(self.prompt)

    def _extend_with(self, ids: list[int]) -> None:
        """The prompt becomes ``ids`` (the shown ones and the model's new ones), its text their decoding."""
        text = self.runtime.decode(ids)
        self._model_ids = (text, list(ids))
        if text == self.prompt:
            self.retrace()  # the same text (param would not call it): the ids may still differ
        else:
            self.prompt = text

    @param.depends("temperature", "top_p", watch=True)
    def resample(self) -> None:
        """The next-token distribution and the token drawn from it: sampling only, no forward pass. (On a step
        of the history the token marked stays the one the model drew there.)"""
        if self.trace is None:
            return
        probabilities, sampled = self._sample(self.trace)
        if self.step and self.history is not None and self.traced_prompt is None:
            sampled = self.history.drawn[min(self.step, self.history.steps) - 1].token_id
        with param.parameterized.batch_call_watchers(self):
            self.probabilities, self.sampled_id = probabilities, sampled

    def _sample(self, trace) -> tuple[np.ndarray, int]:
        self._check_boxes()
        probabilities = sampling.probabilities(trace.logits, **self.sampling_settings())
        if self.temperature == 0:
            return probabilities, int(np.argmax(probabilities))
        return probabilities, sampling.sample(probabilities, sampling.rng_from_seed(self._valid["seed"]))

    def _check_boxes(self) -> None:
        """Check the settings kept as typed (top-k, seed): note each valid one, report each invalid one."""
        problems = []
        if is_whole_number(self.top_k) and self.top_k >= 0:
            self._valid["top_k"] = int(self.top_k)
        else:
            problems.append(self.words("state.bad_top_k", value=self._quoted(self.top_k), used=self._valid["top_k"]))
        try:
            if self.seed is None:
                raise sampling.SamplingError("empty")
            sampling.check_seed(self.seed)  # the one rule for seeds, shared with the library
            self._valid["seed"] = int(self.seed)
        except sampling.SamplingError:
            problems.append(self.words("state.bad_seed", value=self._quoted(self.seed), limit=sampling.SEED_LIMIT - 1,
                                       used=self._valid["seed"]))
        if not problems:
            self._problems.pop("action", None)  # a refusal for want of valid settings is past
        self.report("sampling", "\n".join(problems))

    @property
    def valid_seed(self) -> int:
        """The seed sampling uses: the box's, or the last valid one while the box holds something else."""
        return self._valid["seed"]

    def sampling_settings(self) -> dict:
        """The settings the chart uses (the last valid top-k while the box holds an invalid one)."""
        return {"temperature": float(self.temperature), "top_k": self._valid["top_k"] or None,
                "top_p": None if self.top_p >= 1 else float(self.top_p)}

    # -- the second prompt (the compare section) ----------------------------------------------------

    @param.depends("compare", "ablated", watch=True)
    def retrace_compare(self) -> None:
        """Trace the second prompt with the same model and the same silenced heads; an empty one means no
        comparison. What is wrong with it is said in the compare section (``compare_error``), not among the page's
        errors (the picture is not about it), and the last comparison that ran stays on screen meanwhile."""
        text, n_ctx = self.compare, self.runtime.config.n_ctx
        problem = ""
        if not text:
            self.compare_trace = None
        elif len(text) > MAX_PROMPT_CHARACTERS:
            problem = self.words("compare.too_many_characters", n=len(text), n_ctx=n_ctx)
        elif LONE_SURROGATE.search(text):
            problem = self.words("compare.not_unicode", index=LONE_SURROGATE.search(text).start())
        else:
            try:
                ids = self.runtime.encode(text)
                if len(ids) > n_ctx:
                    problem = self.words("compare.too_long", n=len(ids), n_ctx=n_ctx)
                else:
                    self.compare_trace = self.runtime.trace(ids, self.ablated_heads)
            except GPT2CoreError as error:
                problem = self.words("compare.failed", detail=str(error))
        self.compare_error = problem

    @param.depends("lang", watch=True)
    def _say_compare_again(self) -> None:
        if self.compare_error:
            self.retrace_compare()

    def swap_prompts(self) -> None:
        """The second prompt goes into the picture and the picture's prompt becomes the second (the link keeps
        both). Nothing happens while no second prompt has run (the section says why)."""
        if self.compare_error or self.compare_trace is None:
            return
        self.param.update(prompt=self.compare, compare=self.prompt)

    # -- actions ------------------------------------------------------------------------------------

    def _refusal(self, action: str) -> str:
        """Why ``action`` (Next token, Generate) cannot continue the prompt now, or ''."""
        if self.trace is None:
            return self.words("state.needs_prompt", action=action)
        if not self.shows_prompt:
            return self.words("state.stale_prompt", action=action)
        if "sampling" in self._problems:
            return self.words("state.fix_sampling", action=action)
        return ""

    def append_sampled_token(self) -> None:
        """'Next token': the highlighted token joins the prompt, and the new prompt is traced."""
        if self.generating:
            return  # the button is disabled meanwhile; the generation will move the prompt on
        self.back_to_now()
        refusal = self._refusal(self.words("state.action.next_token"))
        if refusal:
            self.report("action", refusal)
            return
        n_ctx = self.runtime.config.n_ctx
        if self.token_count >= n_ctx:
            self.report("action", self.words("state.next_token_full", n_ctx=n_ctx))
            return
        self.report("action")
        self._drawn = [drawn_token(self.sampled_id, self.trace.logits, self.sampling_settings())]
        self._extend_with([*self.trace.token_ids, self.sampled_id])

    def toggle_ablation(self, layer: int, head: int) -> None:
        heads = set(self.ablated_heads)
        heads ^= {(int(layer), int(head))}
        self.ablated = ",".join(f"{l}.{h}" for l, h in sorted(heads))

    def stop(self) -> None:
        self._stop_requested = True

    def _shown_tokens(self, ids: list[int], last: int = 12) -> str:
        """The newest tokens as the views show them (␣ for a space, <0xE2> for part of a character), never raw
        escapes; the earlier ones as a count."""
        shown = "".join(self.runtime.display(token_id) for token_id in ids[-last:])
        return (f"…{shown}" if len(ids) > last else shown)

    def _count_problem(self, count, room: int) -> str:
        if not is_whole_number(count) or count < 1:
            return self.words("state.bad_count", value=self._quoted(count), room=room)
        return ""

    async def generate(self, count) -> None:
        """Generate ``count`` tokens, showing each as it comes; the stop button ends it after the current
        token. One trace at the end (not one per token): the views then show the last step.

        Generation continues the prompt the views show, and only that one: refused with a message while the box
        holds a prompt that could not be run or a setting that is not valid; and if the prompt changes meanwhile
        (an example picked), the new tokens are not added to it."""
        if self.generating:
            return
        self.back_to_now()
        refusal = self._refusal(self.words("state.action.generate"))
        n_ctx = self.runtime.config.n_ctx
        room = n_ctx - self.token_count
        if not refusal and room < 1:
            refusal = self.words("state.context_full", n_ctx=n_ctx)
        refusal = refusal or self._count_problem(count, room)
        if refusal:
            self.report("action", refusal)
            return
        self.report("action")
        fills_context = int(count) >= room
        count = min(int(count), room)
        self._stop_requested = False
        self.generating = True
        ids, text = list(self.trace.token_ids), self.prompt
        new_ids: list[int] = []
        drawn: list[DrawnToken] = []
        settings = self.sampling_settings()
        failure = ""
        try:
            steps = self.runtime.agenerate(ids, count, seed=self._valid["seed"], ablated=self.ablated_heads,
                                           **self.sampling_settings())
            async for step in steps:
                new_ids.append(step.token_id)
                drawn.append(drawn_token(step.token_id, step.logits, settings))
                self.status = self.words("state.generating", n=len(new_ids), count=count,
                                         tokens=self._shown_tokens(new_ids))
                await asyncio.sleep(0)  # let the page update and the stop button be heard
                if self._stop_requested:
                    break
        except GPT2CoreError as error:
            failure = str(error)
        finally:
            self.generating = False
            made = plural(self.words, len(new_ids), "state.made.one", "state.made.other")
            if new_ids and self.prompt != text:
                self.status = ""
                failure = failure or self.words("state.prompt_changed", made=made)
            else:
                full = fills_context and len(new_ids) == count
                self.status = (self.words("state.generated_full", made=made, n_ctx=n_ctx) if full else
                               self.words("state.generated", made=made)) if new_ids else ""
                if new_ids:
                    self._drawn = drawn
                    self._extend_with(ids + new_ids)  # traced: clears earlier problems
            if failure:
                self.report("action", failure)

