"""The ASGI middleware: find the images in a request, check them, hand the request on."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from gemma_serve.api.body import read_body, replay, with_length
from gemma_serve.api.images._checks import (
    ImagePolicy,
    ImagesNotSupported,
    InvalidImage,
    decode_data_url,
    fetch_image,
    inspect_image,
)
from gemma_serve.api.images._vllm import run_vllm_completion
from gemma_serve.api.paths import CHAT, COMPLETIONS
from gemma_serve.planner import ModelPlan

BOI_TOKEN = "<start_of_image>"
#: Bodies that could carry an image: the word itself, or JSON spelled so that a
#: bytes search cannot see it (escaped ASCII like `\u0069mage`, UTF-16/32 text).
_MAYBE_IMAGE = re.compile(rb"image|\x00|\\u00[2-7][0-9a-fA-F]")
_URL_PART_TYPES = (None, "image_url", "input_image")


class ImageGuard:
    """Pure ASGI: validate images in chat and completions requests, 400 on anything wrong."""

    def __init__(
        self,
        app: Any,
        *,
        policy: ImagePolicy,
        vllm_app: Any = None,
        on_images: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.vllm_app = vllm_app
        self._on_images = on_images

    @classmethod
    def for_plan(
        cls,
        app: Any,
        plan: ModelPlan,
        vllm_app: Any,
        on_images: Callable[[int], None] = lambda count: None,
    ) -> ImageGuard:
        return cls(app, policy=ImagePolicy.from_plan(plan), vllm_app=vllm_app, on_images=on_images)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        # Parsed off the event loop: a body may be tens of MB of base64.
        payload = await asyncio.to_thread(_load_json, body) if _MAYBE_IMAGE.search(body) else None
        path: str = scope.get("path", "")
        if isinstance(payload, dict) and path == CHAT:
            new_body = await self._check_chat(payload)
            if new_body is not None:
                body, scope = new_body, with_length(scope, len(new_body))
        elif isinstance(payload, dict) and path == COMPLETIONS:
            if payload.get("images"):
                await self._complete(payload, scope, receive, send)
                return
        elif payload is not None and _mentions_images(payload):
            self._check_accepted()
            raise InvalidImage(f"images are accepted only on {CHAT} and {COMPLETIONS}")
        await self.app(scope, replay(body, receive), send)

    async def _check_chat(self, payload: dict[str, Any]) -> bytes | None:
        """Validate every image part; a new body only if remote images were inlined."""
        parts = _image_parts(payload)
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
        self._on_images(len(parts))
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
        self._on_images(len(images))
        payload["prompt"] = prompt
        await run_vllm_completion(self.vllm_app, payload, images, scope, receive, send)

    def _check_accepted(self, count: int = 1) -> None:
        limit = self.policy.per_prompt
        if not self.policy.has_vision:
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
            data = await asyncio.to_thread(decode_data_url, url, limits.max_image_bytes)
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


def _image_parts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Content parts of any message that name an image, by `type` or by key."""
    messages = payload.get("messages")
    parts: list[dict[str, Any]] = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(part, dict) and (
                (isinstance(kind, str) and "image" in kind) or any("image" in k for k in part)
            ):
                parts.append(part)
    return parts


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
