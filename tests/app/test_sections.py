"""The detail sections are declared once (app/sections): the page's order, the link's views, the picture's
stage → section map and the report all come from the registry, and a section added to it (here a dummy one) is
drawn, opened, kept up to date and linked with no other change to the app."""

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, Div

from transformer_explainer.app import sections as registry
from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.report import write_report
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.sections import SECTIONS, Explanation, Section, SectionView
from transformer_explainer.app.state import VIEWS, ExplainerState
from transformer_explainer.gpt2_core import model as gpt2_model
from transformer_explainer.viz.i18n import catalogue


class LastTokenNorms(SectionView):
    """A dummy section: the norm of the last token's residual stream after the selected block."""

    builds = updates = 0

    def build(self, inputs):
        LastTokenNorms.builds += 1
        self.views["norms"] = ColumnDataSource({"norm": [self.norm(inputs)]}, name="dummy-norms")
        return [Div(text="norms")]

    def update(self, inputs, changed):
        LastTokenNorms.updates += 1
        self.changed = changed
        self.views["norms"].data = {"norm": [self.norm(inputs)]}

    @staticmethod
    def norm(inputs):
        return float(np.linalg.norm(inputs.trace[f"blocks.{inputs.layer}.hook_resid_post"][-1]))


DUMMY = Section(key="norms", order=35, view=LastTokenNorms, depends_on=("layer",),
                explanation=Explanation("explain.lens.title", "explain.lens.text", "‖x‖", (gpt2_model.gpt2,)))


def test_the_registry_lists_every_section_in_page_order_with_its_words_in_both_languages():
    keys = registry.keys()
    assert keys == ["embedding", "block", "attention", "heads", "mlp", "output", "lens", "compare"]
    assert [s.order for s in SECTIONS] == sorted(s.order for s in SECTIONS)
    for lang in ("en", "zh"):
        words = catalogue(lang)
        for section in SECTIONS:
            assert section.explanation.title_key in words and section.explanation.text_key in words
    assert VIEWS == ["picture", "overview", *keys]  # overview: the picture zoomed out to the whole model


def test_the_pictures_stage_map_is_read_from_the_sections():
    assert registry.section_of_stage() == {"embedding": "embedding", "ln1": "block", "residual_mid": "block",
                                           "ln2": "block", "residual_post": "block",
                                           "attention_output": "attention", "ln_final": "output"}


def test_a_section_naming_an_unknown_input_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        Section(key="x", order=1, view=SectionView, depends_on=("temperature_of_the_room",),
                explanation=DUMMY.explanation)


def test_a_page_built_with_one_more_section_draws_opens_links_and_updates_it(tiny_model):
    runtime = ModelRuntime(tiny_model)
    state = ExplainerState(runtime)
    app = ExplainerApp(runtime, state, sections=(*SECTIONS, DUMMY))
    page = app.layout()
    cards = list(app.sections)
    assert cards.index("norms") == cards.index("block") + 1  # its order, 35, puts it after the block (30)
    assert "norms" in state.param.view.objects  # a link may name it
    assert not app.sections["norms"].built  # closed: nothing built, nothing computed
    builds = LastTokenNorms.builds
    state.view = "norms"  # as a link's view=norms or a tap does
    assert app.sections["norms"].is_open and LastTokenNorms.builds == builds + 1
    norms = app.views["norms"]
    assert norms.data["norm"][0] == pytest.approx(np.linalg.norm(state.trace["blocks.0.hook_resid_post"][-1]))
    updates = LastTokenNorms.updates
    state.temperature = 1.7  # not among its inputs: not redrawn
    assert LastTokenNorms.updates == updates
    state.layer = 1
    assert LastTokenNorms.updates == updates + 1 and app.sections["norms"].view.changed == {"layer"}
    assert norms.data["norm"][0] == pytest.approx(np.linalg.norm(state.trace["blocks.1.hook_resid_post"][-1]))
    state.prompt = "A new prompt for the norms"
    assert norms.data["norm"][0] == pytest.approx(np.linalg.norm(state.trace["blocks.1.hook_resid_post"][-1]))
    assert page is not None


def test_a_closed_section_catches_up_with_everything_that_changed_when_it_opens(tiny_model):
    runtime = ModelRuntime(tiny_model)
    app = ExplainerApp(runtime, sections=(*SECTIONS, DUMMY))
    app.layout()
    state = app.state
    state.view = "norms"
    app.sections["norms"].card.collapsed = True
    state.layer, state.prompt = 1, "Something else entirely"
    assert app.views["norms"].data["norm"][0] != pytest.approx(
        np.linalg.norm(state.trace["blocks.1.hook_resid_post"][-1]))  # closed: not redrawn yet
    app.sections["norms"].open()
    assert app.sections["norms"].view.changed == {"trace", "layer"}
    assert app.views["norms"].data["norm"][0] == pytest.approx(
        np.linalg.norm(state.trace["blocks.1.hook_resid_post"][-1]))


def test_the_report_has_every_registered_section_under_its_title(tiny_model, tmp_path):
    path = write_report(tiny_model, "The report of every section", tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    words = catalogue("en")
    for section in SECTIONS:
        assert (words[section.explanation.title_key] in text) == section.in_report, section.key
    assert [s.key for s in SECTIONS if not s.in_report] == ["compare"]  # a report is of one prompt
