"""The generation loop both runtimes share: feed tokens, sample, feed the sample back.

A runtime supplies ``start(capacity)``, which returns a session whose ``feed(ids)`` runs the new
ids through the model (with its KV cache) and returns the last position's logits. The same
sampling code and the same seed give the same tokens whichever runtime computes the logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterator, Protocol

import numpy as np

from . import sampling
from .errors import PromptError


class DecodingSession(Protocol):
    def feed(self, ids: list[int]) -> np.ndarray: ...  # [pos] -> [V], the last position's logits


class AsyncDecodingSession(Protocol):
    async def afeed(self, ids: list[int]) -> np.ndarray: ...


@dataclass(frozen=True)
class GenerationStep:
    index: int  # 0 for the first new token
    token_id: int
    logits: np.ndarray  # [V]: the logits this token was drawn from

    def probabilities(self, temperature: float = 1.0, top_k=None, top_p=None) -> np.ndarray:
        return sampling.probabilities(self.logits, temperature, top_k, top_p)


def check_request(ids: list[int], n_ctx: int, max_new_tokens, temperature, top_k, top_p, seed=None) -> None:
    """Refuse, before any work, settings out of range and a generation that would overrun the context."""
    sampling.check_settings(temperature, top_k, top_p)
    sampling.check_seed(seed)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise PromptError(f"max_new_tokens must be a whole number >= 1, got {max_new_tokens!r}")
    if len(ids) + max_new_tokens > n_ctx:
        raise PromptError(f"{len(ids)} prompt tokens + {max_new_tokens} new tokens exceed the model's context "
                          f"of {n_ctx} tokens; generate at most {max(0, n_ctx - len(ids))}")


def generate(start_session: Callable[[int], DecodingSession], ids: list[int], n_ctx: int, max_new_tokens: int,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, stop_at: int | None = None) -> Iterator[GenerationStep]:
    """Check everything now, then return an iterator that yields one ``GenerationStep`` per new token.

    ``stop_at``: a token id (e.g. <|endoftext|>) after which generation ends early.
    """
    check_request(ids, n_ctx, max_new_tokens, temperature, top_k, top_p, seed)
    rng = sampling.rng_from_seed(seed)
    session = start_session(len(ids) + max_new_tokens)

    def steps() -> Iterator[GenerationStep]:
        logits = session.feed(list(ids))
        for index in range(max_new_tokens):
            token = sampling.next_token(logits, temperature, top_k, top_p, rng)
            yield GenerationStep(index, token, logits)
            if token == stop_at or index == max_new_tokens - 1:
                return
            logits = session.feed([token])

    return steps()


async def agenerate(start_session: Callable[[int], "AsyncDecodingSession"], ids: list[int], n_ctx: int,
                    max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                    top_p: float | None = None, seed: int | None = None,
                    stop_at: int | None = None) -> AsyncIterator[GenerationStep]:
    """``generate`` for an event loop (Pyodide, where the model answers through JavaScript promises):
    the same loop, awaiting each ``session.afeed``."""
    check_request(ids, n_ctx, max_new_tokens, temperature, top_k, top_p, seed)
    rng = sampling.rng_from_seed(seed)
    session = start_session(len(ids) + max_new_tokens)
    logits = await session.afeed(list(ids))
    for index in range(max_new_tokens):
        token = sampling.next_token(logits, temperature, top_k, top_p, rng)
        yield GenerationStep(index, token, logits)
        if token == stop_at or index == max_new_tokens - 1:
            return
        logits = await session.afeed([token])
