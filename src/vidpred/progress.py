"""Progress for long work: a rich progress bar on a terminal; elsewhere (logs, CI, background runs) a line
on stderr every 10% with the elapsed time, so a log file shows that the work moves."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """``with Progress("what", total) as p: ... p.advance(n)``."""

    def __init__(self, description: str, total: int):
        self.description, self.total, self.done = description, max(int(total), 0), 0
        self.interactive = sys.stderr.isatty()
        self._rich = None
        self._next_report = 0.1
        self._started = time.perf_counter()

    def __enter__(self) -> Progress:
        if self.interactive:
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(transient=False)
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.advance(self._task, n)
        elif self.total and self.done / self.total >= self._next_report - 1e-9:
            fraction = self.done / self.total
            print(f"{self.description}: {self.done}/{self.total} ({fraction:.0%}), "
                  f"{time.perf_counter() - self._started:.0f} s", file=sys.stderr, flush=True)
            while self._next_report <= fraction + 1e-9:
                self._next_report += 0.1

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` showing progress."""
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    with Progress(description, total) as progress:
        for item in items:
            yield item
            progress.advance()


def duration(seconds: float) -> str:
    """A length of time as a person says it: "0.4 s", "12 s", "3 min 20 s", "2 h 5 min", "3 days 4 h"."""
    seconds = max(float(seconds), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, hours = int(seconds // 60), int(seconds // 3600)
    if seconds < 3600:
        return f"{minutes} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{hours} h {int(seconds % 3600 // 60)} min"
    return f"{int(seconds // 86400)} days {int(seconds % 86400 // 3600)} h"
