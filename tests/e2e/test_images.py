"""Images through the whole stack: the tiny Gemma 3 image model on the real vLLM CPU engine.

Token counts are checked against transformers' own Gemma3Processor on the same
checkpoint: each image becomes `\\n\\n<start_of_image>` + 16 soft tokens +
`<end_of_image>\\n\\n` (256 soft tokens on a real 4B).
"""

from __future__ import annotations

import base64
import io
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from tests.stack import ROOT, Stack

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-tiny-mm"
RAW_PROMPT = "<start_of_image> in this image, there is"  # the model card's pipeline prompt


def encode(fmt: str, size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, random.Random(1).randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def data_url(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def user(*urls: str, text: str = "Describe this image.") -> Any:
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def client(tiny_mm_stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=tiny_mm_stack.base_url, api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def processor(tiny_mm_checkpoint: Path) -> Any:
    """transformers' Gemma3Processor: the independent count of image tokens."""
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_mm_checkpoint)


def hf_chat_tokens(processor: Any, images: list[bytes], text: str) -> int:
    content = [{"type": "image"} for _ in images] + [{"type": "text", "text": text}]
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
    )
    pil = [Image.open(io.BytesIO(b)) for b in images]
    out = processor(text=prompt, images=pil or None, add_special_tokens=False)
    return len(out["input_ids"][0])


def test_chat_with_one_image_counts_its_tokens(client: openai.OpenAI, processor: Any) -> None:
    png = encode("PNG")
    out = client.chat.completions.create(
        model=MODEL,
        messages=user(data_url(png)),
        max_tokens=8,
        temperature=0,
    )
    text_only = client.chat.completions.create(
        model=MODEL,
        messages=user(),
        max_tokens=8,
        temperature=0,
    )
    assert out.usage is not None and text_only.usage is not None
    assert out.usage.prompt_tokens == hf_chat_tokens(processor, [png], "Describe this image.")
    # 16 soft tokens + <end_of_image> + the "\n\n" either side of the image
    assert out.usage.prompt_tokens - text_only.usage.prompt_tokens == 16 + 3
    assert out.usage.completion_tokens == 8 and out.choices[0].message.content is not None


def test_chat_with_two_images_jpeg_and_webp(client: openai.OpenAI, processor: Any) -> None:
    jpeg, webp = encode("JPEG", (120, 80)), encode("WEBP", (50, 90))
    messages = user(data_url(jpeg, "image/jpeg"), data_url(webp, "image/webp"), text="Compare.")
    out = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=4,
        temperature=0,
    )
    assert out.usage is not None
    assert out.usage.prompt_tokens == hf_chat_tokens(processor, [jpeg, webp], "Compare.")
    assert out.usage.prompt_tokens == hf_chat_tokens(processor, [], "Compare.") + 2 * 19


def test_streaming_chat_with_an_image_reports_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=user(data_url(encode("PNG"))), max_tokens=6,
            temperature=0, stream=True, stream_options={"include_usage": True},
        )
    )  # fmt: skip
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 6 and usage.prompt_tokens > 19


def test_raw_prompt_completion_with_an_image(client: openai.OpenAI, processor: Any) -> None:
    """The model card's image-text-to-text pipeline example, over HTTP."""
    png = encode("PNG", (300, 200))
    out = client.completions.create(
        model=MODEL, prompt=RAW_PROMPT, max_tokens=8, temperature=0,
        extra_body={"images": [data_url(png)]},
    )  # fmt: skip
    expected = processor(text=RAW_PROMPT, images=[Image.open(io.BytesIO(png))])["input_ids"][0]
    assert out.object == "text_completion" and out.usage is not None
    assert out.usage.prompt_tokens == len(expected) == 8 + 19  # <bos> + 7 prompt tokens + image
    assert out.usage.completion_tokens == 8 and isinstance(out.choices[0].text, str)


def test_raw_prompt_completion_streams(client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(
            model=MODEL, prompt=RAW_PROMPT, max_tokens=5, temperature=0, stream=True,
            stream_options={"include_usage": True},
            extra_body={"images": [data_url(encode("PNG"))]},
        )
    )  # fmt: skip
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens == 27 and usage.completion_tokens == 5


