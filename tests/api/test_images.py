"""The image edge middleware, in front of a recording ASGI app (no engine needed)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from gemma_serve.api.errors import ErrorEdge
from gemma_serve.api.images import ImageGuard, ImagePolicy, inspect_image
from gemma_serve.config.loader import load_config
from gemma_serve.config.models import MultimodalConfig
from gemma_serve.planner import HostFacts, plan_deployment

TINY_YAML = Path(__file__).resolve().parents[1] / "e2e" / "tiny_mm.yaml"


def encode(fmt: str, size: tuple[int, int] = (40, 30), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    if noise:
        image = Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def data_url(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def chat(*urls: str, text: str = "What is in this image?") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"model": "m", "messages": [{"role": "user", "content": parts}]}


class Recorder:
    """The app behind the middleware: remembers what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[bytes, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.headers.append(dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def policy(accepts: bool = True, **limits: Any) -> ImagePolicy:
    config = MultimodalConfig(**{"max_images_per_prompt": 2, **limits})
    return ImagePolicy("m", accepts, config.max_images_per_prompt or 0, config)


def post(
    pol: ImagePolicy, payload: Any, path: str = "/v1/chat/completions", raw: bytes | None = None
) -> tuple[httpx.Response, Recorder]:
    recorder = Recorder()
    app: Any = ErrorEdge(ImageGuard(recorder, policy=pol))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = raw if raw is not None else json.dumps(payload).encode()
            return await client.post(
                path, content=body, headers={"content-type": "application/json"}
            )

    return asyncio.run(go()), recorder


def rejected(response: httpx.Response, words: str, error_type: str = "invalid_image") -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == error_type and error["code"] == 400
    assert words in error["message"], error["message"]


def test_text_requests_reach_vllm_byte_for_byte() -> None:
    raw = b'{"model":"m","messages":[{"role":"user","content":"hi \\u00e9t\\u00e9"}]}'
    response, rec = post(policy(), None, raw=raw)
    assert response.status_code == 200 and rec.bodies == [raw]


@pytest.mark.parametrize(
    ("fmt", "media"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_good_images_pass_unchanged(fmt: str, media: str) -> None:
    raw = json.dumps(chat(data_url(encode(fmt), media), data_url(encode(fmt), media))).encode()
    response, rec = post(policy(), None, raw=raw)
    assert response.status_code == 200, response.text
    assert rec.bodies == [raw]


def test_text_only_variant_refuses_images() -> None:
    response, rec = post(policy(accepts=False), chat(data_url(encode("PNG"))))
    rejected(response, "text-only", "images_not_supported")
    assert rec.bodies == []


def test_zero_images_allowed_disables_them() -> None:
    response, _ = post(policy(max_images_per_prompt=0), chat(data_url(encode("PNG"))))
    rejected(response, "disabled", "images_not_supported")


def test_more_images_than_allowed() -> None:
    response, _ = post(policy(), chat(*[data_url(encode("PNG"))] * 3))
    rejected(response, "3 images sent; model m takes at most 2")


def test_bytes_that_are_not_an_image() -> None:
    response, _ = post(policy(), chat(data_url(b"this is plain text, not pixels" * 10)))
    rejected(response, "not an image")


def test_truncated_and_corrupt_images() -> None:
    png, jpeg = encode("PNG", noise=True), encode("JPEG", (64, 64), noise=True)
    crc = bytearray(png)
    crc[60] ^= 0xFF  # inside the first chunk after the header: checksum no longer matches
    for bad in (png[: len(png) // 2], jpeg[: len(jpeg) // 2], bytes(crc)):
        response, _ = post(policy(), chat(data_url(bad)))
        rejected(response, "truncated or corrupt")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_unsupported_formats(fmt: str) -> None:
    response, _ = post(policy(), chat(data_url(encode(fmt), f"image/{fmt.lower()}")))
    rejected(response, f"unsupported image format {fmt}; send PNG, JPEG, WebP")


def test_oversized_bytes_and_pixels() -> None:
    big = encode("PNG", (300, 300), noise=True)
    response, _ = post(policy(max_image_bytes=100_000), chat(data_url(big)))
    rejected(response, "over the limit of 100000 bytes")
    response, _ = post(policy(max_image_pixels=10_000), chat(data_url(encode("PNG", (200, 100)))))
    rejected(response, "200x100 = 20000 pixels, over the limit of 10000")


def test_bad_data_urls() -> None:
    for url, words in [
        ("data:image/png;base64,@@@@", "not valid base64"),
        ("data:image/png,rawbytes", "data:image/png;base64,<data>"),
        (data_url(encode("PNG"), "text/plain"), "'text/plain' is not image/*"),
        ("file:///etc/passwd", "must be data: URLs"),
    ]:
        response, _ = post(policy(), chat(url))
        rejected(response, words)


def test_escaped_or_utf16_json_cannot_hide_an_image() -> None:
    bad = data_url(b"not an image at all")
    escaped = json.dumps(chat(bad)).replace('"image_url"', '"\\u0069mage_url"').encode()
    assert b"image_url" not in escaped
    response, _ = post(policy(), None, raw=escaped)
    rejected(response, "not an image")
    response, _ = post(policy(), None, raw=json.dumps(chat(bad)).encode("utf-16"))
    rejected(response, "not an image")


def test_images_on_other_endpoints_are_refused() -> None:
    payload = {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}
    response, _ = post(policy(), payload, path="/v1/responses")
    rejected(response, "accepted only on /v1/chat/completions and /v1/completions")
    response, _ = post(policy(accepts=False), payload, path="/v1/chat/completions/batch")
    rejected(response, "text-only", "images_not_supported")


def test_unsupported_part_shapes() -> None:
    payload = chat()
    payload["messages"][0]["content"].append({"type": "image_embeds", "image_embeds": "AAAA"})
    response, _ = post(policy(), payload)
    rejected(response, "unsupported image content part 'image_embeds'")


def test_completions_with_images_are_checked_before_the_engine() -> None:
    good = data_url(encode("PNG"))
    cases: list[tuple[ImagePolicy, dict[str, Any], str]] = [
        (policy(accepts=False), {"prompt": "<start_of_image> x", "images": [good]}, "text-only"),
        (policy(), {"prompt": "no placeholder", "images": [good]}, "has 0 <start_of_image> for 1"),
        (policy(), {"prompt": ["a", "b"], "images": [good]}, '"prompt" must be one string'),
        (policy(), {"prompt": "<start_of_image>", "images": [{"url": good}]}, '"images" must be'),
        (policy(), {"prompt": "<start_of_image>", "images": [data_url(b"GIF")]}, "not an image"),
    ]
    for pol, payload, words in cases:
        response, rec = post(pol, {"model": "m", **payload}, path="/v1/completions")
        assert response.status_code == 400 and words in response.json()["error"]["message"]
        assert rec.bodies == []


def test_completions_without_images_pass_through() -> None:
    raw = b'{"model":"m","prompt":"describe the image","images":[]}'
    response, rec = post(policy(), None, path="/v1/completions", raw=raw)
    assert response.status_code == 200 and rec.bodies == [raw]


class _ImageHost(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, float]] = {}

    def do_GET(self) -> None:
        status, body, delay = self.routes.get(self.path, (404, b"", 0.0))
        time.sleep(delay)
        self.send_response(status)
        if status == 302:
            self.send_header("location", "http://example.com/x.png")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_remote_urls_are_off_by_default(image_host: str) -> None:
    response, _ = post(policy(), chat(image_host + "/ok.png"))
    rejected(response, "remote image URLs are off")
    response, _ = post(policy(allowed_media_domains=["images.example"]), chat(image_host + "/a"))
    rejected(response, "image host '127.0.0.1' is not allowed")


def test_allowed_remote_image_is_fetched_checked_and_inlined(image_host: str) -> None:
    png = encode("PNG")
    _ImageHost.routes.update(
        {
            "/ok.png": (200, png, 0.0),
            "/big.png": (200, encode("PNG", (300, 300), noise=True), 0.0),
            "/slow.png": (200, png, 3.0),
            "/moved.png": (302, b"", 0.0),
            "/gif": (200, encode("GIF"), 0.0),
        }
    )
    pol = policy(allowed_media_domains=["127.0.0.1"], max_image_bytes=100_000, fetch_timeout_s=1)
    response, rec = post(pol, chat(image_host + "/ok.png"))
    assert response.status_code == 200, response.text
    forwarded = json.loads(rec.bodies[0])
    assert forwarded["messages"][0]["content"][1]["image_url"]["url"] == data_url(png)
    assert rec.headers[0][b"content-length"] == str(len(rec.bodies[0])).encode()
    for path, words in [
        ("/big.png", "over the limit of 100000 bytes"),
        ("/slow.png", "took over 1 s"),
        ("/moved.png", "HTTP 302"),
        ("/missing.png", "HTTP 404"),
        ("/gif", "unsupported image format GIF"),
    ]:
        response, _ = post(pol, chat(image_host + path))
        rejected(response, words)


def test_inspect_image_returns_the_decoded_image() -> None:
    image = inspect_image(encode("WEBP", (33, 21)), MultimodalConfig())
    assert image.size == (33, 21) and image.format == "WEBP"


def test_policy_from_the_planner() -> None:
    host = HostFacts(cores_per_node=2)
    text_only = plan_deployment(load_config(None), host).models[0]
    assert not ImagePolicy.from_plan(text_only).has_vision
    tiny = load_config(TINY_YAML, overrides=["models.0.source=/nonexistent"])
    pol = ImagePolicy.from_plan(plan_deployment(tiny, host).models[0])
    assert pol.has_vision and pol.model == "gemma-3-tiny-mm"
    assert pol.per_prompt == 2
    assert pol.limits == tiny.models[0].multimodal


def test_public_surface() -> None:
    import gemma_serve.api.images as images

    assert all(hasattr(images, name) for name in images.__all__)
    assert images.ImageGuard.__module__ == "gemma_serve.api.images._guard"
