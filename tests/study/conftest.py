import json
import time
import urllib.request

import pytest

from vidpred.study.app import free_port, start_server


class Server:
    """``vidpred study serve`` as a user starts it, in its own process, on a free loopback port."""

    def __init__(self, folder, port: int | None = None, token: str | None = None):
        self.folder, self.port, self.token = folder, port or free_port(), token
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.log = open(self.folder / f"server-{time.monotonic_ns()}.log", "w")
        self.process = start_server(self.folder, self.port, self.token, output=self.log)
        return self

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