def test_raw_prompt_completion_errors_stay_vllms(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.completions.create(
            model="no-such-model", prompt=RAW_PROMPT, max_tokens=4,
            extra_body={"images": [data_url(encode("PNG"))]},
        )  # fmt: skip


class _Host(BaseHTTPRequestHandler):
    png = encode("PNG", (80, 80))

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/cat.png" else 404)
        self.send_header("content-length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_host() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def test_allowed_remote_image_is_fetched(client: openai.OpenAI, image_host: int) -> None:
    url = f"http://127.0.0.1:{image_host}/cat.png"
    out = client.chat.completions.create(
        model=MODEL,
        messages=user(url),
        max_tokens=4,
        temperature=0,
    )
    local = client.chat.completions.create(
        model=MODEL,
        messages=user(data_url(_Host.png)),
        max_tokens=4,
        temperature=0,
    )
    assert out.usage is not None and local.usage is not None
    assert out.usage.prompt_tokens == local.usage.prompt_tokens
    assert out.choices[0].message.content == local.choices[0].message.content  # same pixels


def _bad_cases(port: int) -> list[tuple[str, dict[str, Any], str]]:
    png = encode("PNG", noise=True)
    corrupt = bytearray(png)
    corrupt[60] ^= 0xFF
    chat = "/chat/completions"
    return [
        (chat, {"messages": user(data_url(b"hello, not an image" * 8))}, "not an image"),
        (chat, {"messages": user(data_url(png[: len(png) // 2]))}, "truncated or corrupt"),
        (chat, {"messages": user(data_url(bytes(corrupt)))}, "truncated or corrupt"),
        (chat, {"messages": user(data_url(encode("GIF"), "image/gif"))}, "format GIF"),
        (chat, {"messages": user(data_url(encode("BMP"), "image/bmp"))}, "format BMP"),
        (chat, {"messages": user(data_url(encode("PNG", (7000, 6000))))}, "pixels, over the limit"),
        (
            chat,
            {"messages": user(data_url(encode("PNG", (2000, 1800), noise=True)))},
            "bytes, over",
        ),
        (chat, {"messages": user(*[data_url(encode("PNG"))] * 3)}, "3 images sent"),
        (chat, {"messages": user("https://example.com/cat.png")}, "'example.com' is not allowed"),
        (chat, {"messages": user(f"http://127.0.0.1:{port}/nope.png")}, "HTTP 404"),
        ("/completions", {"prompt": "no placeholder", "images": [data_url(png)]}, "has 0"),
        ("/completions", {"prompt": RAW_PROMPT, "images": [data_url(b"GIF89a")]}, "not an image"),
    ]


def test_each_bad_image_gets_a_400_and_the_server_stays_healthy(
    tiny_mm_stack: Stack, client: openai.OpenAI, image_host: int
) -> None:
    good = user(data_url(encode("PNG")))
    with httpx.Client(base_url=tiny_mm_stack.base_url, timeout=120) as http:
        for path, body, words in _bad_cases(image_host):
            response = http.post(path, json={"model": MODEL, "max_tokens": 4, **body})
            assert response.status_code == 400, (words, response.text)
            assert words in response.json()["error"]["message"], response.text
            ok = client.chat.completions.create(model=MODEL, messages=good, max_tokens=2)
            assert ok.usage is not None and ok.usage.prompt_tokens > 19
        assert httpx.get(tiny_mm_stack.url + "/health", timeout=10).status_code == 200


def test_text_only_variant_refuses_images(default_stack: Stack) -> None:
    image = data_url(encode("PNG"))
    with httpx.Client(base_url=default_stack.base_url, headers=default_stack.headers) as http:
        body = {"model": "gemma-3-270m", "messages": user(image), "max_tokens": 4}
        response = http.post("/chat/completions", json=body, timeout=60)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "images_not_supported"
        raw = {"model": "gemma-3-270m", "prompt": RAW_PROMPT, "images": [image]}
        response = http.post("/completions", json=raw, timeout=60)
        assert response.status_code == 400 and "text-only" in response.json()["error"]["message"]
        ok = http.post("/completions", json={"model": "gemma-3-270m", "prompt": "Hi"}, timeout=60)
        assert ok.status_code == 200, ok.text


def test_the_examples_run_against_the_server(tiny_mm_stack: Stack, tmp_path: Path) -> None:
    image = tmp_path / "bee.jpg"
    image.write_bytes(encode("JPEG", (200, 150)))
    common = ["--base-url", tiny_mm_stack.base_url, "--model", MODEL, "--image", str(image)]
    for script, extra, expect in [
        ("image_pipeline.py", ["--max-new-tokens", "6"], "'input_text': '<start_of_image> in"),
        ("chat_local_image.py", ["--max-tokens", "6"], "completion tokens: 6"),
    ]:
        run = subprocess.run(
            [sys.executable, str(ROOT / "examples" / script), *common, *extra],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert expect in run.stdout, run.stdout
