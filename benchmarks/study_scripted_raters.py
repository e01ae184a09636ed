"""A dry run of a study with scripted raters in headless Chromium: the whole pipeline, no human judgement.

    .venv/bin/python benchmarks/study_scripted_raters.py STUDY_DIR [--raters 3] \
        [--out benchmarks/results/study_dry_run.json]

Serves STUDY_DIR (made by `vidpred study create`) with `vidpred study serve` on a free loopback port; each scripted
rater (``vidpred.study.browser.Rater``, its own browser) signs in, waits for each pair's context to play, checks
that both continuations play, and answers by a fixed rule that says nothing about quality: the continuation whose
current frame holds more light (mean intensity read through a canvas), "can't tell" when the two are within 10%.
Raters alternate between the buttons and the arrow keys. Records the seconds per judgement (mostly the context
clip playing) and the codec the browser chose; the table is `vidpred study results STUDY_DIR`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402
from vidpred.study.app import free_port, start_server  # noqa: E402
from vidpred.study.browser import Rater  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir")
    parser.add_argument("--raters", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/study_dry_run.json")
    args = parser.parse_args()
    port = free_port()
    server = start_server(args.study_dir, port)
    url = f"http://127.0.0.1:{port}/"
    per_judgement, codecs, answers = [], set(), 0
    try:
        for index in range(args.raters):
            with Rater(url, f"scripted-{index + 1}") as rater:
                rater.sign_in()
                started = time.perf_counter()
                while rater.wait_for_pair():
                    first, (_, left, right) = rater.playback()
                    if left["time"] == first[1]["time"] or right["time"] == first[2]["time"]:
                        raise SystemExit("a continuation does not play")
                    codecs.add(Path(left["src"]).suffix)
                    light = {side: rater.brightness(side) for side in ("left", "right")}
                    side = ("indifferent" if abs(light["left"] - light["right"]) <= 0.1 * max(light.values(), default=0)
                            else max(light, key=light.get))
                    rater.answer(side, "click" if answers % 2 == 0 else "key")
                    answers += 1
                    per_judgement.append(time.perf_counter() - started)
                    started = time.perf_counter()
                print(f"scripted-{index + 1}: done")
    finally:
        server.terminate()
        server.wait()
    per_judgement.sort()
    summary = {"study": args.study_dir, "raters": args.raters, "judgements": answers,
               "median_seconds_per_judgement": per_judgement[len(per_judgement) // 2],
               "codecs_played": sorted(codecs), "rule": "more light wins; within 10%: can't tell (not a human)"}
    print(summary)
    save_result(args.out, "study_scripted_raters.py", **summary)


if __name__ == "__main__":
    main()
