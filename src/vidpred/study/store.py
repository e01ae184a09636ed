"""A study's database: one SQLite file in the study folder (``study.sqlite``).

Tables (schema version 1, kept in ``meta``):

- ``meta(key, value)``: the study's settings (protocol, the two sources, clips, samples, frame rate, seed, ...);
- ``pairs(id, clip_id, sample, context, a, b)``: one comparison: the media stems of the shared context clip and of
  model A's and model B's continuations (random names, so a file name never tells a rater which model made it);
- ``raters(id, created)``;
- ``assignments(rater, pair, left, served)``: a pair served to a rater, with the side model A was placed on -- drawn
  at random per judgement and recorded before the rater sees it; a rater has each pair at most once;
- ``judgements(rater, pair, choice, side, created)``: the answer, as the model preferred (``a``, ``b`` or
  ``indifferent``) and as the side clicked; one per rater and pair, so a repeated submission is counted once.

Every write is one transaction (``BEGIN IMMEDIATE``), committed before the server answers, with
``synchronous=FULL``: a judgement the server has acknowledged survives the server being killed.
"""
from __future__ import annotations

import random
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vidpred.config import ConfigError

DATABASE_FILE = "study.sqlite"
MEDIA_DIR = "media"
MEDIA_FORMATS = (".mp4", ".webm")  # every video is written in both; the page offers them in this order
SCHEMA_VERSION = 1
CHOICES = ("a", "b", "indifferent")  # what a judgement records
SIDES = ("left", "right", "indifferent")  # what a rater answers
RATER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pairs (
    id INTEGER PRIMARY KEY, clip_id TEXT NOT NULL, sample INTEGER NOT NULL,
    context TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL);
CREATE TABLE raters (id TEXT PRIMARY KEY, created TEXT NOT NULL);
CREATE TABLE assignments (
    rater TEXT NOT NULL REFERENCES raters(id), pair INTEGER NOT NULL REFERENCES pairs(id),
    a_side TEXT NOT NULL CHECK (a_side IN ('left', 'right')), served TEXT NOT NULL,
    PRIMARY KEY (rater, pair));
CREATE TABLE judgements (
    rater TEXT NOT NULL, pair INTEGER NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'indifferent')),
    side TEXT NOT NULL CHECK (side IN ('left', 'right', 'indifferent')), created TEXT NOT NULL,
    PRIMARY KEY (rater, pair), FOREIGN KEY (rater, pair) REFERENCES assignments(rater, pair));
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def valid_rater_id(text: str) -> bool:
    """1-40 characters: letters, digits, ``_ . -``, not starting with punctuation."""
    return isinstance(text, str) and RATER_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Served:
    """A pair as one rater sees it: which media stem is on the left and which on the right."""
    pair: int
    context: str
    left: str
    right: str
    done: int  # pairs this rater has judged
    total: int  # pairs in the study


