"""A preallocated key/value cache: each decode step attends to the keys and values kept from before."""

from __future__ import annotations

import numpy as np

from .errors import PromptError


class KVCache:
    def __init__(self, config, capacity: int):
        if not 0 < capacity <= config.n_ctx:
            raise PromptError(f"a KV cache holds 1 to {config.n_ctx} tokens (the context length), not {capacity}")
        shape = (config.n_layer, capacity, config.n_head, config.d_head)  # [layer, ctx, h, dh]
        self.keys = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.capacity = capacity
        self.length = 0  # tokens already cached

    def room(self) -> int:
        return self.capacity - self.length

    def layer(self, layer: int) -> "LayerCache":
        return LayerCache(self, layer)

    def advance(self, n_tokens: int) -> None:
        self.length += n_tokens


class LayerCache:
    """One layer's view of the cache during one forward call."""

    def __init__(self, cache: KVCache, layer: int):
        self.cache, self.layer_index = cache, layer

    def extend(self, k, v):  # [pos, h, dh] each -> the whole context so far, [ctx, h, dh] each
        start = self.cache.length
        stop = start + len(k)
        if stop > self.cache.capacity:
            raise PromptError(f"the KV cache is full: {start} cached + {len(k)} new tokens > {self.cache.capacity}")
        self.cache.keys[self.layer_index, start:stop] = k
        self.cache.values[self.layer_index, start:stop] = v
        return self.cache.keys[self.layer_index, :stop], self.cache.values[self.layer_index, :stop]
