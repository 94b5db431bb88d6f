"""The app's state, in one place: what the student chose, and what follows from it.

Widgets edit the first group; the second is derived here and only read by the views:

    prompt, ablated heads  ──trace (one forward pass)──▶  trace, logit lens
    trace + temperature, top-k, top-p, seed  ──sampling (no forward pass)──▶  probabilities, sampled token

The URL carries the first group, so a shared link restores exactly what a teacher sees.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
import param

from gpt2_core import GPT2CoreError, sampling

from .examples import EXAMPLE_PROMPTS
from .runtime import ModelRuntime

VIEWS = ["overview", "embedding", "block", "attention", "mlp", "output", "lens", "heads"]
ABLATION_PATTERN = re.compile(r"^\s*(\d+)\.(\d+)\s*$")
MAX_PROMPT_CHARACTERS = 20_000  # far beyond any context; stops pathological pastes before tokenizing


class ExplainerState(param.Parameterized):
    # -- chosen by the student (and carried by the URL) ---------------------------------------------
    prompt = param.String(default=EXAMPLE_PROMPTS[0], doc="the text GPT-2 continues")
    temperature = param.Number(default=0.8, bounds=(0, 10), step=0.05, doc="0 = always the most likely token")
    top_k = param.Integer(default=0, bounds=(0, None), doc="keep the k most likely tokens; 0 = all")
    top_p = param.Number(default=1.0, bounds=(0.01, 1.0), step=0.01, doc="keep the top tokens up to this mass")
    seed = param.Integer(default=42, doc="makes sampling repeatable")
    view = param.Selector(default="overview", objects=VIEWS, doc="the detail that is open")
    layer = param.Integer(default=0, bounds=(0, None))
    head = param.Integer(default=0, bounds=(0, None))
    position = param.Integer(default=-1, doc="the token the per-token views show; -1 = the last")
    ablated = param.String(default="", doc="silenced heads as 'layer.head' pairs, e.g. '0.3,5.1'")
    expanded = param.Boolean(default=False, doc="show every block in the overview")

    # -- derived (read-only for views) ----------------------------------------------------------------
    trace = param.Parameter(default=None, doc="the traced forward pass of the current prompt")
    lens_logits = param.Parameter(default=None, doc="[n_layer, V]: each block's next-token logits")
    probabilities = param.Parameter(default=None, doc="[V]: the distribution the next token is drawn from")
    sampled_id = param.Integer(default=0)
    error = param.String(default="", doc="what is wrong with the input, shown in the page; '' when all is well")
    generating = param.Boolean(default=False)
    status = param.String(default="")

    def __init__(self, runtime: ModelRuntime, **params):
        self.runtime = runtime
        config = runtime.config
        super().__init__(**params)
        self.param.layer.bounds = (0, config.n_layer - 1)
        self.param.head.bounds = (0, config.n_head - 1)
        self._stop_requested = False
        self.retrace()

    # -- derived values -----------------------------------------------------------------------------

    @property
    def ablated_heads(self) -> list[tuple[int, int]]:
        """The valid (layer, head) pairs of ``ablated``; anything else in it is reported, not silently used."""
        heads, config = [], self.runtime.config
        for item in filter(None, (part.strip() for part in self.ablated.split(","))):
            match = ABLATION_PATTERN.match(item)
            if match and int(match[1]) < config.n_layer and int(match[2]) < config.n_head:
                heads.append((int(match[1]), int(match[2])))
        return sorted(set(heads))

    def _invalid_ablations(self) -> list[str]:
        valid = {f"{layer}.{head}" for layer, head in self.ablated_heads}
        return [item for item in filter(None, (p.strip() for p in self.ablated.split(","))) if item not in valid]

    @property
    def token_count(self) -> int:
        return 0 if self.trace is None else self.trace.n_tokens

    @property
    def selected_position(self) -> int:
        """``position`` as an index into the current trace (the last token when -1 or out of range)."""
        n = self.token_count
        return self.position if 0 <= self.position < n else max(n - 1, 0)

    @param.depends("prompt", "ablated", watch=True)
    def retrace(self) -> None:
        """Tokenize and trace the prompt. Bad input sets ``error`` and keeps the last good trace on screen."""
        if len(self.prompt) > MAX_PROMPT_CHARACTERS:
            self.error = (f"The prompt has {len(self.prompt):,} characters; this model reads at most "
                          f"{self.runtime.config.n_ctx} tokens. Shorten it.")
            return
        try:
            ids = self.runtime.encode(self.prompt)
            trace = self.runtime.trace(ids, self.ablated_heads)
        except GPT2CoreError as error:
            self.error = str(error)
            return
        invalid = self._invalid_ablations()
        self.error = (f"Ignored ablation entries {', '.join(map(repr, invalid))}: each must be 'layer.head' with "
                      f"layer < {self.runtime.config.n_layer} and head < {self.runtime.config.n_head}." if invalid else "")
        probabilities, sampled = self._sample(trace)
        with param.parameterized.batch_call_watchers(self):  # the views hear of all four changes at once
            self.lens_logits = self.runtime.logit_lens(trace)
            self.trace = trace
            self.probabilities, self.sampled_id = probabilities, sampled

    @param.depends("temperature", "top_k", "top_p", "seed", watch=True)
    def resample(self) -> None:
        """The next-token distribution and the token drawn from it: sampling only, no forward pass."""
        if self.trace is None:
            return
        probabilities, sampled = self._sample(self.trace)
        with param.parameterized.batch_call_watchers(self):
            self.probabilities, self.sampled_id = probabilities, sampled

    def _sample(self, trace) -> tuple[np.ndarray, int]:
        probabilities = sampling.probabilities(trace.logits, **self.sampling_settings())
        if self.temperature == 0:
            return probabilities, int(np.argmax(probabilities))
        return probabilities, sampling.sample(probabilities, np.random.default_rng(self.seed))

    def sampling_settings(self) -> dict:
        return {"temperature": float(self.temperature), "top_k": int(self.top_k) or None,
                "top_p": None if self.top_p >= 1 else float(self.top_p)}

    # -- actions ------------------------------------------------------------------------------------

    def append_sampled_token(self) -> None:
        """'Next token': the highlighted token joins the prompt, and the new prompt is traced."""
        if self.trace is None or self.error:
            return
        self.prompt = self.prompt + self.runtime.decode([self.sampled_id])

    def toggle_ablation(self, layer: int, head: int) -> None:
        heads = set(self.ablated_heads)
        heads ^= {(int(layer), int(head))}
        self.ablated = ",".join(f"{l}.{h}" for l, h in sorted(heads))

    def stop(self) -> None:
        self._stop_requested = True

    async def generate(self, count: int) -> None:
        """Generate ``count`` tokens, showing each as it comes; the stop button ends it after the current
        token. One trace at the end (not one per token): the views then show the last step."""
        if self.generating or self.trace is None:
            return
        self._stop_requested = False
        self.generating = True
        ids = list(self.trace.token_ids)
        text = self.prompt
        room = self.runtime.config.n_ctx - len(ids)
        count = min(int(count), room)
        if count < 1:
            self.error = f"The prompt already fills the model's context of {self.runtime.config.n_ctx} tokens."
            self.generating = False
            return
        new_ids: list[int] = []
        try:
            steps = self.runtime.agenerate(ids, count, seed=self.seed, ablated=self.ablated_heads,
                                           **self.sampling_settings())
            async for step in steps:
                new_ids.append(step.token_id)
                self.status = f"Generated {len(new_ids)} of {count}: {self.runtime.decode(new_ids)!r}"
                await asyncio.sleep(0)  # let the page update and the stop button be heard
                if self._stop_requested:
                    break
        except GPT2CoreError as error:
            self.error = str(error)
        finally:
            self.generating = False
            self.status = f"Generated {len(new_ids)} token{'s' * (len(new_ids) != 1)}." if new_ids else ""
            if new_ids:
                self.prompt = text + self.runtime.decode(new_ids)
