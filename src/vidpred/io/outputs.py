"""What a command writes: checked before any work, written under temporary names, moved into place at the end.

The rule, for every verb: nothing that was on disk before a command ran is lost because it failed or was stopped.

- Every output path is checked first (``output_file``, ``output_folder``): a wrong suffix, a folder where a file
  is wanted, a place that cannot be written, an output that is one of the command's own inputs, or a folder that
  holds the results of something else (without ``--overwrite``) is one sentence before minutes of work are spent.
- The work then writes inside ``staged_outputs()``: each output file to a temporary name beside it, each output
  folder to a temporary folder beside it. Only when the work has succeeded are they moved into place -- a file
  by one rename over the old one; a folder entry by entry, the entries of the same name (and those the previous
  run of the same command wrote there) set aside until the new ones are in, entries vidpred did not write left
  alone. Ctrl-C is held back during those few renames. On an error, Ctrl-C or a kill, the temporary names are
  all there is to remove: what the target held before is untouched.
- A folder a command wrote records what it holds in ``.vidpred-output.json`` (the command, what it was about, the
  entries it wrote), so a later command knows whether the folder holds "the same thing" (a re-run replaces it)
  or something else (refused unless ``--overwrite``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vidpred.config import ConfigError

MANIFEST = ".vidpred-output.json"
_STAGING = ".vidpred-partial"  # temporary names: .<name>.vidpred-partial-<pid>[-n]<suffix>


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


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it (after resolving links)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _check_not_an_input(path: Path, option: str, inputs, inside: bool) -> None:
    """Refuse an output that is one of ``inputs``, holds one, or (``inside``) lies in an input folder -- where a
    written image would become a frame of the input."""
    for given in inputs:
        if given is None or str(given).startswith("data:"):
            continue
        source = Path(given)
        if _same(path, source):
            raise ConfigError(f"{option} {path} is the input {given}; write the output somewhere else")
        if inside and source.is_dir() and _inside(path, source):
            raise ConfigError(f"{option} {path} lies inside the input folder {given}; write the output elsewhere")
        if path.is_dir() and _inside(source, path):
            raise ConfigError(f"{option} {path} holds the input {given}; write the output to another folder")


def output_file(path: str | Path, suffixes: tuple[str, ...], option: str = "--out", inputs=()) -> Path:
    """``path`` as a file this command may write: one of ``suffixes`` (lower case, with the dot), not a folder,
    not one of the command's ``inputs`` (files or folders; ``data:`` specs are skipped), and in a folder that
    exists or can be made and is writable. An existing file there is replaced only when the command succeeds."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        listed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        raise ConfigError(f"{option} {path}: the file name must end in {listed}")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name ending in {path.suffix}")
    _check_not_an_input(path, option, inputs, inside=True)
    _check_writable(path.parent, option, path)
    return path


@dataclass
class Written:
    """What a command writes into an output folder: the command (``"evaluate"``), what the results are of
    (``key``: compared with a folder's record to tell a re-run from something else) and how to say so."""
    command: str
    key: dict = field(default_factory=dict)
    about: str = ""
    # what a folder written before folders carried a record holds, as a record (None: not this command's output)
    recognise: Callable[[Path], dict | None] | None = None

    def record(self, entries: list[str]) -> dict:
        return {"command": self.command, "key": self.key, "about": self.about, "entries": sorted(entries)}


def read_manifest(folder: Path) -> dict | None:
    """The record of what vidpred wrote in ``folder`` (None when there is none or it is damaged)."""
    try:
        record = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return _checked(record)


def _checked(record) -> dict | None:
    if not isinstance(record, dict) or not isinstance(record.get("entries"), list):
        return None
    # entries are plain names in the folder: a record that names anything else is not trusted with a rename
    record["entries"] = [e for e in record["entries"] if isinstance(e, str) and e not in ("", ".", "..")
                         and "/" not in e and "\\" not in e]
    return record


def _record(folder: Path, written: Written | None) -> dict | None:
    record = read_manifest(folder)
    if record is None and written is not None and written.recognise is not None:
        record = _checked(written.recognise(folder))
    return record


def _visible(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name != MANIFEST and _STAGING not in name)


