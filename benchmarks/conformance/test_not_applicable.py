"""vLLM test cases that cannot apply to these servers, each recorded with the reason.

Both servers run one text model, Gemma 3 270M pt, with gemma-serve's planned vLLM
argv: no LoRA adapters, no other models, no images/audio/video, no prompt embeddings,
no reasoning parser, the default Responses store (off), max_logprobs 20.
"""

from __future__ import annotations

import pytest

#: (vLLM test, why it cannot run here).
NOT_APPLICABLE: list[tuple[str, str]] = [
    (
        "tests/entrypoints/openai/chat_completion/test_chat.py::test_*[zephyr-lora]",
        "a LoRA adapter of zephyr-7b-beta; these servers run no adapter",
    ),
    (
        "tests/entrypoints/openai/models/test_models.py::test_retrieve_lora_model",
        "a LoRA adapter served beside the base model",
    ),
    ("tests/entrypoints/openai/completion/test_lora_resolvers.py::*", "LoRA resolver plugins"),
    (
        "tests/entrypoints/openai/completion/test_completion_with_prompt_embeds.py::*",
        "prompt embeddings need --enable-prompt-embeds, not in the planned argv",
    ),
    (
        "tests/entrypoints/openai/chat_completion/test_vision.py::*",
        "images: the 270M is text-only (Gemma 3 reads images from 4B up)",
    ),
    ("tests/entrypoints/openai/chat_completion/test_audio.py::*", "audio input: a text-only model"),
    ("tests/entrypoints/openai/chat_completion/test_video.py::*", "video input: a text-only model"),
    (
        "tests/entrypoints/openai/responses/test_image.py::*",
        "images in Responses input: a text-only model",
    ),
    (
        "tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::"
        "test_function_tool_use[auto]",
        "tool_choice auto needs a template that renders the tools and a model trained to call "
        "them: Gemma 3's own template renders none, and the 270M is pretrained",
    ),
    (
        "tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::"
        "test_function_tool_use[enable_thinking=True]",
        "reasoning output needs a reasoning model and --reasoning-parser (Qwen3 in vLLM's test)",
    ),
    (
        "tests/entrypoints/openai/chat_completion/test_include_reasoning.py::*",
        "reasoning parser: Gemma 3 has no thinking mode",
    ),
    (
        "tests/entrypoints/openai/responses/test_basic.py::test_simple_input",
        "asserts a reasoning item and the answer 312 from a reasoning model",
    ),
    (
        "tests/entrypoints/openai/responses/test_simple.py::test_reasoning_item",
        "reasoning items need a reasoning parser",
    ),
    (
        "tests/entrypoints/openai/responses/test_simple.py::test_streaming_reasoning_tokens_e2e",
        "reasoning tokens need a reasoning model",
    ),
    ("tests/entrypoints/openai/responses/test_harmony.py::*", "gpt-oss's Harmony format"),
    (
        "tests/entrypoints/openai/responses/test_mcp_tools.py::*",
        "MCP tool servers and a model trained for built-in tools (gpt-oss)",
    ),
    (
        "tests/entrypoints/openai/responses/test_stateful.py::*",
        "stored responses need VLLM_ENABLE_RESPONSES_API_STORE=1; gemma-serve keeps nothing "
        "(store off) and bare vLLM runs with the same env",
    ),
    (
        "tests/entrypoints/openai/responses/test_structured_output.py::"
        "test_structured_output_with_parse",
        "responses.parse(model=None): relies on vLLM filling in a missing model, which "
        "gemma-serve refuses on purpose (a request must name its model)",
    ),
    (
        "tests/entrypoints/serve/tokenize/test_tokenization.py::test_tokenizer_info_*",
        "GET /tokenizer_info needs --enable-tokenizer-info-endpoint, not in the planned argv",
    ),
    (
        "tests/entrypoints/openai/basic/test_basic.py::test_server_load",
        "GET /load needs --enable-server-load-tracking, not in the planned argv",
    ),
    (
        "tests/entrypoints/openai/basic/test_basic.py::test_health_check_engine_dead_error",
        "a unit test of vLLM's health handler with a mocked dead engine, not an HTTP check",
    ),
    (
        "tests/entrypoints/openai/completion/test_completion_error.py::test_completion_error_*",
        "unit tests of vLLM's serving class with a mocked engine output finish_reason=error",
    ),
    (
        "tests/entrypoints/openai/completion/test_shutdown.py::*",
        "kills the engine under the server: a test of process handling, not of the API",
    ),
    (
        "tests/entrypoints/openai/correctness/test_lmeval.py::*",
        "accuracy of a named model on GSM8K",
    ),
    (
        "tests/entrypoints/openai/chat_completion/test_chat.py::test_response_format_json_schema"
        "[unconstrained half]",
        "asserts its model cannot answer in the requested JSON without the schema: a property "
        "of that model",
    ),
]


@pytest.mark.parametrize(("mirrors", "reason"), NOT_APPLICABLE, ids=[m for m, _ in NOT_APPLICABLE])
def test_not_applicable(mirrors: str, reason: str) -> None:
    """Not applicable here: the vLLM test named by the id, for the reason given."""
    pytest.skip(reason)
