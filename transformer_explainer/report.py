"""A standalone HTML report: for each text (or image), every layer's attention heatmaps and the hidden-state views.

One file, Bokeh's JavaScript inline (``viz.standalone``): it opens from file:// with no network, and its
selectors work without a server (they run in the page). Text from the user, the model and the tokenizer is
escaped where it becomes HTML; token strings reach Bokeh only as plain-text labels.

For an image model each section is one image: its attention drawn on the picture (with the rollout), its hidden
states with the patches' norms on it; for CLIP, each prompt's text tower and the image–text similarity too; for a
vision-to-text model, the cross-attention of each text token and the decoder's self-attention (``image_views``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from .capture import Capture, ImageTextCapture
from .errors import InputError
from .image_views import describe_tokens


def section_heading(index: int, text: str | None, capture: Capture | ImageTextCapture) -> str:
    from transformer_explainer.viz.i18n import translator

    if isinstance(capture, ImageTextCapture) or capture.patches is not None:
        image = capture.image if isinstance(capture, ImageTextCapture) else capture
        title = html.escape(translator("en")("image.heading.section", number=index + 1))
        source = f"<code>{html.escape(text)}</code> &middot; " if text is not None else ""
        return f"<h2>{title}</h2><p>{source}{html.escape(describe_tokens(image))}</p>"
    shown = html.escape(text if text is not None else " ".join(capture.tokens))
    return f"<h2>Text {index + 1}</h2><p><code>{shown}</code> &middot; {capture.n_tokens} tokens</p>"


def report_layout(sections: Sequence[tuple[str | None, Capture | ImageTextCapture]], model_name: str):
    """The whole page: a title, then per text its attention explorer (with every layer's heads in the
    overview) and its hidden-state views; models are named ``s{i}-...`` per section."""
    from bokeh.layouts import column
    from bokeh.models import Div

    from transformer_explainer.viz.i18n import translator

    from .explainer import attention_view, hidden_states_view

    words = translator("en")
    notes = sorted({note for _, capture in sections for note in capture.notes})
    first = sections[0][1]
    first = first.image if isinstance(first, ImageTextCapture) else first
    parts = [Div(text=f"<h1>Transformer Explainer: attention and hidden states</h1>"
                      f"<p>Model <b>{html.escape(model_name)}</b>: {first.n_layers} layers, {first.n_heads} heads"
                      f"{f', {len(first.hidden_states)} hidden states' if first.hidden_states else ''}. "
                      f"Every number is the model's own output.</p>"
                      + "".join(f"<p><i>Note: {html.escape(note)}</i></p>" for note in notes),
                 disable_math=True, sizing_mode="stretch_width")]
    for i, (text, capture) in enumerate(sections):
        parts.append(Div(text=section_heading(i, text, capture), disable_math=True, sizing_mode="stretch_width",
                         name=f"s{i}-heading"))
        image = capture.image if isinstance(capture, ImageTextCapture) else capture
        if image.attentions:
            explained = (words("image.explain.attention") if image.patches is not None else
                         "Pick a layer, a head and a query token; the overview shows every head of every layer "
                         "(tap one).")
            parts.append(Div(text=f"<h3>{html.escape(words('image.heading.attention'))}</h3>"
                                  f"<p>{html.escape(explained)}</p>", disable_math=True))
            parts.append(attention_view(capture, name=f"s{i}-").layout)
        if image.hidden_states:
            parts.append(Div(text=f"<h3>{html.escape(words('image.heading.hidden'))}</h3>", disable_math=True))
            parts.append(hidden_states_view(capture, name=f"s{i}-").layout)
    return column(*parts, sizing_mode="stretch_width")


def input_label(value) -> str | None:
    """How a section names its input: the text itself, an image file's name, or nothing (an array, an image)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Path):
        return value.name
    return None


def write_report(explainer, texts: Sequence | None, path: str | Path, *, text=None,
                 progress: bool | None = False) -> Path:
    """Capture each text (or image, or other input) with ``explainer`` and write the report to ``path``; an
    explainer made ``from_arrays`` shows its arrays (``texts`` None). ``text``: for an image model, CLIP's prompts
    or the text a vision-to-text model's decoder reads. ``progress``: a progress bar on stderr (True), none
    (False), or only when stderr is a terminal (None)."""
    from tqdm import tqdm

    from transformer_explainer.viz.standalone import standalone_html

    from .arrays import ArraysAdapter

    fixed = isinstance(explainer.adapter, ArraysAdapter)
    if fixed:
        if texts is not None:
            raise InputError("an explainer made from arrays reports those arrays: pass texts=None")
        texts = [None]
    texts = list(texts or [])
    if not texts:
        raise InputError("no image to report on: give at least one" if explainer.reads_images else
                         "no text to report on: give at least one")
    what = "image" if explainer.reads_images else "text"
    disable = {True: False, False: True, None: None}[progress]
    sections = []
    with tqdm(total=len(texts) + 1, desc="report", unit="step", disable=disable, leave=False) as bar:
        for i, item in enumerate(texts):
            bar.set_postfix_str(f"{what} {i + 1} of {len(texts)}")
            try:
                capture = explainer.capture(item, text=text) if explainer.reads_images else explainer.capture(item)
            except InputError as error:
                raise InputError(f"{what} {i + 1}: {error}" if len(texts) > 1 else str(error)) from None
            sections.append((input_label(item), capture))
            bar.update(1)
        bar.set_postfix_str("writing the page")
        layout = report_layout(sections, explainer.name)
        path = Path(path)
        path.write_text(standalone_html(layout, title=f"Transformer Explainer: {explainer.name}"), encoding="utf-8")
        bar.update(1)
    return path