def output_folder(path: str | Path, option: str = "--out", written: Written | None = None, overwrite: bool = False,
                  inputs=(), new: bool = False) -> Path:
    """``path`` as a folder this command may write into: not a file, existing or makeable, writable, neither one of
    the command's ``inputs`` nor holding one, and -- when it exists and holds anything -- holding the results of
    the same thing (``written``, compared with the folder's record), unless ``overwrite``. ``new``: the folder
    must be new or empty whatever ``overwrite`` says."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file; give a folder")
    _check_not_an_input(path, option, inputs, inside=False)
    _check_writable(path, option, path)
    if not path.is_dir():
        return path
    held = _visible(path)
    if not held:
        return path
    if new:
        raise ConfigError(f"{option} {path} is not empty; give a new or empty folder")
    if overwrite or written is None:
        return path
    record = _record(path, written)
    listed = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
    if record is None:
        raise ConfigError(f"{option} {path} already holds files vidpred did not write there ({listed}); give a new "
                          "or empty folder, or add --overwrite to write into it (files of the same name are replaced)")
    if (record.get("command"), record.get("key")) != (written.command, written.key):
        theirs = record.get("about") or f"the output of `vidpred {record.get('command')}`"
        raise ConfigError(f"{option} {path} holds {theirs}, not {written.about or written.command}; give another "
                          "folder, or add --overwrite to replace it")
    return path


def _temp_name(path: Path, n: int = 0) -> Path:
    tail = f"{_STAGING}-{os.getpid()}" + (f"-{n}" if n else "")
    return path.with_name(f".{path.stem if path.suffix else path.name}{tail}{path.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def interrupts_held():
    """Hold back Ctrl-C (SIGINT) for the duration: a rename that has begun is finished. A Ctrl-C that arrives
    meanwhile is dropped -- the command is completing anyway. Outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class StagedOutputs:
    """The outputs of one command: ``file(path)`` / ``folder(path, written)`` give the temporary path to write
    instead; ``commit()`` moves them all into place; ``discard()`` removes the temporary paths and the parent
    folders that were made for them."""

    def __init__(self):
        self._files: list[tuple[Path, Path]] = []  # (temporary, target)
        self._folders: list[tuple[Path, Path, Written | None]] = []
        self._made: list[Path] = []  # the topmost parent folders made for outputs

    def _parent(self, target: Path) -> None:
        top = target.parent
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        if not target.parent.exists():
            self._made.append(top)
            target.parent.mkdir(parents=True, exist_ok=True)

    def _temporary(self, target: Path) -> Path:
        n = 0
        while _temp_name(target, n).exists() or any(_temp_name(target, n) == t for t, *_ in self._files):
            n += 1
        return _temp_name(target, n)

    def file(self, path: str | Path) -> Path:
        """The temporary name to write ``path``'s content to (beside it, with its suffix)."""
        target = Path(path).absolute()
        self._parent(target)
        temporary = self._temporary(target)
        self._files.append((temporary, target))
        return temporary

    def folder(self, path: str | Path, written: Written | None = None) -> Path:
        """A new empty temporary folder beside ``path`` to write the folder's content into."""
        target = Path(path).absolute()
        if target.is_symlink() or target.is_dir():
            target = target.resolve()  # entries are renamed within the folder the link points to
        self._parent(target)
        temporary = self._temporary(target)
        temporary.mkdir()
        self._folders.append((temporary, target, written))
        return temporary

    def discard(self) -> None:
        with interrupts_held():  # a second Ctrl-C does not leave half a temporary folder behind
            for temporary, *_ in self._files + self._folders:
                _remove(temporary)
            for made in self._made:
                _remove(made)

    def commit(self) -> None:
        with interrupts_held():
            for temporary, target in self._files:
                if temporary.exists():  # a command may leave an optional output unwritten
                    os.replace(temporary, target)
            for temporary, target, written in self._folders:
                _commit_folder(temporary, target, written)


def _commit_folder(temporary: Path, target: Path, written: Written | None) -> None:
    """Move ``temporary``'s entries into ``target``: the old entries of the same names, and the entries the previous
    record of ``target`` lists, are set aside first and removed once the new ones are in place."""
    entries = _visible(temporary)
    if written is not None:
        (temporary / MANIFEST).write_text(json.dumps(written.record(entries), indent=1))
    if not target.exists():
        os.rename(temporary, target)
        return
    record = _record(target, written) or {"entries": []}
    replaced = [name for name in dict.fromkeys([*record["entries"], *entries, MANIFEST])
                if (target / name).exists() or (target / name).is_symlink()]
    aside = target.with_name(f".{target.name}{_STAGING}-{os.getpid()}-replaced")
    aside.mkdir()
    for name in replaced:
        os.rename(target / name, aside / name)
    for name in os.listdir(temporary):
        os.rename(temporary / name, target / name)
    temporary.rmdir()
    shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def staged_outputs():
    """``with staged_outputs() as out: write to out.file(path) / out.folder(path, written)``: everything is moved
    into place when the body succeeds, and only then; on an error or Ctrl-C the temporary paths are removed and
    the targets are as they were."""
    staged = StagedOutputs()
    try:
        yield staged
    except BaseException:
        staged.discard()
        raise
    staged.commit()
