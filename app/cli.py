"""``transformer-explainer``: serve the app, or use GPT-2's internals from the command line.

    transformer-explainer serve [--model ID_OR_DIR] [--port 5006] [--show]
    transformer-explainer predict "The capital of France is" [--top 10]
    transformer-explainer trace "The capital of France is" --out trace.npz
    transformer-explainer report "The capital of France is" --out report.html
    transformer-explainer generate --model bert-base-uncased --text "What is the capital?" --output report.html
    transformer-explainer generate --model google/vit-base-patch16-224 --image cat.png --output report.html
    transformer-explainer generate --model openai/clip-vit-base-patch32 --image cat.png --text "a cat" --text "a dog" \
        --output report.html
    transformer-explainer demo-model ./tiny-gpt2
    transformer-explainer build [--model ID_OR_DIR] [--out dist] [--pyodide-dir DIR]   (the static site; see build.py)
    transformer-explainer build serve [--out dist] [--port 8000]

Every error is one line on stderr saying what to do, with exit status 2: a bad option (checked before
anything loads), an output folder that is missing or not writable, a port that is taken.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from transformer_explainer.gpt2_core import DEFAULT_MODEL, GPT2CoreError
from transformer_explainer.gpt2_core.sampling import SEED_LIMIT
from transformer_explainer.viz.i18n import LANGUAGES

MODEL_HELP = (f"a Hugging Face id ({DEFAULT_MODEL}, distilgpt2, gpt2-medium, ...), a local checkpoint directory, "
              f"or 'demo' for a tiny random model that needs no download")


class CommandError(Exception):
    """A command cannot run as given (an output path, say); reported as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and where to find the options) instead of the usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type: an integer from ``minimum`` (to ``maximum``)."""
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {value}")
        return value
    return parse


def temperature(text: str) -> float:
    """An argparse type: a finite number >= 0 (0 = always the most likely token)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0 (0 = always the most likely token), got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["build"]:  # build.py has its own options; it is handed the rest as it is
        return run_build(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # a bad option (already reported on one line), or --help
        return exit.code if isinstance(exit.code, int) else 2
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("transformer_explainer.app", "transformer_explainer.gpt2_core"):  # ours only: libraries keep theirs
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    try:
        return args.run(args) or 0
    except (GPT2CoreError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="transformer-explainer", description="See how GPT-2 works from the inside.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the explainer app in a browser (Panel server)")
    serve.add_argument("--model", default=None, help=MODEL_HELP + f" (default: {DEFAULT_MODEL}, or the demo model "
                                                                  f"with a notice when it cannot be downloaded)")
    serve.add_argument("--revision", default=None, help="a branch, tag or commit of the Hub repository")
    serve.add_argument("--port", type=whole_number(1, 65535), default=5006)
    serve.add_argument("--address", default="127.0.0.1", help="0.0.0.0 to let other machines (a classroom) connect")
    serve.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
                       help="extra origins allowed to connect (needed with --address 0.0.0.0)")
    serve.add_argument("--show", action="store_true", help="open the app in the default web browser")
    serve.add_argument("--onnx", action="store_true",
                       help="generate through ONNX Runtime (needs onnx and onnxruntime). In CPython it is no faster "
                            "than the NumPy model (both ~26 ms/token for GPT-2 small on one core) and holds a second "
                            "copy of the weights, so it is off by default; in the browser it is the fast path")
    serve.add_argument("--verbose", action="store_true")
    serve.set_defaults(run=run_serve)

    predict = commands.add_parser("predict", help="print the tokens of a prompt and the most likely next tokens")
    add_model_arguments(predict)
    predict.add_argument("prompt")
    predict.add_argument("--top", type=whole_number(1), default=10, help="how many candidates to print")
    predict.add_argument("--temperature", type=temperature, default=1.0, help="0 = always the most likely token")
    predict.set_defaults(run=run_predict)

    trace = commands.add_parser("trace", help="save every intermediate value of a forward pass to a .npz file")
    add_model_arguments(trace)
    trace.add_argument("prompt")
    trace.add_argument("--out", required=True, type=Path)
    trace.add_argument("--float16", action="store_true", help="half the size, about 3 significant digits")
    trace.set_defaults(run=run_trace)

    report = commands.add_parser("report", help="write a standalone HTML report of one forward pass")
    add_model_arguments(report)
    report.add_argument("prompt")
    report.add_argument("--out", required=True, type=Path)
    report.add_argument("--layer", type=whole_number(0), default=0, help="the layer to show, from 0")
    report.add_argument("--head", type=whole_number(0), default=0, help="the head to show, from 0")
    report.add_argument("--temperature", type=temperature, default=1.0, help="0 = always the most likely token")
    report.add_argument("--lang", choices=sorted(LANGUAGES), default="en", help="the report's language (zh: Chinese)")
    report.set_defaults(run=run_report)

    generate = commands.add_parser(
        "generate", help="write a standalone HTML report of any Hugging Face model's attention and hidden states")
    generate.add_argument("--model", required=True, metavar="NAME_OR_DIR",
                          help="a Hugging Face id (bert-base-uncased, openai-community/gpt2, distilbert-base-uncased, "
                               "...), a folder written by save_pretrained, or 'demo' for a tiny random GPT-2")
    generate.add_argument("--revision", default=None, help="a branch, tag or commit of the Hub repository")
    generate.add_argument("--text", action="append", default=[],
                          help="a text to show (repeat for several); with --image: CLIP's prompts, compared with the "
                               "image, or the text a vision-to-text model's decoder reads (none: its own caption)")
    generate.add_argument("--text-file", type=Path, default=None,
                          help="a UTF-8 file with one text per line (blank lines skipped): one section each")
    generate.add_argument("--image", action="append", default=[], type=Path, metavar="FILE",
                          help="an image file (PNG, JPEG, ...) for an image model (ViT, DeiT, CLIP, a vision "
                               "encoder-decoder): one section each (repeat for several)")
    generate.add_argument("--output", required=True, type=Path, help="the .html file to write")
    generate.set_defaults(run=run_generate)

    commands.add_parser("build", help="build the static site (Pyodide in the browser): see `build --help`",
                        add_help=False)

    demo = commands.add_parser("demo-model", help="write a small random GPT-2 checkpoint (for tests and offline demos)")
    demo.add_argument("directory", type=Path)
    demo.add_argument("--seed", type=whole_number(0, SEED_LIMIT - 1), default=0)
    demo.set_defaults(run=run_demo_model)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    parser.add_argument("--revision", default=None, help="a branch, tag or commit of the Hub repository")


