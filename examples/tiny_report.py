"""The report for a tiny model, with no network: a random 2-layer BERT written on the spot, then the
documented lines, then the same report through the command line.

    python examples/tiny_report.py [--kind bert|distilbert|roberta|gpt2] [--output report.html]

Needs PyTorch and transformers (pip install torch transformers). Every number in the report is a real
computation of the tiny model (random weights, not a trained model's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

TEXTS = ["Transformer models are powerful for language understanding.", "What is the capital of France?"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="bert", choices=["bert", "distilbert", "roberta", "gpt2"])
    parser.add_argument("--output", type=Path, default=Path("report.html"))
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)

    from transformers import AutoModel, AutoTokenizer

    from transformer_explainer.app.cli import main as cli
    from transformer_explainer import Explainer
    from transformer_explainer.tiny import save_tiny_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        save_tiny_checkpoint(folder, args.kind)  # where the Hub would give you "bert-base-uncased"

        # The library: the documented lines.
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder)
        inputs = tokenizer(TEXTS[0], return_tensors="pt")
        explainer = Explainer(model, tokenizer)
        capture = explainer.capture(inputs["input_ids"])
        print(f"{capture.n_layers} layers x {capture.n_heads} heads over {capture.n_tokens} tokens: {capture.tokens}")
        library_report = explainer.report(TEXTS, args.output.with_name(args.output.stem + "-library.html"))
        print(f"the library wrote {library_report}")

        # The command line: the same report.
        status = cli(["generate", "--model", folder, "--text", TEXTS[0], "--text", TEXTS[1],
                      "--output", str(args.output)])
    return status


if __name__ == "__main__":
    sys.exit(main())
