"""The study database (pairing, placement, duplicates, schema) and the results' statistics."""
import random
import sqlite3
from collections import Counter

import pytest

from vidpred.config import ConfigError
from vidpred.study.results import krippendorff_alpha_nominal, pairwise_agreement, study_results, wilson_interval
from vidpred.study.store import DATABASE_FILE, StudyStore


def make_store(folder, pairs=4) -> StudyStore:
    rows = [{"clip_id": f"{i:05d}@0", "sample": 0, "context": f"c{i}", "a": f"a{i}", "b": f"b{i}"} for i in range(pairs)]
    return StudyStore.create(folder, {"a": "model_a", "b": "model_b", "protocol": "mmnist-10-10"}, rows)


def test_each_rater_gets_each_pair_once_and_servings_spread_evenly(tmp_path):
    store = make_store(tmp_path, pairs=4)
    rng = random.Random(0)
    served = Counter()
    for rater in [f"r{i}" for i in range(5)]:  # 5 raters stop after 2 pairs each: 10 servings over 4 pairs
        seen = []
        for _ in range(2):
            pair = store.next_pair(rater, rng)
            assert store.judge(rater, pair.pair, "left")
            seen.append(pair.pair)
            served[pair.pair] += 1
        assert len(set(seen)) == 2
        assert max(served.values()) - min(served[p] for p in range(1, 5)) <= 1  # never two ahead of another pair
    assert sorted(served.values()) == [2, 2, 3, 3]
    for _ in range(2):  # the last rater goes on to the end: the two pairs left, then done
        pair = store.next_pair("r4", rng)
        store.judge("r4", pair.pair, "right")
    assert store.next_pair("r4", rng) is None
    assert sorted(j["pair"] for j in store.judgements() if j["rater"] == "r4") == [1, 2, 3, 4]


def test_an_open_pair_is_served_again_with_the_same_placement(tmp_path):
    store = make_store(tmp_path)
    first = store.next_pair("r1")
    again = store.next_pair("r1")  # a reload, or the rater coming back tomorrow
    assert again == first
    assert (first.done, first.total) == (0, 4)
    store.judge("r1", first.pair, "indifferent")
    following = store.next_pair("r1")
    assert following.pair != first.pair and following.done == 1


def test_sides_map_to_models_through_the_recorded_placement(tmp_path):
    store = make_store(tmp_path, pairs=40)
    rng = random.Random(1)
    placements = Counter()
    for _ in range(40):
        served = store.next_pair("r1", rng)
        a_on_left = served.left.startswith("a")
        placements[a_on_left] += 1
        store.judge("r1", served.pair, "left")
        choice = next(j["choice"] for j in store.judgements() if j["pair"] == served.pair)
        assert choice == ("a" if a_on_left else "b")
    assert placements[True] > 5 and placements[False] > 5  # placement is drawn per judgement, both sides occur


def test_a_repeated_answer_is_counted_once_and_the_first_is_kept(tmp_path):
    store = make_store(tmp_path)
    served = store.next_pair("r1")
    assert store.judge("r1", served.pair, "left") is True
    assert store.judge("r1", served.pair, "right") is False
    assert [j["side"] for j in store.judgements()] == ["left"]


def test_answers_on_pairs_never_served_and_bad_choices_are_refused(tmp_path):
    store = make_store(tmp_path)
    with pytest.raises(KeyError):
        store.judge("r1", 3, "left")
    served = store.next_pair("r1")
    with pytest.raises(ValueError, match="choice"):
        store.judge("r1", served.pair, "up")
    with pytest.raises(ValueError, match="rater id"):
        store.add_rater("../etc")
    assert store.judgements() == []


def test_opening_checks_the_folder_and_the_schema_version(tmp_path):
    with pytest.raises(ConfigError, match="not a study folder"):
        StudyStore.open(tmp_path)
    make_store(tmp_path)
    assert StudyStore.open(tmp_path).meta()["schema_version"] == "1"
    with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError, match="schema version 99; this vidpred reads version 1"):
        StudyStore.open(tmp_path)
    with pytest.raises(ConfigError, match="exists already"):
        make_store(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / DATABASE_FILE).write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError, match="not a readable study database"):
        StudyStore.open(tmp_path / "other")


def test_wilson_interval_matches_known_values():
    low, high = wilson_interval(0, 10)  # upper bound z^2 / (n + z^2)
    assert low == 0 and high == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    low, high = wilson_interval(5, 10)  # symmetric about 1/2
    assert low + high == pytest.approx(1.0) and low == pytest.approx(0.2366, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_krippendorff_alpha_reproduces_krippendorffs_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers x 12 units, nominal: 0.743
    rows = ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . 3", ". 3 3 3 2 3 4 2 2 5 1 .", "1 2 3 3 2 4 4 1 2 5 1 ."]
    units = [[v for v in column if v != "."] for column in zip(*(r.split() for r in rows))]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]) is None  # no variation: undefined
    assert krippendorff_alpha_nominal([["a"], ["b"]]) is None  # no pair judged twice
    assert pairwise_agreement([["a", "a", "b"], ["b", "b"]]) == pytest.approx(2 / 4)


def test_results_table_counts_and_shares(tmp_path):
    store = make_store(tmp_path, pairs=2)
    answers = {"r1": ["left", "left"], "r2": ["right", "indifferent"], "r3": ["left", "right"]}
    expected = Counter()
    for rater, sides in answers.items():
        for side in sides:
            served = store.next_pair(rater)
            store.judge(rater, served.pair, side)
            a_on_left = served.left.startswith("a")
            expected["indifferent" if side == "indifferent" else "a" if (side == "left") == a_on_left else "b"] += 1
    results = study_results(store)
    assert results["judgements"] == 6 and results["raters"] == 3 and results["pairs"] == 2
    for choice in ("a", "b", "indifferent"):
        assert results["table"][choice]["count"] == expected[choice]
        assert results["table"][choice]["share"] == pytest.approx(expected[choice] / 6)
    assert sum(p["judgements"] for p in results["per_pair"]) == 6
    assert results["judgements_per_pair"] == {"min": 3, "max": 3}
