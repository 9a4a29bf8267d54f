"""Start `training demo` as a real server process on a free 127.0.0.1 port, for the tests that
talk to it over HTTP (a browser, or Gradio's own client)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_S = 120


@dataclass
class DemoServer:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def alive(self) -> bool:
        return self.process.poll() is None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def demo_server(folder: Path, *arguments: str, env: dict[str, str] | None = None) -> Iterator[DemoServer]:
    """`training demo ARGUMENTS --port FREE` until the page answers; stopped (SIGTERM) on exit."""
    port = free_port()
    log = folder / "server.log"
    with open(log, "w") as stream:
        process = subprocess.Popen([sys.executable, "-m", "training.cli", "demo", *arguments, "--port", str(port)],
                                   stdout=stream, stderr=subprocess.STDOUT,
                                   env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})})
    server = DemoServer(f"http://127.0.0.1:{port}/", process, log)
    try:
        deadline = time.monotonic() + START_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"demo server exited with {process.returncode}: {server.output()[-2000:]}")
            try:
                with urllib.request.urlopen(server.url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo server did not answer within {START_S} s")
            time.sleep(0.5)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
