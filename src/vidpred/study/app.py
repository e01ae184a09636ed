"""``vidpred study serve``: the rating page and its API, a Starlette app served by uvicorn.

Routes (every one behind the study's token when it has one):

- ``GET /`` the rating page (``page.html``); ``GET /results`` the results page, ``GET /results.png`` its plot --
  both only to a browser on the serving machine itself, since they name the models and raters must not see them;
- ``POST /api/raters`` a new rater id; ``GET /api/raters/{rater}/next`` the pair that rater is to judge now
  (the open one after a reload; ``{"done": true, ...}`` at the end);
- ``POST /api/judgements`` ``{"rater", "pair", "choice": "left" | "right" | "indifferent"}``: recorded in its own
  transaction before the answer, which carries the next pair; a repeated answer is counted once;
- ``GET /media/{name}`` one of the study's videos, by its random name, nothing else.

Every refused request -- an unknown route, pair or medium, a malformed rater id or choice, a body over
``MAX_BODY`` bytes or not JSON, a missing token -- is answered with a 4xx and one JSON sentence, and logged on
the ``vidpred.study`` logger; none reaches a traceback.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from vidpred.study.results import results_html, results_plot, study_results
from vidpred.study.store import MEDIA_DIR, MEDIA_FORMATS, SIDES, Served, StudyStore, valid_rater_id

log = logging.getLogger("vidpred.study")
MAX_BODY = 1024  # bytes: a judgement is about 60
TOKEN_COOKIE = "study_token"
MEDIA_NAME = re.compile(r"([0-9a-f]{16})(\.mp4|\.webm)")
LOOPBACK = ("127.0.0.1", "::1")
TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s]*")


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _refuse(request: Request, status: int, message: str) -> JSONResponse:
    client = request.client.host if request.client else "?"
    log.warning("refused %s %s from %s: %d %s", request.method, request.url.path[:200], client, status, message)
    return JSONResponse({"error": message}, status_code=status)


async def _on_refused(request: Request, err: Refused) -> JSONResponse:
    return _refuse(request, err.status, err.message)


async def _on_http_error(request: Request, err: HTTPException) -> JSONResponse:
    message = {404: "no such page", 405: "method not allowed"}.get(err.status_code, str(err.detail))
    return _refuse(request, err.status_code, message)


async def _read_json(request: Request) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, f"the request body is over {MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():  # a body sent without a length is counted as it arrives
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"the request body is over {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the request body must be a JSON object")
    return data


def _rater(value) -> str:
    if not valid_rater_id(value):
        raise Refused(400, "a rater id is 1-40 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def _served(served: Served | None, store_total: int | None = None) -> dict:
    if served is None:
        return {"done": True, "total": store_total}

    def sources(stem: str) -> dict:
        return {ext[1:]: f"/media/{stem}{ext}" for ext in MEDIA_FORMATS}

    return {"done": False, "pair": served.pair, "context": sources(served.context), "left": sources(served.left),
            "right": sources(served.right), "judged": served.done, "total": served.total}


class _TokenCheck(BaseHTTPMiddleware):
    """A study run with a token answers only requests that carry it: in the link (``?token=``, which also sets a
    cookie so the page's own requests and videos carry it), the cookie, or an ``X-Study-Token`` header."""

    def __init__(self, app, token: str):
        super().__init__(app)
        self.token = token.encode()

    async def dispatch(self, request: Request, call_next):
        given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
                 or request.headers.get("x-study-token") or "")
        if not secrets.compare_digest(given.encode(), self.token):
            return _refuse(request, 403, "this study needs the link with its token")
        response = await call_next(request)
        if "token" in request.query_params:
            response.set_cookie(TOKEN_COOKIE, self.token.decode(), httponly=True, samesite="strict")
        return response


