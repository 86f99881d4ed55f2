"""Where the checks point: `--base-url`/`--model` (or CONFORMANCE_BASE_URL/_MODEL)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import openai
import pytest

#: Seconds one request may take on a 2-core CPU host (a 4k-token prefill included).
TIMEOUT_S = 180.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption(
        "--base-url",
        default=os.environ.get("CONFORMANCE_BASE_URL", "http://127.0.0.1:8000"),
        help="server root, without /v1 (env CONFORMANCE_BASE_URL)",
    )
    group.addoption(
        "--model",
        default=os.environ.get("CONFORMANCE_MODEL", "gemma-3-270m"),
        help="served model name (env CONFORMANCE_MODEL)",
    )
    group.addoption(
        "--api-key",
        default=os.environ.get("CONFORMANCE_API_KEY", "unused"),
        help="bearer key, if the server needs one (env CONFORMANCE_API_KEY)",
    )


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--base-url")).rstrip("/")


@pytest.fixture(scope="session")
def model(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--model"))


@pytest.fixture(scope="session")
def api_key(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--api-key"))


@pytest.fixture(scope="session")
def client(base_url: str, api_key: str) -> Iterator[openai.OpenAI]:
    """The official client; no retries, so every status is the server's first answer."""
    with openai.OpenAI(
        base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=TIMEOUT_S
    ) as c:
        yield c


@pytest.fixture(scope="session")
def http(base_url: str, api_key: str) -> Iterator[httpx.Client]:
    """Plain HTTP for the routes the openai client has no method for."""
    headers = {"authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT_S, trust_env=False) as c:
        yield c


@pytest.fixture(scope="session")
def max_model_len(http: httpx.Client, model: str) -> int:
    """The served context length, from /tokenize (both servers report it there)."""
    r = http.post("/tokenize", json={"model": model, "prompt": "x"})
    r.raise_for_status()
    return int(r.json()["max_model_len"])
