"""The rating page end to end in headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

The study pits A = blank against B = copy_last, so a scripted rater can see which continuation is better: it reads
both videos' current frames through a canvas and prefers the one that is not black. Whatever side the server put
each model on, every non-indifferent answer must come out as "prefer B" -- the placement and its mapping are
checked by what is on screen, not by the database. Set VIDPRED_SCREENSHOTS=DIR to keep the pages' screenshots.
"""
import json
import os
from pathlib import Path

import pytest

from vidpred.cli import main
from vidpred.study.store import StudyStore

pytest.importorskip("selenium")
from vidpred.study.browser import Rater  # noqa: E402

CLIPS, FPS, PREDICTED = 4, 8, 10


def check_playing(rater: Rater) -> dict:
    """The videos really play: both continuations' clocks advance, they last the same (the predicted frames at
    the study's rate), as does the context clip. Returns the continuations' sources."""
    first, (context, left, right) = rater.playback()
    assert context["duration"] == pytest.approx(PREDICTED / FPS, abs=0.02)
    assert left["duration"] == pytest.approx(right["duration"]) == pytest.approx(PREDICTED / FPS, abs=0.02)
    assert left["time"] != first[1]["time"] and right["time"] != first[2]["time"]
    assert not left["paused"] and not right["paused"]
    return {"left": left["src"], "right": right["src"]}


def better_side(rater: Rater) -> str:
    left, right = rater.brightness("left"), rater.brightness("right")
    assert abs(left - right) > 2, "one continuation should be black (blank) and the other show digits"
    return "left" if left > right else "right"


def test_three_raters_judge_every_pair_in_a_real_browser(tmp_path, serve):
    folder = tmp_path / "study"
    assert main(["study", "create", str(folder), "--a", "blank", "--b", "copy_last", "--protocol", "mmnist-10-10",
                 "--clips", str(CLIPS), "--fps", str(FPS)]) == 0
    server = serve(folder)
    shots = os.environ.get("VIDPRED_SCREENSHOTS")
    sources = []

    with Rater(server.url, "rater-1") as rater:  # answers with clicks, then sends its last answer again
        rater.sign_in()
        for k in range(1, CLIPS + 1):
            assert rater.wait_for_pair() == f"{k} of {CLIPS}"
            sources.append(check_playing(rater))
            if k == 1 and shots:
                rater.driver.save_screenshot(str(Path(shots) / "study_rating_page.png"))
            rater.answer(better_side(rater), "click")
        assert rater.wait_for_pair() == "" and "all 4 pairs" in rater.text("done-text")
        last = StudyStore.open(folder).judgements()[-1]
        again = rater.driver.execute_script(
            "const r = await fetch('/api/judgements', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({rater: 'rater-1', pair: arguments[0], choice: 'left'})}); return await r.json();",
            last["pair"])
        assert again["recorded"] is False

    with Rater(server.url, None) as rater:  # is given an id by the page; answers with the keyboard, one "can't tell"
        rater.sign_in()
        given = rater.name
        assert given.startswith("r-")
        for k in range(1, CLIPS + 1):
            assert rater.wait_for_pair() == f"{k} of {CLIPS}"
            sources.append(check_playing(rater))
            rater.answer("indifferent" if k == 2 else better_side(rater), "key")

    with Rater(server.url, "rater-3") as rater:  # reloads mid-study; the server is killed and restarted under it
        rater.sign_in()
        for k, how in ((1, "click"), (2, "key")):
            assert rater.wait_for_pair() == f"{k} of {CLIPS}"
            rater.answer(better_side(rater), how)
        assert rater.wait_for_pair() == f"3 of {CLIPS}"
        before = check_playing(rater)
        rater.driver.refresh()  # resumes as rater-3 (kept by the page) on the same pair, sides unchanged
        assert rater.wait_for_pair() == f"3 of {CLIPS}"
        assert check_playing(rater) == before
        rater.answer(better_side(rater), "click")  # returns once acknowledged: the next pair came with the answer
        acknowledged = len(StudyStore.open(folder).judgements())
        assert acknowledged == 2 * CLIPS + 3
        server.kill()
        server = serve(folder, port=server.port)
        assert len(StudyStore.open(folder).judgements()) == acknowledged  # nothing acknowledged was lost
        rater.driver.refresh()
        assert rater.wait_for_pair() == f"4 of {CLIPS}"
        rater.answer("indifferent", "click")
        assert rater.wait_for_pair() == ""

        # the results, from the command and on the app's page, are what was clicked
        out = tmp_path / "results"
        assert main(["study", "results", str(folder), "--out", str(out)]) == 0
        results = json.loads((out / "results.json").read_text())
        assert {choice: entry["count"] for choice, entry in results["table"].items()} == \
            {"a": 0, "b": 10, "indifferent": 2}
        assert results["per_rater"] == {"rater-1": {"a": 0, "b": 4, "indifferent": 0},
                                        given: {"a": 0, "b": 3, "indifferent": 1},
                                        "rater-3": {"a": 0, "b": 3, "indifferent": 1}}
        assert results["judgements_per_pair"] == {"min": 3, "max": 3}
        rater.driver.get(f"{server.url}/results")
        assert rater.text("summary") == "12 judgements by 3 raters on 4 pairs"
        assert rater.driver.execute_script("const i = document.querySelector('img'); return i.complete && i.naturalWidth")
        if shots:
            rater.driver.save_screenshot(str(Path(shots) / "study_results_page.png"))
    played = {Path(src).suffix for pair in sources for src in pair.values()}
    assert played == {".mp4"}  # Debian's Chromium plays the H.264 files (the WebM ones are the fallback)