def load(args):
    from transformer_explainer.gpt2_core import load_model
    from transformer_explainer.gpt2_core.demo import DEMO_MODEL, demo_model
    return demo_model() if args.model == DEMO_MODEL else load_model(args.model, revision=args.revision)


def run_predict(args) -> None:
    from transformer_explainer.gpt2_core import sampling
    import numpy as np

    model = load(args)
    trace = model.run_with_trace(args.prompt)
    probabilities = sampling.probabilities(trace.logits, args.temperature)
    print(f"{model!r}")
    print(f"{trace.n_tokens} tokens: " + " ".join(f"[{token}]" for token in trace.tokens))
    print(f"next token (temperature {args.temperature}):")
    for rank, token_id in enumerate(np.argsort(-probabilities)[:args.top], start=1):
        print(f"{rank:>4}. {model.tokenizer.display(token_id):<20} id {token_id:<6} "
              f"logit {trace.logits[token_id]:9.3f}  p = {probabilities[token_id]:.4f}")


def check_output_file(path: Path, example: str, option: str = "--out") -> None:
    """Refuse, before the model loads, an output file (``option``) that cannot be written."""
    if path.is_dir():
        raise CommandError(f"{option} {path} is a folder: give a file name in it, e.g. {path / example}")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: the folder {folder} does not exist; create it first, or choose "
                           f"another {option}")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write {path}: the folder {folder} is not writable; choose another {option}")


def cannot_write(path: Path, error: OSError, option: str) -> CommandError:
    return CommandError(f"cannot write {path}: {error.strerror or error}; choose another {option}")


def run_trace(args) -> None:
    check_output_file(args.out, "trace.npz")
    model = load(args)
    trace = model.run_with_trace(args.prompt, head_results=True)
    try:
        path = trace.save(args.out, float16=args.float16)
    except OSError as error:
        raise cannot_write(args.out, error, "--out") from None
    print(f"saved {len(trace.names)} arrays for {trace.n_tokens} tokens to {path} ({path.stat().st_size:,} bytes)")


def run_report(args) -> None:
    from transformer_explainer.app.report import write_report

    check_output_file(args.out, "report.html")
    model = load(args)
    try:
        path = write_report(model, args.prompt, args.out, layer=args.layer, head=args.head,
                            temperature=args.temperature, lang=args.lang)
    except OSError as error:
        raise cannot_write(args.out, error, "--out") from None
    print(f"wrote {path}")