class StudyStore:
    """The study database. Each method opens its own connection, so the server's worker threads share nothing."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / DATABASE_FILE

    # -- opening ---------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextmanager
    def _transaction(self, write: bool = True):
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @classmethod
    def create(cls, folder: str | Path, meta: dict, pairs: list[dict]) -> StudyStore:
        """A new database with ``meta`` and ``pairs`` (dicts with clip_id, sample, context, a, b)."""
        store = cls(folder)
        if store.path.exists():
            raise ConfigError(f"{store.path} exists already; a study is created once (give a new folder)")
        store.folder.mkdir(parents=True, exist_ok=True)
        with store._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):  # DDL is transactional in SQLite
                db.execute(statement)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", str(SCHEMA_VERSION)),
                                                              ("created", _now()),
                                                              *((k, str(v)) for k, v in meta.items())])
            db.executemany("INSERT INTO pairs (clip_id, sample, context, a, b) VALUES (?, ?, ?, ?, ?)",
                           [(p["clip_id"], p["sample"], p["context"], p["a"], p["b"]) for p in pairs])
        return store

    @classmethod
    def open(cls, folder: str | Path) -> StudyStore:
        """The study in ``folder``, after checking it is one this version of vidpred reads."""
        store = cls(folder)
        if not store.path.is_file():
            raise ConfigError(f"{folder} is not a study folder (no {DATABASE_FILE}); make one with `vidpred study "
                              "create`")
        try:
            with store._transaction(write=False) as db:
                version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as err:
            raise ConfigError(f"{store.path} is not a readable study database ({err})") from None
        if version is None or version[0] != str(SCHEMA_VERSION):
            raise ConfigError(f"{store.path} has schema version {version[0] if version else 'none'}; this vidpred "
                              f"reads version {SCHEMA_VERSION}")
        return store

    # -- reading ---------------------------------------------------------------------------------------------
    def meta(self) -> dict:
        with self._transaction(write=False) as db:
            return dict(db.execute("SELECT key, value FROM meta"))

    def pairs(self) -> list[dict]:
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT id, clip_id, sample, context, a, b FROM pairs ORDER BY id").fetchall()
        return [dict(zip(("id", "clip_id", "sample", "context", "a", "b"), row)) for row in rows]

    def media_stems(self) -> set[str]:
        """Every media stem the study serves (the only files the server hands out)."""
        return {stem for p in self.pairs() for stem in (p["context"], p["a"], p["b"])}

    def judgements(self) -> list[dict]:
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT rater, pair, choice, side, created FROM judgements ORDER BY created").fetchall()
        return [dict(zip(("rater", "pair", "choice", "side", "created"), row)) for row in rows]

    def rater_exists(self, rater: str) -> bool:
        with self._transaction(write=False) as db:
            return db.execute("SELECT 1 FROM raters WHERE id = ?", (rater,)).fetchone() is not None

    # -- writing ---------------------------------------------------------------------------------------------
    def add_rater(self, rater: str) -> None:
        """Register ``rater`` (a rater coming back is already there: nothing changes)."""
        if not valid_rater_id(rater):
            raise ValueError(f"malformed rater id {rater!r}")
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO raters VALUES (?, ?)", (rater, _now()))

    def next_pair(self, rater: str, rng: random.Random | None = None) -> Served | None:
        """The pair ``rater`` is to judge now: the one served and not yet answered (a reload or a return resumes
        it), else a pair the rater has not had with the fewest servings so far (judgements spread evenly; ties
        drawn at random), placed left/right at random. None when the rater has judged every pair."""
        rng = rng or random.SystemRandom()
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO raters VALUES (?, ?)", (rater, _now()))
            total = db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
            done = db.execute("SELECT COUNT(*) FROM judgements WHERE rater = ?", (rater,)).fetchone()[0]
            open_ = db.execute("SELECT s.pair, s.a_side FROM assignments s LEFT JOIN judgements j ON j.rater = s.rater "
                               "AND j.pair = s.pair WHERE s.rater = ? AND j.pair IS NULL", (rater,)).fetchone()
            if open_ is None:
                candidates = db.execute(
                    "SELECT p.id, (SELECT COUNT(*) FROM assignments s WHERE s.pair = p.id) AS served FROM pairs p "
                    "WHERE p.id NOT IN (SELECT pair FROM assignments WHERE rater = ?)", (rater,)).fetchall()
                if not candidates:
                    return None
                fewest = min(served for _, served in candidates)
                pair = rng.choice([pid for pid, served in candidates if served == fewest])
                a_side = rng.choice(("left", "right"))
                db.execute("INSERT INTO assignments VALUES (?, ?, ?, ?)", (rater, pair, a_side, _now()))
            else:
                pair, a_side = open_
            context, a, b = db.execute("SELECT context, a, b FROM pairs WHERE id = ?", (pair,)).fetchone()
        left, right = (a, b) if a_side == "left" else (b, a)
        return Served(pair, context, left, right, done, total)

    def judge(self, rater: str, pair: int, side: str) -> bool:
        """Record ``rater``'s answer on ``pair`` (``side``: left, right or indifferent). True if recorded, False if
        the rater had already answered it (a double click or a resubmission: counted once, the first answer kept).
        Raises KeyError when the pair was never served to this rater."""
        if side not in SIDES:
            raise ValueError(f"choice {side!r} is not one of {', '.join(SIDES)}")
        with self._transaction() as db:
            row = db.execute("SELECT a_side FROM assignments WHERE rater = ? AND pair = ?", (rater, pair)).fetchone()
            if row is None:
                raise KeyError(pair)
            choice = "indifferent" if side == "indifferent" else ("a" if side == row[0] else "b")
            cursor = db.execute("INSERT OR IGNORE INTO judgements VALUES (?, ?, ?, ?, ?)",
                                (rater, pair, choice, side, _now()))
            return cursor.rowcount == 1
