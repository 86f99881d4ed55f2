"""The Gemma 3 model card's chat-about-an-image example, with the openai client and a local file.

Model card (transformers): `processor.apply_chat_template(messages, ...)` then
`model.generate(...)`, with an image and a question in the user turn. Here the
same messages go to gemma-serve's OpenAI-compatible chat endpoint; the image is
a local file sent inline as a base64 data: URL (PNG, JPEG or WebP).

    python examples/chat_local_image.py --image bee.jpg --model gemma-3-4b-it
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
from pathlib import Path

import openai


def describe(client: openai.OpenAI, model: str, image: Path, question: str, max_tokens: int) -> str:
    media = mimetypes.guess_type(image.name)[0] or "image/png"
    url = f"data:{media};base64,{base64.b64encode(image.read_bytes()).decode()}"
    response = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": question},
                ],
            },
        ],
        max_tokens=max_tokens,
        temperature=0,
    )
    usage = response.usage
    if usage is not None:  # prompt tokens include the image's (256 per image on 4B+)
        print(f"prompt tokens: {usage.prompt_tokens}, completion tokens: {usage.completion_tokens}")
    return response.choices[0].message.content or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--api-key", default="unused", help="One of GEMMA_SERVE_API_KEYS, if set.")
    parser.add_argument("--model", default="gemma-3-4b-it")
    parser.add_argument("--image", type=Path, required=True, help="A local PNG, JPEG or WebP file.")
    parser.add_argument("--question", default="Describe this image in detail.")
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
    print(describe(client, args.model, args.image, args.question, args.max_tokens))


if __name__ == "__main__":
    main()
