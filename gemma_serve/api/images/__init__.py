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

from gemma_serve.api.images._checks import (
    IMAGE_FORMATS,
    ImagePolicy,
    ImagesNotSupported,
    InvalidImage,
    decode_data_url,
    fetch_image,
    inspect_image,
)
from gemma_serve.api.images._guard import BOI_TOKEN, ImageGuard

__all__ = [
    "BOI_TOKEN",
    "IMAGE_FORMATS",
    "ImageGuard",
    "ImagePolicy",
    "ImagesNotSupported",
    "InvalidImage",
    "decode_data_url",
    "fetch_image",
    "inspect_image",
]
