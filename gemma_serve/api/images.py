"""Images at the edge: every image is checked before vLLM sees it.

vLLM decodes whatever it is sent and, with an empty domain list, fetches any
http(s) URL. Here images are opt-in per variant, bounded by the model's
`multimodal` limits, decoded once with Pillow (PNG, JPEG, WebP only) and
fetched only from allowed hosts, with size and time limits; every failure is a
400 that names the problem. Text requests pay one bytes search: the JSON is
parsed only when the body could carry an image.

Chat: OpenAI content parts (`image_url` with a data: or allowed http(s) URL);
the body reaches vLLM unchanged (remote images are inlined as data: URLs).
Completions: a raw Gemma prompt with one `<start_of_image>` per image plus an
`images` list of URLs; vLLM's own /v1/completions handler runs it with the
images as the prompt's `multi_modal_data` (its HTTP schema has no image field).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gemma_serve.config.models import MultimodalConfig
from gemma_serve.errors import RequestError
from gemma_serve.planner.launch import ModelLaunch

BOI_TOKEN = "<start_of_image>"
#: Pillow format names accepted, and how error messages spell them.
IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
CHAT_PATH, COMPLETIONS_PATH = "/v1/chat/completions", "/v1/completions"
#: Bodies that could carry an image: the word itself, or JSON spelled so that a
#: bytes search cannot see it (escaped ASCII like `\u0069mage`, UTF-16/32 text).
_MAYBE_IMAGE = re.compile(rb"image|\x00|\\u00[2-7][0-9a-fA-F]")
_URL_PART_TYPES = (None, "image_url", "input_image")


class ImagesNotSupported(RequestError):
    """Images were sent to a text-only variant (270M, 1B) or images are disabled."""

    error_type = "images_not_supported"


class InvalidImage(RequestError):
    """An image is missing, malformed, corrupt, of the wrong format or over a limit."""

    error_type = "invalid_image"


@dataclass(frozen=True)
class ImagePolicy:
    """What one model accepts: from its variant and its `multimodal` config."""

    model: str
    accepts_images: bool
    limits: MultimodalConfig

    @classmethod
    def from_launch(cls, launch: ModelLaunch) -> ImagePolicy:
        limits = getattr(launch, "multimodal", None)
        if limits is None:  # stopgap until ModelLaunch carries the model's MultimodalConfig
            limits = _limits_from_argv(launch.vllm_argv)
        elif not isinstance(limits, MultimodalConfig):
            limits = MultimodalConfig.model_validate(limits)
        return cls(launch.name, "image" in launch.input_modalities, limits)


def _limits_from_argv(argv: list[str]) -> MultimodalConfig:
    """Count, pan-and-scan and hosts from the planner's vLLM argv; sizes default."""
    values: dict[str, list[str]] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            rest = argv[i + 1 :]
            stop = next((j for j, a in enumerate(rest) if a.startswith("--")), len(rest))
            values[arg] = rest[:stop]
    fields: dict[str, Any] = {}
    if limit := values.get("--limit-mm-per-prompt"):
        fields["max_images_per_prompt"] = json.loads(limit[0]).get("image", 1)
    if kwargs := values.get("--mm-processor-kwargs"):
        fields["do_pan_and_scan"] = bool(json.loads(kwargs[0]).get("do_pan_and_scan", False))
    fields["allowed_media_domains"] = values.get("--allowed-media-domains", [])
    return MultimodalConfig(**fields)


