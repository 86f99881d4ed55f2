"""The suite's four servers: what each runs, and that a stop leaves nothing behind."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
import yaml

from benchmarks.planned import PlannedModel, planned_model
from benchmarks.ports import free_port
from benchmarks.readme import REPO
from benchmarks.servers import DEFAULT, OURS, RAY, SAME, Column, Server, columns
from gemma_serve.bench.errors import LaunchError

CONFIG = REPO / "configs" / "default.yaml"


@pytest.fixture(scope="module")
def planned() -> PlannedModel:
    return planned_model(CONFIG, cwd=REPO)


def test_four_columns_in_mirror_friendly_order(planned: PlannedModel, tmp_path: Path) -> None:
    cols = {c.name: c for c in columns(CONFIG, planned, tmp_path, tmp_path / "ray")}
    assert list(cols) == [DEFAULT, RAY, OURS, SAME]
    argv, env = planned.launch.vllm_argv, planned.launch.env
    same = cols[SAME]
    assert same.command[3 : 3 + len(argv)] == argv and same.env == env
    default = cols[DEFAULT]
    assert default.env == {"VLLM_CPU_KVCACHE_SPACE": env["VLLM_CPU_KVCACHE_SPACE"]}
    model = argv[argv.index("--model") + 1]
    assert default.command[3:7] == ["--model", model, "--served-model-name", planned.name]
    assert "--enforce-eager" not in default.command
    ours = cols[OURS]
    assert ours.command[1:6] == ["-m", "gemma_serve.cli.main", "serve", "--config", str(CONFIG)]
    ray = cols[RAY]
    assert ray.command[1:4] == ["run", "-a", "local"] and Path(ray.command[0]).name == "serve"
    assert ray.env["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert ray.env["RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING"] == "1"
    assert ray.env["RAY_worker_niceness"] == "0"
    assert len({c.port for c in cols.values()}) == 4
    for ray_based in (ray, ours):  # nothing Serve binds may collide with another stack
        assert "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT" in ray_based.env
        assert "RAY_SERVE_HAPROXY_METRICS_PORT" in ray_based.env
    config = yaml.safe_load((tmp_path / "ray-serve-llm.yaml").read_text())
    assert config["http_options"]["port"] == ray.port


SERVER = textwrap.dedent(
    """
    import http.server, os, subprocess, sys
    # a helper in a process group of its own, as Ray's workers are
    subprocess.Popen([sys.executable, "-c", "import os, time; os.setpgid(0, 0); time.sleep(600)"])
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200); self.send_header("Content-Type", "text/event-stream")
            self.end_headers(); self.wfile.write(b'data: {"choices": []}\\n\\ndata: [DONE]\\n\\n')
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


async def test_a_stop_kills_what_escaped_the_process_group(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    column = Column(
        name="fake", label="fake", description="a fake server",
        command=[sys.executable, str(script), str(port)], env={}, port=port,
    )  # fmt: skip
    said: list[str] = []
    server = Server(column, "m", tmp_path, say=said.append, stop_timeout_s=2)
    async with server():
        (root,) = [p for p in psutil.Process().children() if str(script) in _cmdline(p)]
        (helper,) = root.children()
        assert helper.pid == os.getpgid(helper.pid)  # its own group
    gone, alive = psutil.wait_procs([helper], timeout=1)
    assert gone and not alive, said
    assert any("killed 1 processes" in s for s in said)
    assert len(server.launches) == 1 and server.launches[0].ready_s > 0


async def test_a_failed_start_is_tried_again_once(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    flag = tmp_path / "failed-once"
    # the first start exits at once, the second serves
    command = [
        "sh", "-c", f"if [ ! -e {flag} ]; then touch {flag}; exit 3; fi; "
        f"exec {sys.executable} {script} {port}",
    ]  # fmt: skip
    column = Column(name="flaky", label="f", description="f", command=command, env={}, port=port)
    said: list[str] = []
    server = Server(column, "m", tmp_path, say=said.append, stop_timeout_s=2)
    async with server():
        pass
    assert any("start 1 failed" in s and "exited with code 3" in s for s in said)
    assert len(server.launches) == 1

    never = Column(name="never", label="n", description="n", command=["false"], env={}, port=port)
    with pytest.raises(LaunchError, match="exited with code 1"):
        async with Server(never, "m", tmp_path, say=said.append)():
            pass
