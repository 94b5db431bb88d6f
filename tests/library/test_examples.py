"""examples/: the notebook, executed headless in a Jupyter kernel (nbclient), and the script, both offline on tiny
random models. The notebook's widgets (text, and its image section: a ViT, CLIP, a vision encoder-decoder) are then
read from its kernel and compared with the models' own outputs, computed here; and its saved outputs, opened as a
page with no kernel and no network (what a saved or exported notebook is), still draw the widgets, whose selectors
still switch heads. Without PyTorch (or Pillow, for the image section) the notebook is skipped, saying why."""

from __future__ import annotations

import html
import json
import runpy
import sys

import numpy as np
import pytest

from library_helpers import (SENTENCE, first_of_batch, need_pillow, need_transformers, reference_image_outputs,
                             reference_outputs)
from environment import REPO_ROOT, run_in_own_thread

pytestmark = pytest.mark.torch
EXAMPLES = REPO_ROOT / "examples"
PANEL_OUTPUT = "application/vnd.holoviews_exec.v0+json"  # what Panel displays in a notebook

# Run in the notebook's kernel after its cells: what its widgets hold, for the test to check.
DUMP_CELL = """
import json, numpy as np
image.save("picture.png")
np.savez("widgets.npz", patterns=np.stack(attention.view.patterns_source.data["image"]),
         heatmap=attention.view.heatmap.values, strip=hidden.view.strip.values,
         states=np.stack(hidden.view.states_source.data["image"]),
         custom=np.stack(custom.capture("x").attentions), custom_seen=custom_heatmap,
         image_patterns=np.stack(image_attention.view.patterns_source.data["image"]),
         image_overlay=image_attention.view.overlay.values, image_rollout=image_attention.view.rollout,
         image_norms=image_hidden.view.patch_norms.values,
         clip_logits=clip_attention.view.similarity.source.data["logit"],
         clip_text=np.stack(clip_attention.view.texts[1].patterns_source.data["image"]),
         cross=np.stack(caption_attention.view.cross.patterns_source.data["image"]))
json.dump({"folder": str(folder), "layer": attention.view.layer, "head": attention.view.head,
           "hidden": hidden.view.layer, "notes": list(attention.capture.notes),
           "vit": str(vit_folder), "clip": str(clip_folder), "captioner": str(captioner_folder),
           "caption": caption_attention.capture.texts[0].token_ids, "image_mode": image_attention.view.mode,
           "image_query": image_attention.view.query}, open("widgets.json", "w"))
"""


