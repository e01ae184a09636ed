import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``vidpred study serve`` as a user starts it, in its own process, on a free loopback port."""

    def __init__(self, folder, port: int | None = None, token: str | None = None):
        self.folder, self.port, self.token = folder, port or free_port(), token
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        command = [sys.executable, "-m", "vidpred.cli", "study", "serve", str(self.folder), "--port", str(self.port)]
        if self.token:
            command += ["--token", self.token]
        self.log = open(self.folder / f"server-{time.monotonic_ns()}.log", "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/", timeout=2)
                return self
            except OSError:
                assert self.process.poll() is None, "the server ended before it answered"
                time.sleep(0.1)
        raise TimeoutError("the study server did not answer within 60 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when the machine's power goes."""
        self.process.kill()
        self.process.wait()
        self.log.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def serve():
    servers = []

    def start(folder, **kwargs) -> Server:
        servers.append(Server(folder, **kwargs).start())
        return servers[-1]
    yield start
    for server in servers:
        server.stop()