def build_app(store: StudyStore, token: str | None = None) -> Starlette:
    media = store.folder / MEDIA_DIR
    stems = store.media_stems()
    pairs = {p["id"] for p in store.pairs()}
    page = resources.files("vidpred.study").joinpath("page.html").read_text()

    async def rating_page(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    def only_here(request: Request) -> None:
        if request.client is None or request.client.host not in LOOPBACK:
            raise Refused(403, "the results name the models, so they are shown only on the machine serving the study")

    async def results_page(request: Request) -> HTMLResponse:
        only_here(request)
        results = await run_in_threadpool(study_results, store)
        return HTMLResponse(results_html(results, "/results.png"))

    async def results_png(request: Request) -> Response:
        only_here(request)
        results = await run_in_threadpool(study_results, store)
        return Response(await run_in_threadpool(results_plot, results), media_type="image/png")

    async def new_rater(request: Request) -> JSONResponse:
        rater = f"r-{secrets.token_hex(4)}"
        await run_in_threadpool(store.add_rater, rater)
        log.info("new rater %s", rater)
        return JSONResponse({"rater": rater})

    async def next_pair(request: Request) -> JSONResponse:
        rater = _rater(request.path_params["rater"])
        served = await run_in_threadpool(store.next_pair, rater)
        return JSONResponse(_served(served, len(pairs)))

    async def judge(request: Request) -> JSONResponse:
        data = await _read_json(request)
        rater = _rater(data.get("rater"))
        pair, choice = data.get("pair"), data.get("choice")
        if choice not in SIDES:
            raise Refused(400, f"choice must be one of {', '.join(SIDES)}")
        if not isinstance(pair, int) or isinstance(pair, bool):
            raise Refused(400, "pair must be a pair id (an integer)")
        if pair not in pairs:
            raise Refused(404, "no such pair in this study")
        try:
            recorded = await run_in_threadpool(store.judge, rater, pair, choice)
        except KeyError:
            raise Refused(409, "this pair was not served to this rater") from None
        if recorded:
            log.info("judgement: rater %s, pair %d, %s", rater, pair, choice)
        served = await run_in_threadpool(store.next_pair, rater)
        return JSONResponse({"recorded": recorded, "next": _served(served, len(pairs))})

    async def medium(request: Request) -> Response:
        name = request.path_params["name"]
        match = MEDIA_NAME.fullmatch(name)
        if match is None or match.group(1) not in stems:  # never a path: only the study's own files, by name
            raise Refused(404, "no such video in this study")
        return FileResponse(media / name)

    routes = [Route("/", rating_page), Route("/results", results_page), Route("/results.png", results_png),
              Route("/api/raters", new_rater, methods=["POST"]),
              Route("/api/raters/{rater}/next", next_pair),
              Route("/api/judgements", judge, methods=["POST"]),
              Route("/media/{name:path}", medium)]
    app = Starlette(routes=routes, exception_handlers={Refused: _on_refused, HTTPException: _on_http_error})
    if token:
        app.add_middleware(_TokenCheck, token=token)
    return app


class HideToken(logging.Filter):
    """uvicorn's access log writes each request line with its query: the study link's ``?token=`` would land in
    every log a rater's first request reaches. This filter writes ``token=<hidden>`` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN_IN_QUERY.sub(r"\1token=<hidden>", arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        return True


def serve(store: StudyStore, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = uvicorn.Config(build_app(store, token), host=host, port=port, log_level="info")  # sets up its loggers
    logging.getLogger("uvicorn.access").addFilter(HideToken())
    uvicorn.Server(config).run()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder, port: int, token: str | None = None, output=None, wait_s: float = 60):
    """``vidpred study serve FOLDER`` in a process of its own on loopback ``port``, returned once it answers
    (for tests, benchmarks and dry runs). Raises if it ends or stays silent for ``wait_s`` seconds."""
    import subprocess
    import sys
    import time
    import urllib.request

    command = [sys.executable, "-m", "vidpred.cli", "study", "serve", str(folder), "--port", str(port)]
    if token:
        command += ["--token", token]
    process = subprocess.Popen(command, stdout=output or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/" + (f"?token={token}" if token else ""), timeout=2)
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the study server ended before it answered") from None
            time.sleep(0.1)
    process.kill()
    raise TimeoutError(f"the study server did not answer within {wait_s:g} s")