@pytest.fixture(scope="module")
def executed_notebook(tmp_path_factory):
    """(its code cells with their outputs, the folder it ran in, the reference outputs of its model)."""
    need_transformers()
    need_pillow()  # the image section
    nbformat = pytest.importorskip("nbformat", reason="needs nbformat (pip install -e '.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="needs nbclient (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="needs ipykernel (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(EXAMPLES / "explainer.ipynb", as_version=4)
    # The custom model's own first-layer attention, as it computed it (kept for the check below).
    notebook.cells.append(nbformat.v4.new_code_cell(
        "custom_heatmap = custom.show_attention('x').view.heatmap.values"))
    notebook.cells.append(nbformat.v4.new_code_cell(DUMP_CELL))
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    run_in_own_thread(client.execute)  # nbclient runs an event loop; a browser test may hold this thread's one
    facts = json.loads((folder / "widgets.json").read_text())
    _, attentions, hidden = reference_outputs(facts["folder"], "bert", SENTENCE)
    return [cell for cell in notebook.cells if cell.cell_type == "code"], folder, facts, attentions, hidden


@pytest.mark.notebook
def test_the_notebook_runs_offline_and_its_widgets_hold_the_models_numbers(executed_notebook):
    code, folder, facts, attentions, hidden = executed_notebook
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert errors == []
    printed = "".join(output.text for cell in code for output in cell.outputs
                      if output.output_type == "stream" and output.name == "stdout")
    assert "attention, layer 1 head 2: True" in printed and "hidden state 2: True" in printed
    widgets = [output for cell in code for output in cell.outputs
               if output.output_type == "execute_result" and PANEL_OUTPUT in output.get("data", {})]
    assert len(widgets) == 8  # attention, hidden states, the custom model's, the arrays', ViT ×2, CLIP, captioner
    rendered = html.unescape(widgets[0]["data"]["text/html"])
    assert "attention-patterns" in rendered and "attention-layer-select" in rendered  # the viz models, in Panel

    data = np.load(folder / "widgets.npz")
    np.testing.assert_array_equal(data["patterns"], np.concatenate(attentions))  # every layer × head, in order
    np.testing.assert_array_equal(data["heatmap"], attentions[facts["layer"]][facts["head"]])
    np.testing.assert_array_equal(data["states"], np.stack(hidden))
    np.testing.assert_array_equal(data["strip"], hidden[facts["hidden"]])
    assert (facts["layer"], facts["head"], facts["hidden"]) == (1, 2, 2)  # as the notebook selected
    assert "attn_implementation='eager'" in facts["notes"][0]
    np.testing.assert_array_equal(data["custom_seen"], data["custom"][0][0])
    assert (folder / "report.html").stat().st_size > 100_000
    assert "[CLS], layer 1 head 2, on the patches: True" in printed and "rollout to [CLS]: True" in printed


@pytest.mark.notebook
def test_the_notebooks_image_section_holds_the_models_numbers(executed_notebook):
    code, folder, facts, _, _ = executed_notebook
    from PIL import Image

    picture = Image.open(folder / "picture.png")
    data = np.load(folder / "widgets.npz")
    vit, _ = reference_image_outputs(facts["vit"], "vit", picture)
    attentions = first_of_batch(vit.attentions)
    np.testing.assert_array_equal(data["image_patterns"], np.concatenate(attentions))
    assert (facts["image_mode"], facts["image_query"]) == ("rollout", 0)  # as the notebook left it
    np.testing.assert_array_equal(data["image_overlay"], data["image_rollout"][0][1:].reshape(4, 6))
    hidden = first_of_batch(vit.hidden_states)
    np.testing.assert_allclose(data["image_norms"],
                               np.linalg.norm(hidden[-1].astype(np.float64), axis=-1)[1:].reshape(4, 6), rtol=1e-6)
    prompts = ["a photo of a cat", "the capital of france"]
    clip, inputs = reference_image_outputs(facts["clip"], "clip", picture, prompts)
    np.testing.assert_array_equal(data["clip_logits"], clip.logits_per_image[0].numpy())
    length = int(inputs["attention_mask"][1].sum())
    np.testing.assert_array_equal(data["clip_text"], np.concatenate(
        [layer[1, :, :length, :length].numpy() for layer in clip.text_model_output.attentions]))
    captioner, _ = reference_image_outputs(facts["captioner"], "vision-encoder-decoder", picture, facts["caption"])
    np.testing.assert_array_equal(data["cross"], np.concatenate(first_of_batch(captioner.cross_attentions)))
    assert (folder / "image-report.html").stat().st_size > 100_000


@pytest.mark.notebook
@pytest.mark.browser
def test_the_saved_notebook_shows_its_widgets_with_no_kernel_and_no_network(executed_notebook, browser):
    code, folder, _, attentions, _ = executed_notebook
    page_path = folder / "saved-notebook.html"  # the outputs alone, in order, as a saved notebook holds them
    page_path.write_text("<html><body>" + "".join(
        f"<script>{data['application/javascript']}</script>" if "application/javascript" in data else data["text/html"]
        for data in (output.get("data", {}) for cell in code for output in cell.outputs)
        if "application/javascript" in data or "text/html" in data) + "</body></html>", encoding="utf-8")
    shown = static_attention(browser, page_path, n=attentions[0].shape[-1], layer=1, head=3)
    np.testing.assert_array_equal(np.array(shown["before"], np.float32).reshape(attentions[0][0].shape),
                                  attentions[0][0])  # the state at display time: layer 0, head 0
    np.testing.assert_array_equal(np.array(shown["after"], np.float32).reshape(attentions[1][3].shape),
                                  attentions[1][3])
    assert shown["requests"] == [] and shown["problems"] == []


# The attention widget's heatmap figure is drawn (its view exists and is idle).
DRAWN_JS = """() => {
  if (!window.Bokeh) return false;
  for (const doc of Bokeh.documents) for (const model of doc._all_models.values())
    if (model.name === 'attention-figure') {
      const view = Bokeh.index.find_one_by_id(model.id);
      return view != null && view.is_idle;
    }
  return false;
}"""

# The notebook's first attention widget (a BERT's: n tokens, shown at layer 0, head 0; the documents may be in
# any order): its heatmap before and after choosing another head.
STATIC_JS = """async ([n, layer, head]) => {
  const named = (doc, name) => {
    for (const m of doc._all_models.values()) if (m.name === name) return m;
    return null;
  };
  const doc = Bokeh.documents.find((d) => named(d, 'attention-heatmap') !== null
    && named(d, 'attention-heatmap').data.image[0].length === n * n
    && named(d, 'attention-figure').title.text.startsWith('layer 0, head 0:'));
  const image = () => Array.from(named(doc, 'attention-heatmap').data.image[0]);
  // CustomJS runs its code after awaiting (microtasks): a macrotask later, it has run.
  const settled = () => new Promise((done) => setTimeout(done, 0));
  const before = image();
  named(doc, 'attention-layer-select').value = String(layer);
  await settled();
  named(doc, 'attention-head-select').value = String(head);
  await settled();
  return {before, after: image()};
}"""


def static_attention(browser, path, n: int, layer: int, head: int) -> dict:
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (requests.append(route.request.url), route.abort()))
    try:
        page.goto(path.as_uri())
        page.wait_for_function(DRAWN_JS, timeout=30_000)
        return {**page.evaluate(STATIC_JS, [n, layer, head]), "problems": problems, "requests": requests}
    finally:
        page.close()


def test_the_script_writes_the_report_with_the_library_and_the_command_line(tmp_path, monkeypatch, capsys):
    need_transformers()
    output = tmp_path / "out" / "report.html"
    monkeypatch.setattr(sys, "argv", ["tiny_report.py", "--kind", "distilbert", "--output", str(output)])
    with pytest.warns(UserWarning, match="eager"):
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(EXAMPLES / "tiny_report.py"), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "2 layers x 4 heads over 10 tokens: ['[CLS]', 'transformer', 'models'," in printed
    for path in (output, output.with_name("report-library.html")):
        page = html.unescape(path.read_text(encoding="utf-8"))
        assert '"s0-attention-patterns"' in page and '"s1-hidden-states"' in page