def inspect_image(data: bytes, limits: MultimodalConfig) -> Any:
    """Decode `data` fully (a PIL image) or raise InvalidImage saying why not."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > limits.max_image_bytes:
        raise InvalidImage(_too_big(len(data), limits.max_image_bytes))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, (width, height) = probe.format or "?", probe.size
            if fmt not in IMAGE_FORMATS:
                raise InvalidImage(
                    f"unsupported image format {fmt}; send {', '.join(IMAGE_FORMATS.values())}"
                )
            if width * height > limits.max_image_pixels:
                raise InvalidImage(
                    f"image is {width}x{height} = {width * height} pixels, over the limit of "
                    f"{limits.max_image_pixels}"
                )
            probe.verify()  # checksums and structure, without decoding
        image = Image.open(io.BytesIO(data), formats=[fmt])
        image.load()  # the full decode: truncated or corrupt pixel data fails here
    except UnidentifiedImageError:
        raise InvalidImage("the data is not an image Pillow can identify") from None
    except Image.DecompressionBombError:
        raise InvalidImage(f"image is over the limit of {limits.max_image_pixels} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"image is truncated or corrupt: {exc}") from None
    return image


def decode_data_url(url: str, max_bytes: int) -> bytes:
    """The bytes of a base64 `data:image/...` URL (RFC 2397, as vLLM parses it)."""
    spec, sep, data = url[5:].partition(",")
    media, _, encoding = spec.rpartition(";")
    if not sep or encoding.lower() != "base64":
        raise InvalidImage("image data: URLs must look like data:image/png;base64,<data>")
    media = media.partition(";")[0].strip().lower()
    if not media.startswith("image/"):
        raise InvalidImage(f"data: URL media type {media or '(none)'!r} is not image/*")
    if len(data) // 4 * 3 > max_bytes + 2:
        raise InvalidImage(_too_big(len(data) // 4 * 3, max_bytes))
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("image data: URL is not valid base64") from None


def _too_big(size: int, limit: int) -> str:
    return f"image is {size} bytes, over the limit of {limit} bytes"


class ImageGuard:
    """Pure ASGI: validate images in chat and completions requests, 400 on anything wrong."""

    def __init__(self, app: Any, *, policy: ImagePolicy, vllm_app: Any = None) -> None:
        self.app = app
        self.policy = policy
        self.vllm_app = vllm_app

    @classmethod
    def for_launch(cls, app: Any, launch: ModelLaunch, vllm_app: Any) -> ImageGuard:
        return cls(app, policy=ImagePolicy.from_launch(launch), vllm_app=vllm_app)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        payload = _load_json(body) if _MAYBE_IMAGE.search(body) else None
        path: str = scope.get("path", "")
        if isinstance(payload, dict) and path.endswith(CHAT_PATH):
            new_body = await self._check_chat(payload)
            if new_body is not None:
                body, scope = new_body, _with_length(scope, len(new_body))
        elif isinstance(payload, dict) and path.endswith(COMPLETIONS_PATH):
            if payload.get("images"):
                await self._complete(payload, scope, receive, send)
                return
        elif payload is not None and _mentions_images(payload):
            self._check_accepted()
            raise InvalidImage(f"images are accepted only on {CHAT_PATH} and {COMPLETIONS_PATH}")
        await self.app(scope, _replay(body, receive), send)

    async def _check_chat(self, payload: dict[str, Any]) -> bytes | None:
        """Validate every image part; a new body only if remote images were inlined."""
        parts = [p for p in _content_parts(payload) if _is_image_part(p)]
        if not parts:
            return None
        self._check_accepted(len(parts))
        inlined = False
        for part in parts:
            _, data_url = await self._image(_part_url(part))
            if data_url is not None:  # fetched: vLLM gets the bytes we checked, not the URL
                if isinstance(part["image_url"], dict):
                    part["image_url"]["url"] = data_url
                else:
                    part["image_url"] = data_url
                inlined = True
        return json.dumps(payload).encode() if inlined else None

    async def _complete(self, payload: dict[str, Any], scope: Any, receive: Any, send: Any) -> None:
        """A raw-prompt completion with images, run by vLLM's own completions handler."""
        urls = payload.pop("images")
        self._check_accepted(len(urls) if isinstance(urls, list) else 1)
        if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
            raise InvalidImage('"images" must be a list of data: (or allowed http(s)) URLs')
        prompt = payload.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1:
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise InvalidImage('with "images", "prompt" must be one string')
        if (found := prompt.count(BOI_TOKEN)) != len(urls):
            raise InvalidImage(
                f"the prompt has {found} {BOI_TOKEN} for {len(urls)} image(s); "
                f"put one {BOI_TOKEN} where each image goes"
            )
        images = [(await self._image(url))[0] for url in urls]
        payload["prompt"] = prompt
        await _vllm_completion(self.vllm_app, payload, images, scope, receive, send)

    def _check_accepted(self, count: int = 1) -> None:
        limit = self.policy.limits.max_images_per_prompt
        if not self.policy.accepts_images:
            raise ImagesNotSupported(f"model {self.policy.model} is text-only: it takes no images")
        if limit == 0:
            raise ImagesNotSupported(f"images are disabled for model {self.policy.model}")
        if count > limit:
            raise InvalidImage(
                f"{count} images sent; model {self.policy.model} takes at most {limit}"
            )

    async def _image(self, url: str) -> tuple[Any, str | None]:
        """The decoded image, and a data: URL of its bytes if it was fetched."""
        limits = self.policy.limits
        if url[:5].lower() == "data:":
            data = decode_data_url(url, limits.max_image_bytes)
            return await asyncio.to_thread(inspect_image, data, limits), None
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidImage("image URLs must be data: URLs (or http(s) from allowed hosts)")
        host = (parts.hostname or "").lower()
        allowed = {h.lower() for h in limits.allowed_media_domains}
        if host not in allowed:
            raise InvalidImage(
                f"image host {host!r} is not allowed"
                if allowed
                else "remote image URLs are off on this server; send the image as a data: URL"
            )
        data = await fetch_image(url, limits.max_image_bytes, limits.fetch_timeout_s)
        image = await asyncio.to_thread(inspect_image, data, limits)
        return image, f"data:{image.get_format_mimetype()};base64,{base64.b64encode(data).decode()}"


