from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from gemma_serve.bench.datasets import ImageChat, SharedPrefixChat, SyntheticText
from gemma_serve.bench.lengths import FixedLength, UniformLength


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_synthetic_word_counts_and_output_lengths() -> None:
    ds = SyntheticText(input_len=UniformLength(low=5, high=9), output_len=FixedLength(value=3))
    reqs = ds.generate(50, rng())
    assert len(reqs) == 50
    for r in reqs:
        assert r.messages is None and r.prompt is not None
        assert len(r.prompt.split()) == r.input_words
        assert 5 <= r.input_words <= 9 and r.output_len == 3
    assert len({r.prompt for r in reqs}) == 50
    assert r.chat_messages() == [{"role": "user", "content": r.prompt}]


def test_synthetic_is_deterministic_per_seed() -> None:
    ds = SyntheticText()
    assert ds.generate(3, rng(1)) == ds.generate(3, rng(1))
    assert ds.generate(3, rng(1)) != ds.generate(3, rng(2))


def test_shared_prefix_structure() -> None:
    ds = SharedPrefixChat(
        num_prefixes=2,
        system_prompt_len=FixedLength(value=30),
        turns=3,
        user_len=FixedLength(value=4),
        output_len=FixedLength(value=5),
    )
    reqs = ds.generate(10, rng())  # 4 conversations, turn-major, last turn cut short
    assert len(reqs) == 10
    assert SharedPrefixChat.chat_only
    systems = {r.chat_messages()[0]["content"] for r in reqs}
    assert len(systems) == 2
    for r in reqs:
        msgs = r.chat_messages()
        assert msgs[0]["role"] == "system" and len(msgs[0]["content"].split()) == 30
        assert msgs[-1]["role"] == "user"
        assert [m["role"] for m in msgs[1:]] == ["user", "assistant"] * ((len(msgs) - 2) // 2) + [
            "user"
        ]
    # turn-major: 4 first turns, then 4 second turns, then 2 third turns
    assert [len(r.chat_messages()) for r in reqs] == [2] * 4 + [4] * 4 + [6] * 2
    # a later turn extends its own earlier turn, and conversations alternate prefixes
    assert reqs[4].chat_messages()[:2] == reqs[0].chat_messages()
    assert reqs[0].chat_messages()[0] != reqs[1].chat_messages()[0]
    assert reqs[0].chat_messages()[0] == reqs[2].chat_messages()[0]
    assert reqs[4].input_words == 30 + 4 + 5 + 4


def test_images_are_unique_pngs_of_the_requested_size() -> None:
    ds = ImageChat(images_per_request=2, width=64, height=48, input_len=FixedLength(value=6))
    reqs = ds.generate(3, rng())
    urls = []
    for r in reqs:
        (msg,) = r.chat_messages()
        parts = msg["content"]
        assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
        assert len(parts[2]["text"].split()) == 6
        for p in parts[:2]:
            url = p["image_url"]["url"]
            assert url.startswith("data:image/png;base64,")
            img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
            assert img.format == "PNG" and img.size == (64, 48)
            urls.append(url)
    assert len(set(urls)) == 6
