"""The detail sections under the picture, declared once: one module of this package a section.

Each module holds a ``SECTION``: its key (the link's ``view=``, the catalogue's ``explain.<key>.title/text``), its
place in the page (``order``), the stages of the picture whose tap opens it, its explanation (formula and the
gpt2_core code shown), the state's values its views are drawn from (``depends_on``), the standard controls it
shows, and its view class (``build`` / ``update``, see ``SectionView``). Everything else is derived from this
registry: the link's views (app/state.py), the page's order and the driver that keeps open sections up to date
(app/section_cards.py), the stage → section map of the picture (app/picture_panel.py), the report (app/report.py)
and the precomputed page of the static site (build.py, through the app).

Adding a section: one module here and two catalogue entries (``explain.<key>.title`` and ``.text`` in
viz/locales/en.json and zh.json).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from transformer_explainer.gpt2_core import GPT2, Trace

# What a section's views can depend on: the state's values (app/state.py) they are drawn from. "trace" is implied:
# every section follows a new prompt.
INPUTS = ("trace", "probabilities", "sampled_id", "layer", "head", "position", "ablated", "compare_trace")
# The standard controls a section can show (app/section_cards.py makes one widget of each per section).
CONTROLS = ("layer", "head", "position")


@dataclass(frozen=True)
class Explanation:
    """What a section says: its title and text (catalogue keys: the words are in viz/locales, English and Chinese),
    its formula (plain Unicode, the same in every language) and the gpt2_core functions "Show the code" displays."""

    title_key: str
    text_key: str  # the text is Markdown, written by us (never user text)
    formula: str
    code: tuple[Callable, ...]

    def title(self, words: Callable) -> str:
        return words(self.title_key)

    def text(self, words: Callable) -> str:
        return words(self.text_key)

    def source(self) -> str:
        return "\n\n".join(inspect.getsource(function) for function in self.code)


@dataclass
class SectionInputs:
    """What the sections' views are drawn from, as the state holds it now (or as the report sets it)."""

    trace: Trace
    model: GPT2
    probabilities: np.ndarray
    sampled_id: int
    sampling: dict  # temperature, top_k, top_p as the output chart uses them
    layer: int
    head: int
    position: int  # an index into the trace (the selected token; the last when none was picked)
    ablated: frozenset = frozenset()
    lang: str = "en"
    lens: Callable[[], np.ndarray] | None = None  # the logit lens [n_layer, V], computed when first asked
    compare_trace: Trace | None = None  # the second prompt's (the compare section), None when there is none

    @property
    def display(self) -> Callable[[int], str]:
        """A token id as the views show it (␣ for a space, <0xE2> for part of a character)."""
        return self.model.tokenizer.display

    @property
    def lens_logits(self) -> np.ndarray:
        return self.lens() if self.lens is not None else self.model.logit_lens(self.trace)

    def layer_norm_weights(self, which: str, layer: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(gamma, beta) of ``ln1``/``ln2`` in ``layer`` (the selected one by default), or of ``ln_final``."""
        params = self.model.params
        if which == "ln_final":
            weights = params["ln_f"]
        else:
            weights = params["blocks"][self.layer if layer is None else layer]["ln_1" if which == "ln1" else "ln_2"]
        return weights["g"], weights["b"]


class SectionView:
    """A section's views of one page. ``build`` returns what the card shows: a list of Bokeh models, or a list of
    steps ((catalogue key of the step's name, [models]) pairs) shown one at a time; ``update`` changes them in place
    (``changed``: the names of ``INPUTS`` that changed since the views last drew, "trace" among them for a new
    prompt). ``views`` names the viz objects (tests and the tour read them), ``controls`` are the section's own
    widgets beyond the standard ones."""

    def __init__(self, context: "SectionContext"):
        self.context = context
        self.views: dict[str, object] = {}

    def controls(self) -> list:
        return []

    def build(self, inputs: SectionInputs) -> list:
        raise NotImplementedError

    def update(self, inputs: SectionInputs, changed: set[str]) -> None:
        raise NotImplementedError

    def report(self, inputs: SectionInputs) -> list:
        """The Bokeh models of the standalone report (every step, one under the other)."""
        built = self.build(inputs)
        return [model for item in built for model in (item[1] if isinstance(item, tuple) else [item])]


@dataclass
class SectionContext:
    """What a section's views may use besides their inputs: the state (to change as a tap does), the words of the
    page's language, and ``on_tap(selection, callback)`` to hear a figure's taps (removed when the page closes).
    The report has no state: ``state`` is None there."""

    words: Callable
    lang: str = "en"
    state: object | None = None
    on_tap: Callable = lambda selection, callback: None


@dataclass(frozen=True)
class Section:
    key: str
    order: int  # the page lists sections by it, smallest first
    explanation: Explanation
    view: type[SectionView]
    depends_on: tuple[str, ...] = ()  # of INPUTS, besides "trace"
    stages: tuple[str, ...] = ()  # stages of the picture (viz/picture stage_source) whose tap opens this section
    controls: tuple[str, ...] = ()  # of CONTROLS, before the view's own
    start_open: bool = False  # open from the start (not "the open section" of a link)
    in_report: bool = True

    def __post_init__(self):
        unknown = set(self.depends_on) - set(INPUTS) | set(self.controls) - set(CONTROLS)
        if unknown:
            raise ValueError(f"section {self.key!r} names unknown inputs or controls: {sorted(unknown)}")


def discover() -> tuple[Section, ...]:
    """The ``SECTION`` of every module of this package, in page order."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        section = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SECTION", None)
        if isinstance(section, Section):
            found.append(section)
    keys = [section.key for section in found]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two sections share a key: {keys}")
    return tuple(sorted(found, key=lambda section: section.order))


SECTIONS: tuple[Section, ...] = discover()


def keys(sections: Sequence[Section] = SECTIONS) -> list[str]:
    return [section.key for section in sections]


def section_of_stage(sections: Sequence[Section] = SECTIONS) -> dict[str, str]:
    """Which section a tap on each stage of the picture opens."""
    return {stage: section.key for section in sections for stage in section.stages}
