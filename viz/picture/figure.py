"""``PictureView``: one screen showing a transformer block at work on the student's own tokens.

tokens → embedding → LayerNorm → Q, K, V → the selected head's attention (the other heads as cards) → z, concat,
c_proj → + residual → LayerNorm → MLP (d → 4d → d) → + residual → the other blocks → final LayerNorm → logits →
probabilities. Every cell is a real value from the Trace (see each stage's module for which hook and which subset).

Interaction, all in the browser:
- Hover a token (or any cell of its row), or tap it to pin it (phones have no hover): its path lights up through
  every stage; the others dim. The ``alpha`` column of every row-carrying source says what is lit, and
  ``highlight_source`` (picture-highlight-source) holds the lit ``slot`` and ``position`` (-1: none), both readable
  from the page.
- Tap a stage: ``stage_source.selected.indices`` (picture-stage-source; columns ``stage``, ``layer``) says which.
  Tap a head card: ``head_source.selected.indices`` (picture-head-source; column ``head``). Tap a token:
  ``token_source.selected.indices`` (picture-token-source; column ``position``). A tap elsewhere empties them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.events import MouseLeave
from bokeh.models import (Column, ColumnDataSource, CustomJS, HoverTool, Patches, Plot, Quad, Range1d, Row, Segment,
                          Spacer, TapTool, Text)

from transformer_explainer.gpt2_core import Trace

from .. import js_code
from ..common import SAMPLED_COLOUR, check_head, check_layer, set_if_changed
from ..i18n import Translator, plural, translator
from .attention import AttentionOutputStage, HeadCards, MatrixStage
from .blocks import BlocksStage, block_counts
from .embedding import EmbeddingStage, TokensStage
from .labels import LABEL_COLOUR, MUTED_COLOUR, caption_data, column_label_data, group_data, note_data
from .layer_norm import LayerNormStage
from .layout import (COLUMNS, HEIGHT, LABEL_Y, MAIN_WIDTH, OUTPUT_LEFT, OUTPUT_WIDTH, ROWS_TOP, SLIDER_ROOM,
                     TOTAL_WIDTH, Rows)
from .mlp import MlpStage
from .output import OutputStage
from .qkv import QkvStage
from .residual import ResidualStage
from .ribbons import ribbon_data
from .spotlight import Spotlight
from .strips import HoverKit

HIGHLIGHT_ALPHA, DIM_FACTOR = 0.85, 0.2


def stage_data(rows: Rows, layer: int, head: int, n_layer: int, kt_bottom: float,
               words: Translator | None = None) -> dict:
    """Tap targets, one per stage: a box around its column (label included). Drawn under everything."""
    words = words or translator()
    top, bottom = LABEL_Y - 8.0, max(rows.bottom, ROWS_TOP + 60.0) + 4.0
    before, after = block_counts(layer, n_layer)
    L = f"blocks.{layer}"
    stages = [
        ("embedding", -1, "embedding", words("picture.stage.embedding")),
        ("ln1", layer, "ln1", words("picture.stage.ln1", layer=layer, L=L)),
        ("qkv", layer, "qkv", words("picture.stage.qkv", head=head, L=L)),
        ("attention", layer, "matrix", words("picture.stage.attention", head=head)),
        ("attention_output", layer, ("z", "attn_out"), words("picture.stage.attention_output", head=head, L=L)),
        ("residual_mid", layer, "resid_mid", words("picture.stage.residual_mid", L=L)),
        ("ln2", layer, "ln2", words("picture.stage.ln2", layer=layer, L=L)),
        ("mlp", layer, ("mlp_pre", "mlp_out"), words("picture.stage.mlp", L=L)),
        ("residual_post", layer, "resid_post", words("picture.stage.residual_post", L=L)),
        ("blocks", -1, "blocks", words("picture.stage.blocks", others=n_layer - 1, before=before, after=after)),
        ("ln_final", -1, "ln_final", words("picture.stage.ln_final")),
    ]
    rows_out = []
    for stage, stage_layer, columns, description in stages:
        first, last = (columns, columns) if isinstance(columns, str) else columns
        left, right = COLUMNS[first][0] - 3, COLUMNS[last][1] + 3
        if stage == "attention":
            left, right = rows.matrix_left - 3, COLUMNS["matrix"][1] + 3
        stage_bottom = kt_bottom + 62.0 if stage == "attention" else bottom
        rows_out.append((stage, stage_layer, left, right, top, stage_bottom, description))
    if before > 0:  # the thin stack between the embedding and LayerNorm 1
        rows_out.append(("blocks", -1, COLUMNS["_branch_attn"][0] + 1, COLUMNS["_branch_attn"][0] + 12, ROWS_TOP - 6,
                         bottom, plural(words, before, "picture.stage.blocks_before_one",
                                        "picture.stage.blocks_before_other", layer=layer)))
    rows_out.append(("output", -1, OUTPUT_LEFT + 2, TOTAL_WIDTH - 2, SLIDER_ROOM + 2, HEIGHT - 4,
                     words("picture.stage.output")))
    while len(rows_out) < 13:  # constant rows: one more "blocks" box when the drawn block is not the first
        rows_out.append(("", -1, np.nan, np.nan, np.nan, np.nan, ""))
    stage, layers, left, right, tops, bottoms, description = (list(c) for c in zip(*rows_out))
    return {"stage": stage, "layer": np.array(layers), "left": np.array(left, dtype=float),
            "right": np.array(right, dtype=float), "top": np.array(tops, dtype=float),
            "bottom": np.array(bottoms, dtype=float), "description": description}


def normalize_ablated(ablated) -> frozenset:
    return frozenset((int(layer), int(head)) for layer, head in (ablated or ()))


class PictureView:
    """The picture. ``layout`` (Bokeh models) holds ``figure`` (picture-figure: tokens to the final LayerNorm) and
    ``output_figure`` (picture-output-figure: logits and probability bars), with ``slider_slot``
    (picture-slider-slot, ``SLIDER_ROOM`` px tall) above the bars for the app's temperature slider.

    Sources the app and tests find by name: ``stage_source`` (picture-stage-source), ``head_source``
    (picture-head-source), ``token_source`` (picture-token-source), ``probability_source``
    (picture-probability-source), ``highlight_source`` (picture-highlight-source), and one per strip
    (picture-<stage>-source, see ``strip_sources``)."""

    def __init__(self, trace: Trace, layer: int, head: int, probabilities, sampled_id: int | None,
                 display_token: Callable[[int], str], *, n_layer: int, selected_position: int | None = None,
                 ablated_heads=(), lang: str = "en"):
        """``lang``: the language of every word drawn (see viz/i18n.py)."""
        self.lang = lang
        self.words = words = translator(lang)
        config = trace.config
        self.n_layer, self.n_head = int(n_layer), config.n_head
        self.d_model, self.d_head, self.d_mlp = config.n_embd, config.d_head, trace["blocks.0.mlp.hook_pre"].shape[-1]
        self.display_token = display_token

        self.tokens = TokensStage(lang)
        self.token_source = self.tokens.source
        kit = HoverKit(self.token_source, lang)
        self.embedding = EmbeddingStage(self.d_model, lang)
        self.ln1 = LayerNormStage("ln1", self.d_model, lang)
        self.qkv = QkvStage(self.d_head, lang)
        self.matrix = MatrixStage(self.d_head, lang)
        self.heads = HeadCards(self.n_head, lang)
        self.attention_output = AttentionOutputStage(self.d_head, self.d_model, self.n_head, lang)
        self.residual = ResidualStage(self.d_model, lang)
        self.ln2 = LayerNormStage("ln2", self.d_model, lang)
        self.mlp = MlpStage(self.d_model, self.d_mlp, lang)
        self.blocks = BlocksStage(lang)
        self.ln_final = LayerNormStage("ln_final", self.d_model, lang)
        self.output = OutputStage(display_token, lang)
        self.head_source = self.heads.source
        self.probability_source = self.output.source

        self.stage_source = ColumnDataSource(name="picture-stage-source")
        self.ribbon_source = ColumnDataSource(name="picture-ribbon-source")
        self.highlight_source = ColumnDataSource({"slot": [-1], "position": [-1]}, name="picture-highlight-source")
        self.group_source = ColumnDataSource(name="picture-group-source")
        self.label_source = ColumnDataSource(column_label_data(words), name="picture-label-source")
        self.note_source = ColumnDataSource(name="picture-note-source")
        self.caption_source = ColumnDataSource(caption_data(words=words), name="picture-caption-source")
        self.spotlit = Spotlight()  # a tour step's outline round one stage (viz/picture/spotlight.py)
        self.spotlight_source = self.spotlit.source

        self.figure = Plot(name="picture-figure", width=MAIN_WIDTH, height=HEIGHT, x_range=Range1d(0, MAIN_WIDTH),
                           y_range=Range1d(HEIGHT, 0), toolbar_location=None, min_border=0,
                           outline_line_color=None, title=None)
        self.output_figure = self.output.figure
        self._state: dict = {}
        self._ribbon_rows: int | None = None
        self.update(trace, layer, head, probabilities, sampled_id, selected_position=selected_position,
                    ablated_heads=ablated_heads)
        self._draw(kit)
        self.slider_slot = Spacer(name="picture-slider-slot", width=OUTPUT_WIDTH, height=SLIDER_ROOM)
        self.output_column = Column(children=[self.slider_slot, self.output_figure], spacing=0)
        self.row = Row(children=[self.figure, self.output_column], spacing=0, width=TOTAL_WIDTH, height=HEIGHT,
                       sizing_mode="fixed")
        # On a narrow screen the picture keeps its size and scrolls inside this box; the page does not widen.
        self.layout = Column(children=[self.row], name="picture-layout", sizing_mode="stretch_width",
                             styles={"overflow-x": "auto", "overflow-y": "hidden"})
        self.spotlit.scroll_into_view(self.layout)  # on a phone, the lit stage scrolls into the box

    # -- the sources, by stage ---------------------------------------------------------------------------------

    @property
    def strip_sources(self) -> dict[str, ColumnDataSource]:
        """Every strip's source by stage key: embedding, ln1, q, k, v, kt, z, attn_out, resid_mid, ln2, mlp_pre,
        mlp_post, mlp_out, resid_post, ln_final."""
        strips = [self.embedding.strip, self.ln1.strip, *self.qkv.strips.values(), self.matrix.kt,
                  self.attention_output.z, self.attention_output.out, self.residual.mid, self.ln2.strip,
                  *self.mlp.strips, self.residual.post, self.ln_final.strip]
        return {strip.key: strip.source for strip in strips}

    @property
    def attention_source(self) -> ColumnDataSource:
        return self.matrix.source

    @property
    def highlighted_sources(self) -> list[ColumnDataSource]:
        """The sources whose ``alpha`` follows the hovered token (each has ``slot``, ``alpha``, ``base_alpha``)."""
        return [self.token_source, *self.strip_sources.values(), self.qkv.frame_source, self.matrix.source,
                self.matrix.key_label_source, self.residual.plus_source, self.ribbon_source, self.output.fan_source]

    # -- updates -------------------------------------------------------------------------------------------------

    def update(self, trace: Trace, layer: int, head: int, probabilities, sampled_id: int | None, *,
               selected_position: int | None = None, ablated_heads=None) -> None:
        """A new trace (a new prompt), or another block or head: every source is refilled in place.

        ``selected_position``: a prompt position (-1: the last) whose token and query row are outlined, None for
        none; ``ablated_heads``: (layer, head) pairs crossed out on the cards (None keeps the current ones)."""
        self._check_shape(trace)
        layer, head = check_layer(layer, self.n_layer), check_head(head, self.n_head)
        rows = Rows.for_prompt(trace.n_tokens)
        if selected_position is not None and selected_position < 0:  # Python style: -1 is the last token
            selected_position += trace.n_tokens
        if ablated_heads is not None or "ablated" not in self._state:
            self._state["ablated"] = normalize_ablated(ablated_heads)
        self._state.update(trace=trace, layer=layer, head=head, rows=rows, selected_position=selected_position)
        selected_slot = (rows.positions.index(selected_position) if selected_position in rows.positions else None)

        self.tokens.fill(trace, rows, selected_position)
        self.embedding.fill(trace, rows)
        self._fill_block(trace, rows, layer, head, selected_slot)
        self.ln_final.fill(trace, rows, layer)
        self.output.fill(trace.logits, probabilities, sampled_id, rows)
        set_if_changed(self.note_source, note_data(rows.left_out, self.words))
        if self._ribbon_rows != rows.n:  # the ribbons depend on the number of rows only
            self.ribbon_source.data = ribbon_data(rows, rows.matrix_right)
            self._ribbon_rows = rows.n
        self.highlight_source.data = {"slot": [-1], "position": [-1]}  # every alpha is back at rest

    def select(self, layer: int | None = None, head: int | None = None, ablated_heads=None) -> None:
        """Draw another block or head of the same trace: only the block's sources change."""
        state = self._state
        layer = state["layer"] if layer is None else check_layer(layer, self.n_layer)
        head = state["head"] if head is None else check_head(head, self.n_head)
        if ablated_heads is not None:
            state["ablated"] = normalize_ablated(ablated_heads)
        state.update(layer=layer, head=head)
        rows, position = state["rows"], state["selected_position"]
        selected_slot = rows.positions.index(position) if position in rows.positions else None
        self._fill_block(state["trace"], rows, layer, head, selected_slot)
        self.highlight_source.data = {"slot": [-1], "position": [-1]}

    def spotlight(self, stage: str | None) -> None:
        """Outline one stage (a name of ``stage_source.data["stage"]``, or "tokens"); None: none."""
        self.spotlit.show(stage, self.stage_source.data)

    def set_ablated(self, ablated_heads) -> None:
        """Mark ablated heads (pairs (layer, head)) on the cards."""
        self._state["ablated"] = normalize_ablated(ablated_heads)
        self.heads.mark(self._state["layer"], self._state["head"], self._state["ablated"])

    def update_probabilities(self, probabilities, sampled_id: int | None) -> None:
        """A temperature (or top-k/top-p) change: only the bars' source (``probability_source``) changes."""
        self.output.fill_probabilities(probabilities, sampled_id)

    @property
    def rows(self) -> Rows:
        """The token rows drawn now (positions, row height, centres)."""
        return self._state["rows"]

    @property
    def layer(self) -> int:
        return self._state["layer"]

    @property
    def head(self) -> int:
        return self._state["head"]

    def _check_shape(self, trace: Trace) -> None:
        config = trace.config
        if (config.n_embd, config.n_head) != (self.d_model, self.n_head):
            raise ValueError(f"this picture was built for {self.n_head} heads of width {self.d_model}; the trace "
                             f"has {config.n_head} of {config.n_embd}: build a new PictureView for another model")

    def _fill_block(self, trace: Trace, rows: Rows, layer: int, head: int, selected_slot: int | None) -> None:
        ablated = self._state["ablated"]
        self.ln1.fill(trace, rows, layer)
        self.qkv.fill(trace, rows, layer, head)
        self.matrix.fill(trace, rows, layer, head, selected_slot)
        self.heads.fill(trace, rows, layer, head, ablated)
        self.attention_output.fill(trace, rows, layer, head)
        self.residual.fill(trace, rows, layer)
        self.ln2.fill(trace, rows, layer)
        self.mlp.fill(trace, rows, layer)
        self.blocks.fill(rows, layer, self.n_layer)
        set_if_changed(self.group_source, group_data(layer, head, self.n_head, self.n_layer, self.d_model,
                                                     self.d_head, self.d_mlp, self.words))
        set_if_changed(self.stage_source, stage_data(rows, layer, head, self.n_layer, self.matrix.kt_extent(rows)[1],
                                                     self.words))
        self.spotlit.follow(self.stage_source.data)

    # -- drawing -------------------------------------------------------------------------------------------------

    def _draw(self, kit: HoverKit) -> None:
        plot = self.figure
        box = dict(left="left", right="right", top="top", bottom="bottom")
        stage_glyph = Quad(**box, fill_color="#000000", fill_alpha=0.0, line_color=None)
        stages = plot.add_glyph(self.stage_source, stage_glyph, nonselection_glyph=stage_glyph,
                                hover_glyph=Quad(**box, fill_color="#4c78a8", fill_alpha=0.06, line_color="#9fb3cc",
                                                 line_dash="dashed"),
                                selection_glyph=Quad(**box, fill_color=SAMPLED_COLOUR, fill_alpha=0.06,
                                                     line_color=SAMPLED_COLOUR, line_width=2))
        output_stages = self.output_figure.add_glyph(self.stage_source, stage_glyph, nonselection_glyph=stage_glyph,
                                                     hover_glyph=stages.hover_glyph,
                                                     selection_glyph=stages.selection_glyph)
        self.residual.draw_under(plot)
        ribbon = Patches(xs="xs", ys="ys", fill_color="colour", fill_alpha="alpha", line_color=None)
        plot.add_glyph(self.ribbon_source, ribbon, nonselection_glyph=ribbon)
        self.blocks.draw(plot)
        self.tokens.draw(plot)
        self.embedding.draw(plot, kit)
        self.ln1.draw(plot, kit)
        self.qkv.draw(plot, kit)
        self.matrix.draw(plot, kit, self.layer, self.head)
        self.heads.draw(plot)
        self.attention_output.draw(plot, kit)
        self.residual.draw(plot, kit)
        self.ln2.draw(plot, kit)
        self.mlp.draw(plot, kit)
        self.ln_final.draw(plot, kit)
        self.output.draw(kit)
        self._draw_words(plot)
        self.spotlit.draw(plot, self.output_figure)

        strips = [s.renderer for s in (self.embedding.strip, self.ln1.strip, *self.qkv.strips.values(),
                                       self.attention_output.z, self.attention_output.out, self.residual.mid,
                                       self.ln2.strip, *self.mlp.strips, self.residual.post, self.ln_final.strip)]
        watched = [self.token_source] + [r.data_source for r in strips]
        highlight = CustomJS(args=dict(watched=watched, targets=self.highlighted_sources, state=self.highlight_source,
                                       tokens=self.token_source, highlight=HIGHLIGHT_ALPHA, dim=DIM_FACTOR),
                             code=js_code("picture_highlight"))
        caption = CustomJS(args=dict(stages=self.stage_source, caption=self.caption_source,
                                     hint=caption_data(words=self.words)["text"][0]),
                           code=js_code("picture_stage_caption"))
        plot.add_tools(HoverTool(renderers=[self.tokens.renderer, *strips], tooltips=None, callback=highlight),
                       HoverTool(renderers=[stages], tooltips=None, callback=caption),
                       TapTool(renderers=[stages, self.heads.renderer, self.tokens.renderer]))
        plot.js_on_event(MouseLeave, highlight)
        self.token_source.selected.js_on_change("indices", highlight)
        self.output_figure.add_tools(HoverTool(renderers=[output_stages], tooltips=None, callback=caption),
                                     TapTool(renderers=[output_stages]))

    def _draw_words(self, plot) -> None:
        groups = self.group_source
        plot.add_glyph(groups, Text(x="x", y="y", text="text", text_align="center", text_baseline="middle",
                                    text_font_size="12px", text_font_style="bold", text_color=LABEL_COLOUR))
        plot.add_glyph(groups, Segment(x0="left", x1="right", y0="bracket_y", y1="bracket_y", line_color="#b0b0b0",
                                       line_width=1))
        plot.add_glyph(groups, Text(x="x", y="dims_y", text="dims", text_align="center", text_baseline="middle",
                                    text_font_size="10px", text_color=MUTED_COLOUR))
        plot.add_glyph(self.label_source, Text(x="x", y="y", text="text", text_align="center", text_baseline="middle",
                                               text_font_size="10px", text_color="colour", text_font_style="bold"))
        plot.add_glyph(self.note_source, Text(x="x", y="y", text="text", text_baseline="middle",
                                              text_font_size="10px", text_color=MUTED_COLOUR))
        plot.add_glyph(self.caption_source, Text(x="x", y="y", text="text", text_baseline="middle",
                                                 text_font_size="11px", text_color=LABEL_COLOUR,
                                                 text_font_style="italic"))
