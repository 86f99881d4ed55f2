"""SubprocessLauncher against real (tiny) processes: python's http.server and sleep."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from benchmarks.ports import free_port
from gemma_serve.bench.errors import LaunchError
from gemma_serve.bench.launch import SubprocessLauncher


def alive(pid: int) -> bool:
    """Running (a killed orphan may linger as a zombie until init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def server(tmp_path: Path, port: int, **kw: float) -> SubprocessLauncher:
    (tmp_path / "health").write_text("ok")
    # a child in the same process group that would outlive a plain terminate()
    script = (
        f"sleep 60 & echo $! > {tmp_path}/child.pid; "
        f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1 --directory {tmp_path}"
    )
    return SubprocessLauncher(
        argv=["sh", "-c", script],
        health_url=f"http://127.0.0.1:{port}/health",
        startup_timeout_s=20,
        poll_interval_s=0.1,
        **kw,
    )


async def test_waits_for_health_and_stops_the_whole_group(tmp_path: Path) -> None:
    port = free_port()
    async with server(tmp_path, port)() as pid:
        assert isinstance(pid, int) and alive(pid)
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200
        child = int((tmp_path / "child.pid").read_text())
        assert alive(child)
    await asyncio.sleep(0.2)
    assert not alive(pid)
    assert not alive(child)


async def test_port_already_taken_is_refused(tmp_path: Path) -> None:
    port = free_port()
    async with server(tmp_path, port)():
        with pytest.raises(LaunchError, match="another server"):
            async with server(tmp_path / "..", port)():
                pass


async def test_early_exit_reports_code_and_log(tmp_path: Path) -> None:
    launcher = SubprocessLauncher(
        argv=[sys.executable, "-c", "import sys; print('bad flag'); sys.exit(3)"],
        health_url=f"http://127.0.0.1:{free_port()}/health",
        log_path=tmp_path / "log.txt",
        poll_interval_s=0.1,
    )
    with pytest.raises(LaunchError, match=r"exited with code 3") as caught:
        async with launcher():
            pass
    assert "\n" not in str(caught.value), "a CLI error is one line"
    assert "bad flag" in caught.value.log_tail and str(tmp_path / "log.txt") in str(caught.value)


async def test_a_missing_program_is_a_launch_error() -> None:
    launcher = SubprocessLauncher(
        argv=["/nonexistent/server"], health_url=f"http://127.0.0.1:{free_port()}/health"
    )
    with pytest.raises(LaunchError, match="cannot start /nonexistent/server"):
        async with launcher():
            pass


async def test_startup_timeout_kills_the_process(tmp_path: Path) -> None:
    launcher = SubprocessLauncher(
        argv=["sh", "-c", f"echo $$ > {tmp_path}/pid; exec sleep 60"],
        health_url=f"http://127.0.0.1:{free_port()}/health",
        startup_timeout_s=0.5,
        poll_interval_s=0.1,
    )
    with pytest.raises(LaunchError, match=r"not healthy after 0\.5 s"):
        async with launcher():
            pass
    assert not alive(int((tmp_path / "pid").read_text()))
