"""One HTTP edge: the same auth, errors and /health on the single-model ingress and the gateway.

The default stack (one model, its replica is the ingress) and the multi stack
(two models behind the gateway) both run with API keys; every case below must
answer the same status on both, OpenAI-shaped whenever it is an error. The
bad-input matrix runs against both shapes in tests/e2e/test_bad_input.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx
import psutil
import pytest

from benchmarks.ports import free_port
from gemma_serve.api.paths import NOT_EXPOSED
from tests.conftest import DEFAULT_KEY, MULTI_KEY
from tests.stack import ROOT, Stack

pytestmark = pytest.mark.e2e
WRONG_KEY = "not-a-key"

#: (name, method, path, body or None): `MODEL` in a path or body is the stack's first model.
REQUESTS: list[tuple[str, str, str, Any]] = [
    ("models", "GET", "/v1/models", None),
    ("model card", "GET", "/v1/models/MODEL", None),
    ("unknown model card", "GET", "/v1/models/no-such-model", None),
    ("completions", "POST", "/v1/completions", {"model": "MODEL", "prompt": "hi", "max_tokens": 1}),
    ("chat", "POST", "/v1/chat/completions",
     {"model": "MODEL", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}),
    ("unknown path", "GET", "/v1/no-such-route", None),
    ("unknown path, POST", "POST", "/v1/no-such-route", {"model": "MODEL"}),
    ("vLLM route not exposed", "GET", "/docs", None),
    ("wrong method", "GET", "/v1/completions", None),
    ("wrong method on models", "POST", "/v1/models", {"model": "MODEL"}),
    ("health", "GET", "/health", None),
    ("wrong method on health", "POST", "/health", None),
    ("metrics", "GET", "/metrics", None),
    ("responses", "POST", "/v1/responses",
     {"model": "MODEL", "input": "hi", "max_output_tokens": 1}),
    ("messages", "POST", "/v1/messages",
     {"model": "MODEL", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}),
    ("count tokens", "POST", "/v1/messages/count_tokens",
     {"model": "MODEL", "messages": [{"role": "user", "content": "hi"}]}),
    ("tokenize", "POST", "/tokenize", {"model": "MODEL", "prompt": "hi"}),
    ("detokenize", "POST", "/detokenize", {"model": "MODEL", "tokens": [2, 9259]}),
    # vLLM's own routes gemma-serve does not expose: the edge's 404 before any model.
    *((f"not exposed {p}", "POST", p.replace("{id}", "resp_1"), {"model": "MODEL"})
      for paths in NOT_EXPOSED.values() for p in paths),
]  # fmt: skip
#: Status with the right key; without a key or with a wrong one, 401 unless open.
WITH_KEY = {
    "models": 200, "model card": 200, "unknown model card": 404, "completions": 200,
    "chat": 200, "unknown path": 404,
    "unknown path, POST": 404, "vLLM route not exposed": 404, "wrong method": 405,
    "wrong method on models": 405, "health": 200, "wrong method on health": 405,
    "metrics": 404, "responses": 200, "messages": 200, "count tokens": 200, "tokenize": 200,
    "detokenize": 200, **{r[0]: 404 for r in REQUESTS if r[0].startswith("not exposed ")},
}  # fmt: skip
#: Answered without a key (the probe; the scrape's 404 naming where metrics are):
#: the same whatever key is sent.
OPEN = {"health", "wrong method on health", "metrics"}
KEYS = ("none", "wrong", "right")
AUTH_CASES = [(r, k) for r in REQUESTS for k in KEYS]
AUTH_IDS = [f"{r[0]}-{k} key" for r, k in AUTH_CASES]


def expected_status(name: str, key: str) -> int:
    """What the edge answers `name` with this kind of key, on either shape."""
    if key != "right" and name not in OPEN:
        return 401
    return WITH_KEY[name]


def assert_openai_error(r: httpx.Response, status: int) -> dict[str, Any]:
    """`r` is `status` with OpenAI's error object; returns the object."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"]
    assert "Traceback" not in r.text
    return dict(err)


