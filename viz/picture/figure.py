"""``PictureView``: one screen showing a transformer block at work on the student's own tokens.

tokens → embedding → (the residual stream branches) LayerNorm → Q, K, V → the selected head's attention: each
token's query runs into its row of the matrix, its key into its column, its value on under the matrix to z →
concat, c_proj → ⊕ (added back into the stream) → LayerNorm → MLP (d → 4d → d) → ⊕ → the other blocks → final
LayerNorm → the last token's stream fans out into the logits → probabilities. Every number is a real value from
the Trace (see each stage's module for which hook and which subset); the dense vectors are light boxes whose
values show on hover, the first screen's numbers are the attention weights and the probabilities.

Everything is drawn in one Bokeh Plot (``figure``, picture-figure) in design pixels (layout.py); ``fit_script()``
scales it to the window in the browser; ``orientation="vertical"`` turns it a quarter for a phone (canvas.py).

Interaction, all in the browser:
- Hover a token (or any cell of its row), or tap it to pin it (phones have no hover): its path lights up through
  every stage; the others dim. The ``alpha`` column of every row-carrying source says what is lit, and
  ``highlight_source`` (picture-highlight-source) holds the lit ``slot`` and ``position`` (-1: none), both readable
  from the page.
- Tap a stage: ``stage_source.selected.indices`` (picture-stage-source; columns ``stage``, ``layer``) says which;
  the pickers' buttons are stages too ("block_prev", "block_next", "head_prev", "head_next", "tokens_earlier",
  "tokens_later"). Tap a head card: ``head_source.selected.indices`` (picture-head-source; column ``head``). Tap a
  token: ``token_source.selected.indices`` (picture-token-source; column ``position``). A tap elsewhere empties
  them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.events import MouseLeave
from bokeh.models import Column, ColumnDataSource, CustomJS, HoverTool, Patches, Quad, TapTool, Text

from transformer_explainer.gpt2_core import Trace

from .. import js_code
from ..common import SAMPLED_COLOUR, check_head, check_layer, set_if_changed
from ..i18n import Translator, plural, translator
from .attention import AttentionOutputStage, HeadCards, MatrixStage
from .blocks import BlocksStage, block_counts
from .canvas import Canvas, check_orientation
from .embedding import EmbeddingStage, TokensStage
from .fit import fit_script
from .labels import (LABEL_COLOUR, MUTED_COLOUR, TITLE_COLOUR, caption_data, column_label_data, flow_label_data,
                     group_data, legend_data, note_data, wrap, CAPTION_CHARACTERS)
from .layer_norm import LayerNormStage
from .layout import (CANDIDATE_PITCH, CANDIDATE_TOP, COLUMNS, FRAME_BOTTOM, FRAME_LEFT, FRAME_RIGHT, FRAME_TOP,
                     HEIGHT, LABEL_PX, LABEL_Y, MAX_TOKENS, N_TOP, ROWS_TOP, SMALL_PX, TITLE_PX, WIDTH, Rows)
from .mlp import MlpStage
from .output import OutputStage
from .pickers import Pickers, picker_stages
from .qkv import QkvStage
from .residual import ResidualStage
from .ribbons import N_QKV_ROWS, qkv_ribbon_data, ribbon_data
from .spotlight import Spotlight
from .strips import HoverKit, vector_box_data

HIGHLIGHT_ALPHA, DIM_FACTOR = 0.85, 0.2
N_STAGE_ROWS = 22  # constant rows of the stage source: the stages, the pickers' buttons, padding
FRAME_COLOUR = "#7d9cc4"


def stage_data(rows: Rows, layer: int, head: int, n_layer: int, n_head: int, words: Translator | None = None,
               vertical: bool = False) -> dict:
    """Tap targets, one per stage (a box around its column), and one per picker button. Drawn under everything."""
    words = words or translator()
    top, bottom = LABEL_Y - 4.0, max(rows.bottom, ROWS_TOP + 60.0) + 4.0
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
        ("mlp", layer, ("mlp_pre", "mlp_post"), words("picture.stage.mlp", L=L)),
        ("residual_post", layer, "resid_post", words("picture.stage.residual_post", L=L)),
        ("blocks", -1, "blocks", words("picture.stage.blocks", others=n_layer - 1, before=before, after=after)),
        ("ln_final", -1, "ln_final", words("picture.stage.ln_final")),
    ]
    rows_out = []
    for stage, stage_layer, columns, description in stages:
        first, last = (columns, columns) if isinstance(columns, str) else columns
        left, right = COLUMNS[first][0] - 3, COLUMNS[last][1] + 3
        stage_bottom = bottom
        if stage == "attention":
            left, right, stage_bottom = rows.matrix_left - 3, rows.matrix_right + 3, rows.value_lane + 14.0
        if stage == "mlp":
            right = COLUMNS["mlp_out"][1] + 3
        rows_out.append((stage, stage_layer, left, right, top, stage_bottom, description))
    if before > 0:  # the thin stack between the embedding and LayerNorm 1
        rows_out.append(("blocks", -1, COLUMNS["_branch_attn"][0], COLUMNS["_branch_attn"][0] + 11, ROWS_TOP - 6,
                         bottom, plural(words, before, "picture.stage.blocks_before_one",
                                        "picture.stage.blocks_before_other", layer=layer)))
    if vertical:  # the candidates' list goes across the screen, under the final LayerNorm
        rows_out.append(("output", -1, COLUMNS["_to_output"][0] + 4, WIDTH - 2, 4.0, HEIGHT - 4.0,
                         words("picture.stage.output")))
    else:
        rows_out.append(("output", -1, COLUMNS["logit"][0] - 3, WIDTH - 2, top,
                         CANDIDATE_TOP + (N_TOP + 2) * CANDIDATE_PITCH, words("picture.stage.output")))
    rows_out += picker_stages(rows, layer, head, n_layer, n_head, words)
    while len(rows_out) < N_STAGE_ROWS:  # constant rows: padding (no box)
        rows_out.append(("", -1, np.nan, np.nan, np.nan, np.nan, ""))
    stage, layers, left, right, tops, bottoms, description = (list(c) for c in zip(*rows_out))
    return {"stage": stage, "layer": np.array(layers), "left": np.array(left, dtype=float),
            "right": np.array(right, dtype=float), "top": np.array(tops, dtype=float),
            "bottom": np.array(bottoms, dtype=float), "description": description}


def normalize_ablated(ablated) -> frozenset:
    return frozenset((int(layer), int(head)) for layer, head in (ablated or ()))


class PictureView:
    """The picture. ``layout`` (picture-layout, a Bokeh Column) holds ``figure`` (picture-figure), the one Plot.

    Sources the app and tests find by name: ``stage_source`` (picture-stage-source), ``head_source``
    (picture-head-source), ``token_source`` (picture-token-source), ``probability_source``
    (picture-probability-source), ``highlight_source`` (picture-highlight-source), ``attention_source``
    (picture-attention-source), ``qkv_ribbon_source`` (picture-qkv-ribbon-source), and one per strip
    (picture-<stage>-source, see ``strip_sources``)."""

    def __init__(self, trace: Trace, layer: int, head: int, probabilities, sampled_id: int | None,
                 display_token: Callable[[int], str], *, n_layer: int, selected_position: int | None = None,
                 ablated_heads=(), lang: str = "en", orientation: str = "horizontal",
                 token_bytes: Callable[[int], bytes] | None = None):
        """``lang``: the language of every word drawn (see viz/i18n.py); ``orientation``: "horizontal" (the flow
        left to right) or "vertical" (top to bottom, for a phone); ``token_bytes``: a token id's bytes, for the
        token column's hover (the tokenizer's ``token_bytes``)."""
        self.lang = lang
        self.words = words = translator(lang)
        config = trace.config
        self.n_layer, self.n_head = int(n_layer), config.n_head
        self.d_model, self.d_head, self.d_mlp = config.n_embd, config.d_head, trace["blocks.0.mlp.hook_pre"].shape[-1]
        self.display_token = display_token
        self.canvas = Canvas(check_orientation(orientation))
        self.figure = self.canvas.plot

        self.tokens = TokensStage(lang, token_bytes)
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
        self.pickers = Pickers(lang)
        self.head_source = self.heads.source
        self.probability_source = self.output.source

        self.stage_source = ColumnDataSource(name="picture-stage-source")
        self.ribbon_source = ColumnDataSource(name="picture-ribbon-source")
        self.qkv_ribbon_source = ColumnDataSource(name="picture-qkv-ribbon-source")
        self.vector_source = ColumnDataSource(name="picture-vector-source")
        self.highlight_source = ColumnDataSource({"slot": [-1], "position": [-1]}, name="picture-highlight-source")
        self.group_source = ColumnDataSource(name="picture-group-source")
        self.label_source = ColumnDataSource(column_label_data(words), name="picture-label-source")
        self.flow_label_source = ColumnDataSource(name="picture-flow-label-source")
        self.legend_source = ColumnDataSource(name="picture-legend-source")
        self.note_source = ColumnDataSource(name="picture-note-source")
        self.caption_source = ColumnDataSource(caption_data(words=words), name="picture-caption-source")
        self.frame_source = ColumnDataSource({"left": [FRAME_LEFT], "right": [FRAME_RIGHT], "top": [FRAME_TOP],
                                              "bottom": [FRAME_BOTTOM]}, name="picture-frame-source")
        self.spotlit = Spotlight()  # a tour step's outline round one stage (viz/picture/spotlight.py)
        self.spotlight_source = self.spotlit.source

        self._state: dict = {"row_end": None}
        self._ribbon_rows: Rows | None = None
        self.update(trace, layer, head, probabilities, sampled_id, selected_position=selected_position,
                    ablated_heads=ablated_heads)
        self._draw(kit)
        # Before the fit script has run (or where there is none: a notebook), a picture wider than its box scrolls
        # inside it; the page does not widen.
        self.layout = Column(children=[self.figure], name="picture-layout", sizing_mode="stretch_width",
                             styles={"overflow-x": "auto", "overflow-y": "hidden"})
        self.spotlit.scroll_into_view(self.figure)  # a stage lit below the window scrolls into view
        self._fit: CustomJS | None = None

    # -- the sources, by stage ---------------------------------------------------------------------------------

    @property
    def strip_sources(self) -> dict[str, ColumnDataSource]:
        """Every strip's source by stage key: embedding, ln1, q, k, v, kt, z, attn_out, resid_mid, ln2, mlp_pre,
        mlp_post, mlp_out, resid_post, ln_final."""
        return {strip.key: strip.source for strip in self._strips(with_kt=True)}

    def _strips(self, with_kt: bool = False) -> list:
        return [self.embedding.strip, self.ln1.strip, *self.qkv.strips.values(), *([self.matrix.kt] if with_kt else []),
                self.attention_output.z, self.attention_output.out, self.residual.mid, self.ln2.strip,
                *self.mlp.strips, self.residual.post, self.ln_final.strip]

    @property
    def attention_source(self) -> ColumnDataSource:
        return self.matrix.source

    @property
    def highlighted_sources(self) -> list[ColumnDataSource]:
        """The sources whose ``alpha`` follows the hovered token (each has ``slot``, ``alpha``, ``base_alpha``)."""
        return [self.token_source, *self.strip_sources.values(), self.qkv.frame_source, self.matrix.source,
                self.residual.plus_source, self.ribbon_source, self.qkv_ribbon_source, self.vector_source,
                self.output.fan_source]

    @property
    def orientation(self) -> str:
        return self.canvas.orientation

    @property
    def vertical(self) -> bool:
        return self.orientation == "vertical"

    @property
    def aligned(self) -> str:
        """Which index of the attention matrix sits on its token's own row: the query (horizontal) or the key."""
        return "query" if self.orientation == "horizontal" else "key"

    # -- updates -------------------------------------------------------------------------------------------------

    def update(self, trace: Trace, layer: int, head: int, probabilities, sampled_id: int | None, *,
               selected_position: int | None = None, ablated_heads=None) -> None:
        """A new trace (a new prompt), or another block or head: every source is refilled in place. The token
        rows drawn go back to the prompt's last ones when the prompt changed.

        ``selected_position``: a prompt position (-1: the last) whose token and query row are outlined, None for
        none; ``ablated_heads``: (layer, head) pairs crossed out on the cards (None keeps the current ones)."""
        self._check_shape(trace)
        layer, head = check_layer(layer, self.n_layer), check_head(head, self.n_head)
        if selected_position is not None and selected_position < 0:  # Python style: -1 is the last token
            selected_position += trace.n_tokens
        if ablated_heads is not None or "ablated" not in self._state:
            self._state["ablated"] = normalize_ablated(ablated_heads)
        old = self._state.get("trace")
        if old is None or old.token_ids != trace.token_ids:
            self._state["row_end"] = None
        self._state.update(trace=trace, layer=layer, head=head, selected_position=selected_position,
                           probabilities=probabilities, sampled_id=sampled_id)
        self._fill_all()

    def _fill_all(self) -> None:
        state = self._state
        trace = state["trace"]
        rows = Rows.window(trace.n_tokens, state["row_end"])
        state["rows"] = rows
        self.tokens.fill(trace, rows, state["selected_position"])
        self.embedding.fill(trace, rows)
        self._fill_block()
        self.ln_final.fill(trace, rows, state["layer"])
        self.output.fill(trace.logits, state["probabilities"], state["sampled_id"], rows, self.vertical)
        set_if_changed(self.note_source, note_data(rows.left_out, self.words))
        if self._ribbon_rows != rows:  # the row ribbons depend on the rows only
            self.ribbon_source.data = ribbon_data(rows, rows.matrix_right)
            self._ribbon_rows = rows
        set_if_changed(self.vector_source, vector_box_data(self._strips(), MAX_TOKENS * len(self._strips())))
        self.highlight_source.data = {"slot": [-1], "position": [-1]}  # every alpha is back at rest

    def select(self, layer: int | None = None, head: int | None = None, ablated_heads=None) -> None:
        """Draw another block or head of the same trace: only the block's sources change."""
        state = self._state
        state["layer"] = state["layer"] if layer is None else check_layer(layer, self.n_layer)
        state["head"] = state["head"] if head is None else check_head(head, self.n_head)
        if ablated_heads is not None:
            state["ablated"] = normalize_ablated(ablated_heads)
        self._fill_block()
        self.ln_final.fill(state["trace"], state["rows"], state["layer"])
        self.highlight_source.data = {"slot": [-1], "position": [-1]}

    def scroll_tokens(self, direction: int) -> None:
        """Move the token rows drawn a page earlier (``direction`` -1) or later (+1) in a long prompt."""
        state = self._state
        rows, n_tokens = state["rows"], state["trace"].n_tokens
        end = rows.positions[-1] + 1 if rows.n else n_tokens
        end = end + int(np.sign(direction)) * MAX_TOKENS
        state["row_end"] = None if end >= n_tokens else max(end, min(MAX_TOKENS, n_tokens))
        self._fill_all()

    def set_orientation(self, orientation: str) -> None:
        """Turn the picture: "horizontal" (the flow left to right) or "vertical" (top to bottom, for a phone)."""
        if check_orientation(orientation) == self.orientation:
            return
        self.canvas.set_orientation(orientation)
        self._fill_all()

    def spotlight(self, stage: str | None) -> None:
        """Outline one stage (a name of ``stage_source.data["stage"]``, or "tokens"); None: none."""
        self.spotlit.show(stage, self.stage_source.data)

    def set_ablated(self, ablated_heads) -> None:
        """Mark ablated heads (pairs (layer, head)) on the cards."""
        self._state["ablated"] = normalize_ablated(ablated_heads)
        self.heads.mark(self._state["layer"], self._state["head"], self._state["ablated"])

    def update_probabilities(self, probabilities, sampled_id: int | None) -> None:
        """A temperature (or top-k/top-p) change: only the bars' source (``probability_source``) changes."""
        self._state.update(probabilities=probabilities, sampled_id=sampled_id)
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

    def _fill_block(self) -> None:
        state = self._state
        trace, rows, layer, head = state["trace"], state["rows"], state["layer"], state["head"]
        position = state["selected_position"]
        selected_slot = rows.positions.index(position) if position in rows.positions else None
        ablated = state["ablated"]
        self.ln1.fill(trace, rows, layer)
        self.qkv.fill(trace, rows, layer, head)
        self.matrix.fill(trace, rows, layer, head, selected_slot, self.aligned)
        self.heads.fill(trace, rows, layer, head, ablated)
        self.attention_output.fill(trace, rows, layer, head)
        self.residual.fill(trace, rows, layer)
        self.ln2.fill(trace, rows, layer)
        self.mlp.fill(trace, rows, layer)
        self.blocks.fill(rows, layer, self.n_layer)
        self.pickers.fill(layer, head, self.n_layer, self.n_head)
        set_if_changed(self.qkv_ribbon_source, qkv_ribbon_data(trace, rows, layer, head, self.aligned))
        set_if_changed(self.group_source, group_data(layer, head, self.n_head, self.n_layer, self.d_model,
                                                     self.d_head, self.d_mlp, self.words))
        set_if_changed(self.flow_label_source, flow_label_data(rows, self.words, self.aligned), always=())
        set_if_changed(self.legend_source, legend_data(head, self.words), always=())
        set_if_changed(self.stage_source, stage_data(rows, layer, head, self.n_layer, self.n_head, self.words,
                                                     self.vertical))
        self.spotlit.follow(self.stage_source.data)

    # -- fitting the window --------------------------------------------------------------------------------------

    def fit_script(self) -> CustomJS:
        """The script that fits the picture into its box and the window (viz/picture/fit.py). Run it when the
        page is ready (``attach_fit``); it then follows the window, and a turned picture, by itself."""
        if self._fit is None:
            self._fit = fit_script(self)
            for model, attribute in ((self.figure.x_range, "end"), (self.figure.y_range, "start"),
                                     (self.figure, "width")):
                model.js_on_change(attribute, self._fit)
        return self._fit

    def attach_fit(self, document) -> None:
        """Run the fit script in ``document``'s page once it is ready (nothing when there is no document)."""
        if document is not None:
            document.js_on_event("document_ready", self.fit_script())

    # -- drawing -------------------------------------------------------------------------------------------------

    def _draw(self, kit: HoverKit) -> None:
        canvas = self.canvas
        box = dict(left="left", right="right", top="top", bottom="bottom")
        stages = canvas.add(self.stage_source, Quad, dict(**box, fill_color="#000000", fill_alpha=0.0,
                                                          line_color=None),
                            hover=dict(fill_color="#4c78a8", fill_alpha=0.06, line_color="#9fb3cc",
                                       line_dash="dashed"),
                            selection=dict(fill_color=SAMPLED_COLOUR, fill_alpha=0.06, line_color=SAMPLED_COLOUR,
                                           line_width=2))
        canvas.add(self.frame_source, Quad, dict(**box, fill_color=None, line_color=FRAME_COLOUR, line_width=1.5,
                                                 line_dash=[6, 4], line_alpha=0.8))
        self.residual.draw_under(canvas)
        ribbon = dict(xs="xs", ys="ys", fill_color="colour", fill_alpha="alpha", line_color=None)
        canvas.add(self.ribbon_source, Patches, ribbon)
        canvas.add(self.qkv_ribbon_source, Patches, ribbon)
        canvas.add(self.vector_source, Quad, dict(**box, fill_color="#eef2f7", line_color="#b9c3cf", line_width=1,
                                                  fill_alpha="alpha", line_alpha="alpha"))
        self.blocks.draw(canvas)
        self.tokens.draw(canvas)
        self.embedding.draw(canvas, kit)
        self.ln1.draw(canvas, kit)
        self.qkv.draw(canvas, kit)
        self.matrix.draw(canvas, kit, self.layer, self.head)
        self.heads.draw(canvas)
        self.attention_output.draw(canvas, kit)
        self.residual.draw(canvas, kit)
        self.ln2.draw(canvas, kit)
        self.mlp.draw(canvas, kit)
        self.ln_final.draw(canvas, kit)
        self.output.draw(canvas, kit)
        self._draw_words(canvas)
        self.pickers.draw(canvas)
        self.spotlit.draw(canvas)

        strips = [strip.renderer for strip in self._strips()]
        watched = [self.token_source] + [r.data_source for r in strips]
        highlight = CustomJS(args=dict(watched=watched, targets=self.highlighted_sources, state=self.highlight_source,
                                       tokens=self.token_source, highlight=HIGHLIGHT_ALPHA, dim=DIM_FACTOR),
                             code=js_code("picture_highlight"))
        caption = CustomJS(args=dict(stages=self.stage_source, caption=self.caption_source,
                                     hint=caption_data(words=self.words)["text"][0], width=CAPTION_CHARACTERS),
                           code=js_code("picture_stage_caption", "picture_wrap"))
        canvas.plot.add_tools(HoverTool(renderers=[self.tokens.renderer, *strips], tooltips=None, callback=highlight),
                              HoverTool(renderers=[stages], tooltips=None, callback=caption),
                              TapTool(renderers=[stages, self.heads.renderer, self.tokens.renderer]))
        canvas.plot.js_on_event(MouseLeave, highlight)
        self.token_source.selected.js_on_change("indices", highlight)

    def _draw_words(self, canvas) -> None:
        turned = dict(angle=np.pi / 2)
        canvas.add(self.group_source, Text, dict(x="x", y="y", text="text", text_align="center",
                                                 text_baseline="middle", size=TITLE_PX, text_font_style="bold",
                                                 text_color=TITLE_COLOUR),
                   vertical=turned)
        canvas.add(self.group_source, Text, dict(x="x", y="dims_y", text="dims", text_align="center",
                                                 text_baseline="middle", size=SMALL_PX, text_color=MUTED_COLOUR,
                                                 background_fill_color="#ffffff", padding=2, text_alpha=1.0,
                                                 background_fill_alpha=1.0),
                   vertical=dict(turned, text_alpha=0.0, background_fill_alpha=0.0))
        canvas.add(self.label_source, Text, dict(x="x", y="y", text="text", text_align="center",
                                                 text_baseline="middle", size=SMALL_PX, text_color="colour"))
        canvas.add(self.flow_label_source, Text, dict(x="x", y="y", text="text", text_align="align",
                                                      text_baseline="baseline", size=LABEL_PX, text_color="colour",
                                                      text_font_style="bold", background_fill_color="#ffffff",
                                                      background_fill_alpha=0.8, padding=1))
        # Turned (a phone) there is no room beside the picture for the legend and the caption: the colours are
        # named where the ribbons meet the matrix, a tapped stage opens, and the legend is left out.
        unseen = dict(text_alpha=0.0)
        canvas.add(self.legend_source, Text, dict(x="x", y="y", text="text", text_baseline="middle", size=SMALL_PX,
                                                  text_color="colour", text_alpha=1.0), vertical=unseen)
        canvas.add(self.note_source, Text, dict(x="x", y="y", text="text", text_baseline="middle", size=SMALL_PX,
                                                text_color=MUTED_COLOUR, text_alpha=1.0), vertical=unseen)
        canvas.add(self.caption_source, Text, dict(x="x", y="y", text="shown", text_baseline="top", size=SMALL_PX,
                                                   text_color=LABEL_COLOUR, text_font_style="italic",
                                                   text_line_height=1.3, text_alpha=1.0), vertical=unseen)


__all__ = ["PictureView", "stage_data", "wrap"]
