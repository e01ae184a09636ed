"""A bounded load on a running study server over loopback: ``raters`` threads, each with its own keep-alive
connection, judge pairs until ``judgements`` answers in all have been acknowledged; every ``double_every``-th
answer is sent twice (a double click). Used by the load test (none lost or doubled) and by
``benchmarks/study_load.py`` (response times for docs/RESULTS.md)."""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    acknowledged: list[tuple[str, int]] = field(default_factory=list)  # (rater, pair) the server recorded
    duplicates_sent: int = 0
    seconds: list[float] = field(default_factory=list)  # each request's response time
    errors: list[str] = field(default_factory=list)


def run_load(host: str, port: int, raters: int = 20, judgements: int = 500, double_every: int = 10,
             seed: int = 0) -> LoadResult:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load test runs on loopback only")
    result = LoadResult()
    lock = threading.Lock()
    budget = [judgements]

    def take() -> bool:
        with lock:
            if budget[0] == 0:
                return False
            budget[0] -= 1
            return True

    def request(conn, method: str, path: str, body: dict | None = None) -> dict:
        started = time.perf_counter()
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"} if body is not None else {})
        response = conn.getresponse()
        data = json.loads(response.read())
        with lock:
            result.seconds.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data}")
        return data

    def rater(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        name = f"load-{index:02d}"
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            served = request(conn, "GET", f"/api/raters/{name}/next")
            sent = 0
            while not served["done"] and take():
                answer = {"rater": name, "pair": served["pair"],
                          "choice": rng.choice(("left", "right", "indifferent"))}
                reply = request(conn, "POST", "/api/judgements", answer)
                if reply["recorded"]:
                    with lock:
                        result.acknowledged.append((name, served["pair"]))
                sent += 1
                if double_every and sent % double_every == 0:
                    again = request(conn, "POST", "/api/judgements", answer)
                    with lock:
                        result.duplicates_sent += 1
                        if again["recorded"]:
                            result.errors.append(f"{name}: a repeated answer on pair {served['pair']} was recorded")
                served = reply["next"]
        except Exception as err:  # noqa: BLE001 -- every failure is reported, none stops the other raters
            with lock:
                result.errors.append(f"{name}: {err}")
        finally:
            conn.close()

    threads = [threading.Thread(target=rater, args=(i,)) for i in range(raters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result
