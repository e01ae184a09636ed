"""The study server's API: every bad request is refused with a clear 4xx, logged, and never stops it."""
import logging

import numpy as np
import pytest
from starlette.testclient import TestClient

from vidpred.io.video import write_video
from vidpred.study.app import MAX_BODY, build_app
from vidpred.study.store import MEDIA_DIR, StudyStore

STEMS = ["0123456789abcdef", "1111111111111111", "2222222222222222"]


@pytest.fixture
def store(tmp_path):
    media = tmp_path / MEDIA_DIR
    for stem in STEMS:
        for ext in (".mp4", ".webm"):
            write_video(media / f"{stem}{ext}", np.zeros((4, 1, 16, 16), np.uint8), fps=8)
    (tmp_path / "secret.txt").write_text("not for raters")
    return StudyStore.create(tmp_path, {"a": "model-alpha", "b": "model-beta", "protocol": "p"},
                             [{"clip_id": "c0", "sample": 0, "context": STEMS[0], "a": STEMS[1], "b": STEMS[2]}])


@pytest.fixture
def client(store):
    return TestClient(build_app(store), client=("127.0.0.1", 50000))  # a browser on the serving machine


def test_a_rater_judges_and_gets_the_next_pair(client, store):
    rater = client.post("/api/raters").json()["rater"]
    served = client.get(f"/api/raters/{rater}/next").json()
    assert served["done"] is False and served["judged"] == 0 and served["total"] == 1
    assert {served["left"]["mp4"], served["right"]["mp4"]} == {f"/media/{STEMS[1]}.mp4", f"/media/{STEMS[2]}.mp4"}
    reply = client.post("/api/judgements", json={"rater": rater, "pair": served["pair"], "choice": "left"}).json()
    assert reply == {"recorded": True, "next": {"done": True, "total": 1}}
    again = client.post("/api/judgements", json={"rater": rater, "pair": served["pair"], "choice": "right"}).json()
    assert again["recorded"] is False
    assert len(store.judgements()) == 1
    assert client.get("/").status_code == 200 and "Which continuation" in client.get("/").text
    page = client.get("/results")
    assert page.status_code == 200 and "1 judgements by 1 raters on 1 pairs" in page.text and "model-alpha" in page.text
    assert client.get("/results.png").content[:4] == b"\x89PNG"


@pytest.mark.parametrize("method, url, body, status, message", [
    ("post", "/api/judgements", {"rater": "r1", "pair": 999, "choice": "left"}, 404, "no such pair"),
    ("post", "/api/judgements", {"rater": "r1", "pair": "1", "choice": "left"}, 400, "pair must be"),
    ("post", "/api/judgements", {"rater": "r1", "pair": 1, "choice": "up"}, 400, "choice must be one of"),
    ("post", "/api/judgements", {"rater": "../../x", "pair": 1, "choice": "left"}, 400, "a rater id is"),
    ("post", "/api/judgements", {"rater": "r" * 41, "pair": 1, "choice": "left"}, 400, "a rater id is"),
    ("post", "/api/judgements", {"rater": "fresh", "pair": 1, "choice": "left"}, 409, "not served to this rater"),
    ("post", "/api/judgements", "[1, 2]", 400, "must be a JSON object"),
    ("post", "/api/judgements", "{not json", 400, "not JSON"),
    ("post", "/api/judgements", "x" * (MAX_BODY + 1), 413, "over 1024 bytes"),
    ("get", "/api/raters/bad%20id/next", None, 400, "a rater id is"),
    ("get", "/media/../secret.txt", None, 404, "no such"),  # the client resolves the ..: /secret.txt
    ("get", "/media/..%2Fsecret.txt", None, 404, "no such video"),
    ("get", "/media/%2E%2E/study.sqlite", None, 404, "no such video"),
    ("get", "/media/ffffffffffffffff.mp4", None, 404, "no such video"),
    ("get", f"/media/{STEMS[0]}.mp4/..", None, 404, "no such video"),
    ("get", "/nowhere", None, 404, "no such page"),
    ("get", "/api/judgements", None, 405, "method not allowed"),
])
def test_bad_requests_are_refused_logged_and_the_server_goes_on(client, caplog, method, url, body, status, message):
    client.get("/api/raters/r1/next")  # r1 has pair 1 open
    caplog.set_level(logging.WARNING, logger="vidpred.study")
    if isinstance(body, str):
        response = client.request(method, url, content=body)
    else:
        response = client.request(method, url, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert any(message in r.getMessage() and str(status) in r.getMessage() for r in caplog.records)
    assert client.get("/api/raters/r1/next").json()["pair"] == 1  # still serving


def test_a_body_streamed_without_length_is_cut_off_at_the_limit(client):
    def chunks():
        for _ in range(10):
            yield b"x" * 512
    response = client.post("/api/judgements", content=chunks())
    assert response.status_code == 413


def test_media_are_served_with_ranges(client):
    whole = client.get(f"/media/{STEMS[0]}.webm")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/webm"
    part = client.get(f"/media/{STEMS[0]}.mp4", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.content) == 10


def test_the_results_which_name_the_models_are_shown_only_on_the_serving_machine(store):
    remote = TestClient(build_app(store), client=("192.0.2.7", 50000))
    for path in ("/results", "/results.png"):
        response = remote.get(path)
        assert response.status_code == 403 and "only on the machine serving the study" in response.json()["error"]
    page, served = remote.get("/"), remote.get("/api/raters/r1/next")
    assert page.status_code == served.status_code == 200
    assert not any(name in text for name in ("model-alpha", "model-beta") for text in (page.text, served.text))


def test_a_token_is_needed_in_the_link_then_travels_in_a_cookie(store):
    client = TestClient(build_app(store, token="s3cret-token"))
    assert client.get("/").status_code == 403
    assert client.get(f"/media/{STEMS[0]}.mp4").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/?token=s3cret-token").status_code == 200
    assert client.get("/api/raters/r1/next").status_code == 200  # the cookie set by the link
    other = TestClient(build_app(store, token="s3cret-token"))
    assert other.get("/api/raters/r1/next", headers={"X-Study-Token": "s3cret-token"}).status_code == 200
