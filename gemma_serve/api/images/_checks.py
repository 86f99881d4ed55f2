"""Checks of one image: limits from the model's config, decode, data: URLs, remote fetch."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gemma_serve.config.models import MultimodalConfig
from gemma_serve.errors import RequestError
from gemma_serve.planner import ModelPlan

#: Pillow format names accepted, and how error messages spell them.
IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}


class ImagesNotSupported(RequestError):
    """Images were sent to a text-only variant (270M, 1B) or images are disabled."""

    error_type = "images_not_supported"


class InvalidImage(RequestError):
    """An image is missing, malformed, corrupt, of the wrong format or over a limit."""

    error_type = "invalid_image"


@dataclass(frozen=True)
class ImagePolicy:
    """What one model accepts, as its plan says: the variant, the count, the limits."""

    model: str
    has_vision: bool
    per_prompt: int
    limits: MultimodalConfig

    @classmethod
    def from_plan(cls, plan: ModelPlan) -> ImagePolicy:
        return cls(plan.name, plan.variant.multimodal, plan.images.per_prompt, plan.images.limits)


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


async def fetch_image(url: str, max_bytes: int, timeout_s: float) -> bytes:
    """GET `url` (no redirects, no proxies): at most `max_bytes` within `timeout_s`."""
    import httpx

    host = urlsplit(url).hostname
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
                # identity: the byte limit then bounds what arrives, not a decompressed bomb
                headers = {"accept-encoding": "identity"}
                async with client.stream("GET", url, headers=headers, timeout=timeout_s) as resp:
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
