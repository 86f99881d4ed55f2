"""Multi-turn chats whose long system prompts are shared by many requests.

This is the load a prefix cache (and prefix-aware routing) is built for: a few
system prompts, many conversations on each, every turn resending the history.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from gemma_serve.bench.datasets.base import BenchRequest, DatasetBase
from gemma_serve.bench.datasets.words import random_text
from gemma_serve.bench.lengths import FixedLength, LengthDist


class SharedPrefixChat(DatasetBase):
    """Conversations on `num_prefixes` shared system prompts, `turns` requests each.

    Request order is turn-major (every conversation's first turn, then every
    second turn, ...), so a later turn always follows the turn it extends.
    Assistant turns in the history are synthetic text of the output length.
    """

    chat_only = True

    kind: Literal["shared_prefix_chat"] = Field(
        default="shared_prefix_chat", description="Dataset tag."
    )
    num_prefixes: int = Field(default=4, ge=1, description="Distinct system prompts.")
    system_prompt_len: LengthDist = Field(
        default_factory=lambda: FixedLength(value=1000),
        description="System prompt length in words.",
    )
    turns: int = Field(
        default=1, ge=1, description="User turns per conversation (each one request)."
    )
    user_len: LengthDist = Field(
        default_factory=lambda: FixedLength(value=50),
        description="Length of each user message in words.",
    )

    def generate(self, n: int, rng: np.random.Generator) -> list[BenchRequest]:
        prefix_lens = self.system_prompt_len.sample(self.num_prefixes, rng)
        prefixes = [random_text(k, rng) for k in prefix_lens]
        conversations = -(-n // self.turns)
        requests: list[BenchRequest] = []
        histories: list[list[dict[str, Any]]] = []
        words: list[int] = []
        for c in range(conversations):
            g = c % self.num_prefixes
            histories.append([{"role": "system", "content": prefixes[g]}])
            words.append(prefix_lens[g])
        for _turn in range(self.turns):
            for c in range(conversations):
                if len(requests) == n:
                    return requests
                user_words = self.user_len.sample(1, rng)[0]
                out = self.output_len.sample(1, rng)[0]
                histories[c].append({"role": "user", "content": random_text(user_words, rng)})
                words[c] += user_words
                requests.append(
                    BenchRequest(output_len=out, messages=list(histories[c]), input_words=words[c])
                )
                histories[c].append({"role": "assistant", "content": random_text(out, rng)})
                words[c] += out
        return requests
