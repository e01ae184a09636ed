"""The rating page end to end in headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

The study pits A = blank against B = copy_last, so a scripted rater can see which continuation is better: it reads
both videos' current frames through a canvas and prefers the one that is not black. Whatever side the server put
each model on, every non-indifferent answer must come out as "prefer B" -- the placement and its mapping are
checked by what is on screen, not by the database. Set VIDPRED_SCREENSHOTS=DIR to keep the page's screenshots.
"""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from vidpred.cli import main
from vidpred.study.store import StudyStore

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CLIPS, FPS, PREDICTED = 4, 8, 10

# mean red value of a video's current frame, drawn into a canvas (same origin, so readable)
BRIGHTNESS = """const v = document.getElementById(arguments[0]); const c = document.createElement('canvas');
c.width = v.videoWidth; c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i];
return s / (d.length / 4);"""
PLAYBACK = """return ['context', 'left', 'right'].map((id) => { const v = document.getElementById(id);
return {time: v.currentTime, duration: v.duration, src: v.currentSrc, paused: v.paused}; });"""


def _browser():
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver; `make test` installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="vidpred-chromium-")  # each rater its own browser and local storage
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=820,980", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.profile = profile
    return driver


def _close(driver):
    driver.quit()
    shutil.rmtree(driver.profile, ignore_errors=True)