async def fetch_image(url: str, max_bytes: int, timeout_s: float) -> bytes:
    """GET `url` (no redirects, no proxies): at most `max_bytes` within `timeout_s`."""
    import httpx

    host = urlsplit(url).hostname
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
                async with client.stream("GET", url, timeout=timeout_s) as resp:
                    if resp.status_code != 200:
                        raise InvalidImage(
                            f"fetching the image from {host}: HTTP {resp.status_code}"
                        )
                    length = resp.headers.get("content-length", "")
                    if length.isdigit() and int(length) > max_bytes:
                        raise InvalidImage(_too_big(int(length), max_bytes))
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise InvalidImage(f"image from {host} exceeds {max_bytes} bytes")
    except (TimeoutError, httpx.TimeoutException):
        raise InvalidImage(f"fetching the image from {host} took over {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise InvalidImage(f"could not fetch the image from {host}: {type(exc).__name__}") from None
    return bytes(body)


async def _vllm_completion(
    vllm_app: Any, payload: dict[str, Any], images: list[Any], scope: Any, receive: Any, send: Any
) -> None:
    """Run vLLM's /v1/completions route with the images as `multi_modal_data`.

    The HTTP schema has no image field, but the engine input it renders does
    (as in `LLM.generate`); responses, streaming, usage and errors stay vLLM's.
    """
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError
    from starlette.requests import Request
    from vllm.entrypoints.openai.completion.api_router import create_completion
    from vllm.entrypoints.openai.completion.protocol import CompletionRequest

    raw = Request({**scope, "app": vllm_app}, receive)
    try:
        request = CompletionRequest.model_validate(payload)
        mm_prompt = {"prompt": payload["prompt"], "multi_modal_data": {"image": images}}
        response = await create_completion(request.model_copy(update={"prompt": mm_prompt}), raw)
    except Exception as exc:  # answered by the handler vLLM's app registered for it
        error = RequestValidationError(exc.errors()) if isinstance(exc, ValidationError) else exc
        handler = next(
            (h for c in type(error).__mro__ if (h := vllm_app.exception_handlers.get(c))), None
        )
        if handler is None:
            raise
        response = await handler(raw, error)
    if response is not None:  # None: the client went away
        await response(scope, receive, send)


def _content_parts(payload: dict[str, Any]) -> list[Any]:
    messages = payload.get("messages")
    parts: list[Any] = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts.extend(p for p in content if isinstance(p, dict))
    return parts


def _is_image_part(part: dict[str, Any]) -> bool:
    kind = part.get("type")
    return (isinstance(kind, str) and "image" in kind) or any("image" in k for k in part)


def _part_url(part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind not in _URL_PART_TYPES or "image_pil" in part or "image_embeds" in part:
        raise InvalidImage(
            f"unsupported image content part {kind!r}: send "
            '{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}'
        )
    url = part.get("image_url")
    url = url.get("url") if isinstance(url, dict) else url
    if not isinstance(url, str) or not url:
        raise InvalidImage("image_url.url must be a data: URL (or an allowed http(s) URL)")
    return url


def _mentions_images(payload: Any) -> bool:
    """Any key with `image` in it, or a `type` naming one, anywhere in the JSON."""
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if "image" in key or (
                    key == "type" and isinstance(value, str) and "image" in value
                ):
                    return True
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)  # bytes: the same UTF-8/16/32 detection vLLM's parser uses
    except (ValueError, RecursionError):
        return None  # not JSON: vLLM rejects it itself


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()  # after the body: disconnects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_length(scope: dict[str, Any], length: int) -> dict[str, Any]:
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}
