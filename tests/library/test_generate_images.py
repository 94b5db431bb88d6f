"""``transformer-explainer generate --image``: a report per image for image models (the report's content is checked
in a browser by test_image_report_in_browser.py), and one clear line on stderr, exit status 2, for each input that
does not fit the model, checked before anything is written."""

from __future__ import annotations

import html
import json
import shutil

import pytest

from library_helpers import need_pillow, sample_picture
from transformer_explainer.app.cli import main

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    need_pillow()
    folder = tmp_path_factory.mktemp("pictures")
    sample_picture().save(folder / "cat.png")
    sample_picture(mode="L").save(folder / "grey.png")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def generate(*args: str) -> int:
    return main(["generate", *map(str, args)])


def test_one_section_per_image_and_the_conversion_is_noted(image_checkpoint, pictures, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert generate("--model", image_checkpoint("deit"), "--image", pictures / "cat.png", "--image",
                    pictures / "grey.png", "--output", out) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (2 images, ")
    page = html.unescape(out.read_text(encoding="utf-8")).replace("\\u00d7", "×")  # as JSON writes it
    assert "<h2>Image 2</h2><p><code>grey.png</code> &middot; 26 tokens: 2 before the patches, then 4 × 6 patches" \
        in page
    for name in ('"s0-attention-picture-cells"', '"s1-attention-rollout"', '"s1-hidden-patch-norms-cells"'):
        assert name in page
    assert "the input was a greyscale image: it was converted to RGB" in page


def test_clip_prompts_and_a_caption_go_with_the_image(image_checkpoint, pictures, tmp_path, capsys):
    out = tmp_path / "clip.html"
    assert generate("--model", image_checkpoint("clip"), "--image", pictures / "cat.png", "--text", "a cat",
                    "--text", "a dog", "--output", out) == 0
    page = html.unescape(out.read_text(encoding="utf-8"))
    assert '"s0-image-text-similarity"' in page and '"s0-text1-attention-patterns"' in page
    out = tmp_path / "caption.html"
    assert generate("--model", image_checkpoint("vision-encoder-decoder"), "--image", pictures / "cat.png",
                    "--output", out) == 0
    page = html.unescape(out.read_text(encoding="utf-8"))
    assert '"s0-cross-attention-patterns"' in page and "own greedy caption (12 tokens after the start token)" in page


@pytest.mark.parametrize("kind, args, message", [
    ("vit", ["--image", "{pictures}/missing.png"], "--image {pictures}/missing.png: there is no such file"),
    ("vit", ["--image", "{pictures}"], "--image {pictures} is a folder: give an image file (PNG, JPEG, ...)"),
    ("vit", ["--image", "{pictures}/notes.txt"], "{pictures}/notes.txt is not an image Pillow can read"),
    ("vit", ["--text", "hello"], "{model} reads images: give one with --image FILE"),
    ("vit", ["--image", "{pictures}/cat.png", "--text", "hello"],
     "{model} reads images only: --text goes with --image for CLIP and vision-to-text models"),
    ("vision-encoder-decoder", ["--image", "{pictures}/cat.png", "--text", "a", "--text", "b"],
     "{model}'s decoder reads one text: give one --text (or none, and it writes its own caption)"),
    ("demo", ["--image", "{pictures}/cat.png"], "demo reads text, not images: --image is for image models"),
    ("bert", ["--image", "{pictures}/cat.png"], "{model} reads text, not images"),
])
def test_inputs_that_do_not_fit_the_model_are_one_clear_line(image_checkpoint, hf_checkpoint, pictures, tmp_path,
                                                             capsys, kind, args, message):
    model = {"demo": "demo", "bert": None}.get(kind, None)
    model = model or str(hf_checkpoint("bert") if kind == "bert" else image_checkpoint(kind))
    out = tmp_path / "report.html"
    given = [arg.format(pictures=pictures) for arg in args]
    assert generate("--model", model, *given, "--output", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(pictures=pictures, model=model)) and err.count("\n") == 1
    assert not out.exists()


def test_an_image_folder_without_its_processor_says_what_to_save(image_checkpoint, pictures, tmp_path, capsys):
    folder = tmp_path / "no-processor"
    shutil.copytree(image_checkpoint("vit"), folder)
    (folder / "preprocessor_config.json").unlink()
    assert generate("--model", folder, "--image", pictures / "cat.png", "--output", tmp_path / "r.html") == 2
    err = capsys.readouterr().err
    assert err == (f"error: the folder {folder} holds an image model but no image processor (preprocessor_config.json "
                   f"or processor_config.json): save it with processor.save_pretrained('{folder}')\n")


def test_a_captioning_model_saved_without_a_joint_processor_reads_its_tokenizer_too(image_checkpoint, tmp_path):
    from transformers import AutoProcessor

    from transformer_explainer.loading import load_explainer

    folder = tmp_path / "apart"
    shutil.copytree(image_checkpoint("vision-encoder-decoder"), folder)
    processor = AutoProcessor.from_pretrained(folder)
    (folder / "processor_config.json").unlink()  # as many Hub captioning models are: the two saved apart
    processor.image_processor.save_pretrained(folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings.pop("processor_class")
    (folder / "tokenizer_config.json").write_text(json.dumps(settings), encoding="utf-8")
    explainer = load_explainer(str(folder))
    assert isinstance(explainer.adapter.processor, tuple)  # (image processor, tokenizer)
    assert type(explainer.tokenizer).__name__ == type(processor.tokenizer).__name__
    capture = explainer.capture(sample_picture(), text="the capital of france")
    ids = capture.texts[0].token_ids
    assert capture.texts[0].tokens == [processor.tokenizer.decode([i]).replace(" ", "␣") for i in ids]
