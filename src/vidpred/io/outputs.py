"""What a command writes: checked before any work, and whole or absent afterwards.

A verb checks every output path first (``output_file``, ``output_folder``): a wrong suffix, a folder where a
file is wanted, or a place it may not write is one sentence before minutes of sampling are spent. It then does
its work inside ``removed_on_failure``: if the work fails or is interrupted (Ctrl-C), everything the command
created there -- files, folders, the missing parent folders it made -- is removed again, so what is left on disk
after an error is what was there before.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from vidpred.config import ConfigError


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 frame"``, ``"2 frames"``: a count as a person writes it in a message."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(folder: Path, option: str, given) -> None:
    """``folder`` exists or can be made, and a file can be written in it (tried, not guessed: ``os.access`` says
    yes to root on a read-only file system)."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ConfigError(f"{option} {given}: {existing} is a file, so no folder can be made inside it")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(f"{option} {given}: cannot write in {existing} ({err.strerror or err})") from None


def output_file(path: str | Path, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """``path`` as a file this command may write: one of ``suffixes`` (lower case, with the dot), not a folder,
    and in a folder that exists or can be made and is writable."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        listed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        raise ConfigError(f"{option} {path}: the file name must end in {listed}")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name ending in {path.suffix}")
    _check_writable(path.parent, option, path)
    return path


def output_folder(path: str | Path, option: str = "--out") -> Path:
    """``path`` as a folder this command may write into: not a file, and existing or makeable, and writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file; give a folder")
    _check_writable(path, option, path)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def removed_on_failure(*paths: str | Path | None):
    """Undo what the body creates at ``paths`` (files or folders; None is skipped) if it raises or is interrupted:
    a path that did not exist is removed with every missing parent folder made for it; a folder that existed
    loses the entries that were not in it before. Entries that existed are left as they are."""
    before: list[tuple[Path, set[str] | None]] = []
    for path in paths:
        if path is None:
            continue
        path = Path(path).absolute()
        if path.is_dir():
            before.append((path, set(os.listdir(path))))
        else:  # the topmost of the path's missing folders, or the path itself
            top = path
            while not top.parent.exists() and top.parent != top:
                top = top.parent
            before.append((top, None))
    try:
        yield
    except BaseException:
        for path, entries in before:
            if entries is None:
                _remove(path)
            elif path.is_dir():
                for name in set(os.listdir(path)) - entries:
                    _remove(path / name)
        raise