def send(stack: Stack, model: str, case: tuple[str, str, str, Any], key: str) -> httpx.Response:
    _, method, path, body = case
    headers = {"right": {"authorization": f"Bearer {stack.api_key}"},
               "wrong": {"authorization": f"Bearer {WRONG_KEY}"}, "none": {}}[key]  # fmt: skip
    if body is not None:
        body = {k: model if v == "MODEL" else v for k, v in body.items()}
    path = path.replace("MODEL", model)
    return httpx.request(method, stack.url + path, json=body, headers=headers, timeout=60)


def check(stack: Stack, model: str, case: tuple[str, str, str, Any], key: str) -> None:
    r = send(stack, model, case, key)
    status = expected_status(case[0], key)
    if status >= 400:
        err = assert_openai_error(r, status)
        if status == 401:
            assert err["message"] == "invalid or missing API key"
            assert err["type"] == "authentication_error"
        if status == 405:
            assert r.headers["allow"] in ("GET", "POST")
    else:
        assert r.status_code == status, r.text


@pytest.mark.parametrize(("case", "key"), AUTH_CASES, ids=AUTH_IDS)
def test_auth_matrix_on_the_single_model_ingress(
    default_stack: Stack, case: tuple[str, str, str, Any], key: str
) -> None:
    assert default_stack.api_key == DEFAULT_KEY
    check(default_stack, "gemma-3-270m", case, key)


@pytest.mark.parametrize(("case", "key"), AUTH_CASES, ids=AUTH_IDS)
def test_auth_matrix_on_the_gateway(
    multi_stack: Stack, case: tuple[str, str, str, Any], key: str
) -> None:
    assert multi_stack.api_key == MULTI_KEY
    check(multi_stack, "gemma-3-270m-a", case, key)


def test_health_counts_the_replica_on_the_single_model_ingress(default_stack: Stack) -> None:
    r = httpx.get(default_stack.url + "/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "models": {"gemma-3-270m": {"ready": 1, "replicas": 1}}}


def test_health_counts_every_model_on_the_gateway(multi_stack: Stack) -> None:
    r = httpx.get(multi_stack.url + "/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "models": {m: {"ready": 1, "replicas": 1} for m in ("gemma-3-270m-a", "gemma-3-270m-b")},
    }


def test_haproxy_listens_only_on_the_api_host(default_stack: Stack) -> None:
    """Ray's HAProxy: its Prometheus frontend on 127.0.0.1 like the API, no stats page."""
    haproxy = [
        p for p in psutil.Process(default_stack.process.pid).children(recursive=True)
        if p.name() == "haproxy"
    ]  # fmt: skip
    assert haproxy, "no HAProxy under the stack"
    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in haproxy
        for c in p.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert ("127.0.0.1", default_stack.port) in listening, listening
    assert ("127.0.0.1", default_stack.haproxy_metrics_port) in listening, listening
    assert all(ip == "127.0.0.1" for ip, _ in listening), listening
    r = httpx.get(f"http://127.0.0.1:{default_stack.haproxy_metrics_port}/metrics", timeout=10)
    assert r.status_code == 200 and "haproxy_process_" in r.text


@pytest.mark.parametrize("which", ["api", "haproxy_metrics"])
def test_a_taken_port_is_one_line_naming_the_setting(which: str) -> None:
    api, metrics = free_port(), free_port()
    taken = api if which == "api" else metrics
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gemma_serve.cli.main", "serve", "--port", str(api),
             "--set", f"server.haproxy_metrics_port={metrics}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:  # it got past the check: stop whatever it started
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    setting = "server.port (--port)" if which == "api" else "server.haproxy_metrics_port"
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gemma-serve: error: port "), lines[0]
    assert str(taken) in lines[0] and setting in lines[0], lines[0]
    assert "Traceback" not in err + out
