"""Inputs several checks share: conversations, schemas and tools of our own."""

from __future__ import annotations

from typing import Any

#: A short conversation with a system turn (Gemma 3's template folds it into the first user turn).
SYSTEM_AND_USER: list[Any] = [
    {"role": "system", "content": "you are a helpful assistant"},
    {"role": "user", "content": "what is 1+1?"},
]

#: A person record whose strings are bounded, so a small model ends it within a few dozen tokens.
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 16},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "skills": {
            "type": "array",
            "items": {"type": "string", "maxLength": 12},
            "maxItems": 3,
        },
    },
    "required": ["name", "age", "skills"],
    "additionalProperties": False,
}

#: A dotted-quad IPv4 address.
IPV4_REGEX = r"((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.){3}(25[0-5]|(2[0-4]|1\d|[1-9]|)\d)"

LANGUAGES = [
    "Python",
    "Java",
    "JavaScript",
    "C++",
    "C#",
    "PHP",
    "TypeScript",
    "Ruby",
    "Swift",
    "Kotlin",
]

#: Two tools, one with a `$ref` into `$defs` and an enum, as vLLM's tool tests use.
WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 24},
                    "country": {"type": "string", "maxLength": 24},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "options": {"$ref": "#/$defs/Options"},
                },
                "required": ["country", "unit"],
                "$defs": {
                    "Options": {
                        "type": "object",
                        "properties": {"include_forecast": {"type": "boolean"}},
                        "additionalProperties": False,
                    }
                },
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_forecast",
            "description": "Get the weather forecast for a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 24},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city", "days", "unit"],
            },
        },
    },
]

WEATHER_CHAT: list[Any] = [
    {"role": "user", "content": "Hi! How are you doing today?"},
    {"role": "assistant", "content": "I'm doing well! How can I help you?"},
    {
        "role": "user",
        "content": "What is the weather in Berlin, and the forecast for the next "
        "5 days, in fahrenheit?",
    },
]