def _text(driver, element_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def _wait_for_pair(driver, progress: str):
    """Wait until the context has played and both continuations loop with the answer buttons on."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "choose-left").is_enabled())
    assert _text(driver, "progress") == progress


def _check_playing(driver) -> dict:
    """The continuations really play: their clocks advance, they last the same (the predicted frames at the
    study's rate), and the context clip is the same length. Returns the left/right sources."""
    first = driver.execute_script(PLAYBACK)
    time.sleep(0.3)
    context, left, right = driver.execute_script(PLAYBACK)
    assert context["duration"] == pytest.approx(PREDICTED / FPS, abs=0.02)
    assert left["duration"] == pytest.approx(right["duration"]) == pytest.approx(PREDICTED / FPS, abs=0.02)
    assert left["time"] != first[1]["time"] and right["time"] != first[2]["time"]
    assert not left["paused"] and not right["paused"]
    return {"left": left["src"], "right": right["src"]}


def _better_side(driver) -> str:
    left, right = driver.execute_script(BRIGHTNESS, "left"), driver.execute_script(BRIGHTNESS, "right")
    assert abs(left - right) > 2, "one continuation should be black (blank) and the other show digits"
    return "left" if left > right else "right"


def _answer(driver, side: str, how: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    if how == "click":
        driver.find_element(By.ID, f"choose-{side}").click()
    else:
        key = {"left": Keys.ARROW_LEFT, "right": Keys.ARROW_RIGHT, "indifferent": Keys.ARROW_DOWN}[side]
        driver.find_element(By.TAG_NAME, "body").send_keys(key)


def _wait_for_progress(driver, progress: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: _text(d, "progress") == progress or _text(d, "done-text"))


def _sign_in(driver, url: str, rater: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.ID, "rater-input").send_keys(rater)
    driver.find_element(By.ID, "start").click()


def test_three_raters_judge_every_pair_in_a_real_browser(tmp_path, serve):
    folder = tmp_path / "study"
    assert main(["study", "create", str(folder), "--a", "blank", "--b", "copy_last", "--protocol", "mmnist-10-10",
                 "--clips", str(CLIPS), "--fps", str(FPS)]) == 0
    server = serve(folder)
    shots = os.environ.get("VIDPRED_SCREENSHOTS")
    sources = []

    # rater 1 answers with clicks, and its last answer is then sent a second time (a double submission)
    driver = _browser()
    try:
        _sign_in(driver, server.url, "rater-1")
        for k in range(1, CLIPS + 1):
            _wait_for_pair(driver, f"{k} of {CLIPS}")
            sources.append(_check_playing(driver))
            if k == 1 and shots:
                driver.save_screenshot(str(Path(shots) / "study_rating_page.png"))
            _answer(driver, _better_side(driver), "click")
            if k < CLIPS:
                _wait_for_progress(driver, f"{k + 1} of {CLIPS}")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 30).until(lambda d: "all 4 pairs" in _text(d, "done-text"))
        last = StudyStore.open(folder).judgements()[-1]
        again = driver.execute_script(
            "const r = await fetch('/api/judgements', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({rater: 'rater-1', pair: arguments[0], choice: 'left'})}); return await r.json();",
            last["pair"])
        assert again["recorded"] is False
    finally:
        _close(driver)

    # rater 2 answers with the keyboard (one "can't tell")
    driver = _browser()
    try:
        _sign_in(driver, server.url, "rater-2")
        for k in range(1, CLIPS + 1):
            _wait_for_pair(driver, f"{k} of {CLIPS}")
            sources.append(_check_playing(driver))
            _answer(driver, "indifferent" if k == 2 else _better_side(driver), "key")
            if k < CLIPS:
                _wait_for_progress(driver, f"{k + 1} of {CLIPS}")
    finally:
        _close(driver)

    # rater 3 reloads mid-study, and the server is killed and restarted under it
    driver = _browser()
    try:
        _sign_in(driver, server.url, "rater-3")
        _wait_for_pair(driver, f"1 of {CLIPS}")
        _answer(driver, _better_side(driver), "click")
        _wait_for_pair(driver, f"2 of {CLIPS}")
        _answer(driver, _better_side(driver), "key")
        _wait_for_pair(driver, f"3 of {CLIPS}")
        before = _check_playing(driver)
        driver.refresh()  # resumes as rater-3 (kept by the page) on the same pair, sides unchanged
        _wait_for_pair(driver, f"3 of {CLIPS}")
        assert _check_playing(driver) == before
        _answer(driver, _better_side(driver), "click")
        _wait_for_pair(driver, f"4 of {CLIPS}")  # the answer was acknowledged: the next pair came back with it
        acknowledged = len(StudyStore.open(folder).judgements())
        assert acknowledged == 2 * CLIPS + 3
        server.kill()
        server = serve(folder, port=server.port)
        assert len(StudyStore.open(folder).judgements()) == acknowledged  # nothing acknowledged was lost
        driver.refresh()
        _wait_for_pair(driver, f"4 of {CLIPS}")
        _answer(driver, "indifferent", "click")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 30).until(lambda d: "all 4 pairs" in _text(d, "done-text"))

        # the results, from the command and on the app's page, are what was clicked
        out = tmp_path / "results"
        assert main(["study", "results", str(folder), "--out", str(out)]) == 0
        results = json.loads((out / "results.json").read_text())
        table = {choice: entry["count"] for choice, entry in results["table"].items()}
        assert table == {"a": 0, "b": 10, "indifferent": 2}
        assert results["per_rater"] == {"rater-1": {"a": 0, "b": 4, "indifferent": 0},
                                        "rater-2": {"a": 0, "b": 3, "indifferent": 1},
                                        "rater-3": {"a": 0, "b": 3, "indifferent": 1}}
        assert results["judgements_per_pair"] == {"min": 3, "max": 3}
        driver.get(f"{server.url}/results")
        assert _text(driver, "summary") == "12 judgements by 3 raters on 4 pairs"
        assert driver.execute_script("const i = document.querySelector('img'); return i.complete && i.naturalWidth") > 0
        if shots:
            driver.save_screenshot(str(Path(shots) / "study_results_page.png"))
    finally:
        _close(driver)
    played = {Path(src.split("?")[0]).suffix for pair in sources for src in pair.values()}
    assert played == {".mp4"}  # Debian's Chromium plays the H.264 files (the WebM ones are the fallback)
