"""The Gemma 3 model card's image-text-to-text pipeline example, as a gemma-serve client.

Model card (transformers, on the GPU in your process):

    pipe = pipeline("image-text-to-text", model="google/gemma-3-4b-pt")
    pipe("bee.jpg", text="<start_of_image> in this image, there is")

Here the model runs behind gemma-serve, and the raw, chat-less prompt goes to
/v1/completions with the image beside it:

    POST /v1/completions
    {"model": "gemma-3-4b-pt",
     "prompt": "<start_of_image> in this image, there is",
     "images": ["data:image/jpeg;base64,..."],
     "max_tokens": 32}

Each `<start_of_image>` in the prompt is where one image goes, in the order of
`images` (data: URLs; http(s) URLs only from hosts the operator allowed). The
server adds `<bos>`; usage.prompt_tokens includes each image's tokens (256 on 4B+).

    python examples/image_pipeline.py --image bee.jpg --model gemma-3-4b-pt
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
from pathlib import Path
from typing import Any

import httpx

PROMPT = "<start_of_image> in this image, there is"


def image_url(image: str) -> str:
    """A local file becomes a data: URL; an http(s) URL is passed on as it is."""
    if image.startswith(("http://", "https://", "data:")):
        return image
    media = mimetypes.guess_type(image)[0] or "image/png"
    return f"data:{media};base64,{base64.b64encode(Path(image).read_bytes()).decode()}"


def image_text_to_text(
    base_url: str, model: str, image: str, text: str = PROMPT, max_new_tokens: int = 32
) -> list[dict[str, Any]]:
    """What `pipe(image, text=text)` returns, computed by gemma-serve."""
    body = {
        "model": model,
        "prompt": text,
        "images": [image_url(image)],
        "max_tokens": max_new_tokens,
        "temperature": 0,
    }
    response = httpx.post(f"{base_url}/completions", json=body, timeout=120)
    if response.status_code != 200:
        raise SystemExit(f"HTTP {response.status_code}: {response.json()['error']['message']}")
    out = response.json()
    print(f"usage: {out['usage']}")
    return [{"input_text": text, "generated_text": text + out["choices"][0]["text"]}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default="gemma-3-4b-pt")
    parser.add_argument("--image", required=True, help="Local image file or http(s) URL.")
    parser.add_argument("--text", default=PROMPT, help="Raw prompt with one <start_of_image>.")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()
    print(image_text_to_text(args.base_url, args.model, args.image, args.text, args.max_new_tokens))


if __name__ == "__main__":
    main()