def generate_texts(args, required: bool = True) -> list[str]:
    """The texts of ``generate``: each --text, then each non-blank line of --text-file (``required``: at least
    one)."""
    texts = list(args.text)
    if args.text_file is not None:
        try:
            lines = args.text_file.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise CommandError(f"cannot read --text-file {args.text_file}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise CommandError(f"--text-file {args.text_file} is not UTF-8 text") from None
        from_file = [line for line in lines if line.strip()]
        if not from_file:
            raise CommandError(f"--text-file {args.text_file} holds no text (one text per line)")
        texts += from_file
    if not texts and required:
        raise CommandError("give a text to show: --text \"...\" or --text-file FILE")
    empty = next((i for i, text in enumerate(texts) if not text.strip()), None)
    if empty is not None:
        raise CommandError(f"text {empty + 1} is empty: give at least one character")
    return texts


def check_images(images: list[Path]) -> None:
    """Refuse, before the model loads, an --image that is not a file."""
    for image in images:
        if image.is_dir():
            raise CommandError(f"--image {image} is a folder: give an image file (PNG, JPEG, ...)")
        if not image.is_file():
            raise CommandError(f"--image {image}: there is no such file")


def check_generate_inputs(explainer, args, texts: list[str]) -> None:
    """The inputs fit the model: images for an image model, text for a text model, text with an image only where
    the model reads both."""
    name = explainer.name
    if not args.image:
        if explainer.reads_images:
            raise CommandError(f"{name} reads images: give one with --image FILE")
        return
    kind = getattr(explainer.adapter, "kind", "text")
    if kind == "text":
        raise CommandError(f"{name} reads text, not images: --image is for image models (ViT, DeiT, CLIP, a vision "
                           f"encoder-decoder)")
    if kind == "image" and texts:
        raise CommandError(f"{name} reads images only: --text goes with --image for CLIP and vision-to-text models")
    if kind == "image-to-text" and len(texts) > 1:
        raise CommandError(f"{name}'s decoder reads one text: give one --text (or none, and it writes its own "
                           f"caption)")


def run_generate(args) -> None:
    from transformer_explainer import ExplainerError
    from transformer_explainer.loading import load_explainer

    check_output_file(args.output, "report.html", "--output")
    check_images(args.image)
    texts = generate_texts(args, required=not args.image)
    try:
        explainer = load_explainer(args.model, args.revision)
        check_generate_inputs(explainer, args, texts)
        if args.image:
            text = texts[0] if len(texts) == 1 and explainer.adapter.kind == "image-to-text" else texts or None
            path = explainer.report(list(args.image), args.output, text=text, progress=None)
        else:
            path = explainer.report(texts, args.output, progress=None)
    except ExplainerError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise cannot_write(args.output, error, "--output") from None
    inputs = args.image or texts
    what = "image" if args.image else "text"
    sections = f"1 {what}" if len(inputs) == 1 else f"{len(inputs)} {what}s"
    print(f"wrote {path} ({sections}, {path.stat().st_size:,} bytes): open it in a browser, no network needed")


def run_demo_model(args) -> None:
    from transformer_explainer.gpt2_core.demo import DEMO_CONFIG, write_demo_checkpoint

    directory = args.directory
    if directory.exists() and not directory.is_dir():
        raise CommandError(f"{directory} is a file, not a folder: choose a folder to write the demo model into")
    try:
        path = write_demo_checkpoint(directory, seed=args.seed)
    except OSError as error:
        raise CommandError(f"cannot write the demo model to {directory}: {error.strerror or error}"
                           + (f" ({error.filename})" if error.filename and str(error.filename) != str(directory) else "")
                           + "; choose a folder you can write to") from None
    print(f"wrote a random GPT-2 ({DEMO_CONFIG.n_layer} layers, {DEMO_CONFIG.n_head} heads, {DEMO_CONFIG.n_embd} "
          f"wide) to {path}")


def run_build(argv: list[str]) -> int:
    """``build.py`` of the clone this package runs from: the static site needs its assets/ (onnxruntime-web,
    the page's scripts), which a clone has and an installed wheel does not."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "build.py"
    if not script.is_file() or not (script.parent / "assets" / "site").is_dir():
        print("error: building the static site needs a clone of the repository (build.py and assets/): clone it, "
              "run `npm ci --prefix assets`, then `python build.py` there", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("transformer_explainer_build", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.main(argv)


def run_serve(args) -> None:
    from transformer_explainer.app.server import ServeError, serve

    try:
        serve(model=args.model, revision=args.revision, port=args.port, address=args.address, show=args.show,
              use_onnx=args.onnx, websocket_origins=args.allow_websocket_origin)
    except ServeError as error:
        raise CommandError(str(error)) from None


if __name__ == "__main__":
    sys.exit(main())
