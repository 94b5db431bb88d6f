"""Benchmark gpt2_core's NumPy pass against PyTorch eager (transformers) on GPT-2-small shapes.

One thread everywhere, random weights, medians of several runs; prints ratios measured in this run.
Goals (issue 2): run_with_trace at 64 tokens <= 0.7x PyTorch's forward; a KV-cache decode step at
context 64 <= 0.8x PyTorch's. Also prints the peak memory of a full trace at 64 tokens.

    python scripts/bench_core.py [--tokens 64] [--repeats 7]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import statistics
import tempfile
import time
import tracemalloc

import numpy as np


def median_seconds(function, repeats: int) -> float:
    function()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decode_step_seconds(feed_one, n_steps: int) -> float:
    """Median time of ``n_steps`` consecutive one-token decode steps (context grows by one each)."""
    times = []
    for step in range(n_steps):
        start = time.perf_counter()
        feed_one(step)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import torch
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    from transformer_explainer.gpt2_core import GPT2Config, load_model
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint

    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    config = GPT2Config()  # GPT-2 small: 12 layers, 12 heads, 768 wide, 50257 tokens
    with tempfile.TemporaryDirectory() as directory:
        write_random_checkpoint(directory, config, seed=0)
        ours = load_model(directory)
        theirs = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager").eval()

    rng = np.random.default_rng(0)
    ids = rng.integers(0, ours.tokenizer.vocab_size, args.tokens).tolist()
    print(f"GPT-2 small shapes, {args.tokens} tokens, 1 thread, median of {args.repeats} (numpy {np.__version__}, "
          f"torch {torch.__version__})")

    with torch.inference_mode():
        torch_ids = torch.tensor([ids])
        torch_forward = median_seconds(lambda: theirs(torch_ids), args.repeats)
        trace_time = median_seconds(lambda: ours.run_with_trace(ids), args.repeats)
        forward_time = median_seconds(lambda: ours.forward(ids), args.repeats)

        prefill = theirs(torch_ids, use_cache=True)
        past, next_id = prefill.past_key_values, torch.tensor([[1]])

        def torch_step(_):
            nonlocal past
            past = theirs(next_id, past_key_values=past, use_cache=True).past_key_values

        torch_decode = decode_step_seconds(torch_step, 3 * args.repeats)

    session = ours.start_session(args.tokens + 3 * args.repeats + 1)
    session.feed(ids)
    numpy_decode = decode_step_seconds(lambda _: session.feed([1]), 3 * args.repeats)

    tracemalloc.start()
    trace = ours.run_with_trace(ids)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rows = [
        ("PyTorch eager forward (all logits)", torch_forward, None),
        ("gpt2_core run_with_trace (every hook kept)", trace_time, torch_forward),
        ("gpt2_core forward (all logits)", forward_time, torch_forward),
        ("PyTorch eager KV decode step", torch_decode, None),
        ("gpt2_core KV decode step", numpy_decode, torch_decode),
    ]
    for label, seconds, reference in rows:
        ratio = f"  {seconds / reference:.2f}x PyTorch" if reference else ""
        print(f"{label:<46} {seconds * 1000:8.1f} ms{ratio}")
    print(f"run_with_trace goal <= 0.70x: {'met' if trace_time / torch_forward <= 0.7 else 'MISSED'}; "
          f"decode goal <= 0.80x: {'met' if numpy_decode / torch_decode <= 0.8 else 'MISSED'}")
    print(f"trace at {args.tokens} tokens: {len(trace.names)} arrays, {trace.nbytes() / 2**20:.1f} MiB kept, "
          f"peak allocation during the pass {peak / 2**20:.1f} MiB (tracemalloc)")


if __name__ == "__main__":
    main()
