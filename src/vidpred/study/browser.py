"""Scripted raters: the rating page driven in headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
through Selenium, a development dependency). The browser tests use them, and so does a dry run of a study before
people rate it (``benchmarks/study_scripted_raters.py``); no judgement they make says anything about the videos.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Chromium's own connections (updates, sync, ...) are refused on a closed network: off, with the sandbox (root).
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=820,980")

# mean red value of a video element's current frame, drawn into a canvas (same origin, so readable)
_BRIGHTNESS = """const v = document.getElementById(arguments[0]); const c = document.createElement('canvas');
c.width = v.videoWidth; c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i];
return s / (d.length / 4);"""
_PLAYBACK = """return ['context', 'left', 'right'].map((id) => { const v = document.getElementById(id);
return {time: v.currentTime, duration: v.duration, src: v.currentSrc, paused: v.paused}; });"""


class Rater:
    """One rater in a browser of its own (its own profile, so its own stored rater id)."""

    def __init__(self, url: str, name: str | None):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
            raise RuntimeError("scripted raters need Debian's chromium and chromium-driver (`make test` installs them)")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix="vidpred-chromium-")
        for flag in (*FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.url, self.name = url, name

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Rater:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def text(self, element_id: str) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id).text

    def sign_in(self) -> None:
        """Open the page and enter the rater's name, or (name None) ask the page for a new id."""
        from selenium.webdriver.common.by import By

        self.driver.get(self.url)
        if self.name is None:
            self.driver.find_element(By.ID, "new-rater").click()
            self.wait(lambda: self.text("rater-name"))
            self.name = self.text("rater-name")
        else:
            self.driver.find_element(By.ID, "rater-input").send_keys(self.name)
            self.driver.find_element(By.ID, "start").click()

    def wait(self, condition, seconds: float = 30) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, seconds).until(lambda driver: condition())

    def wait_for_pair(self) -> str:
        """Wait until the context has played and both continuations loop with the answer buttons on; returns the
        progress shown ("3 of 4"), or "" when the rater has judged every pair."""
        from selenium.webdriver.common.by import By

        self.wait(lambda: self.driver.find_element(By.ID, "choose-left").is_enabled() or self.text("done-text"))
        return "" if self.text("done-text") else self.text("progress")

    def playback(self, pause: float = 0.3) -> tuple[list[dict], list[dict]]:
        """The context, left and right videos' clocks, durations and sources, read twice ``pause`` s apart."""
        first = self.driver.execute_script(_PLAYBACK)
        time.sleep(pause)
        return first, self.driver.execute_script(_PLAYBACK)

    def brightness(self, side: str) -> float:
        return self.driver.execute_script(_BRIGHTNESS, side)

    def answer(self, side: str, how: str = "click") -> None:
        """``side``: left, right or indifferent, by its button or (``how="key"``) by its arrow key."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        progress = self.text("progress")
        if how == "click":
            self.driver.find_element(By.ID, f"choose-{side}").click()
        else:
            key = {"left": Keys.ARROW_LEFT, "right": Keys.ARROW_RIGHT, "indifferent": Keys.ARROW_DOWN}[side]
            self.driver.find_element(By.TAG_NAME, "body").send_keys(key)
        # acknowledged: the server's answer brought the next pair (or the end)
        self.wait(lambda: self.text("done-text") or self.text("progress") != progress)
