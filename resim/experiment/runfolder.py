"""Run folders: one folder holds one run, written by one process at a time.

Each result file is written atomically, but a set of atomic files is not an
atomic set: a run killed (or out of disk) while writing over an earlier run's
folder used to leave one run's ``replications.parquet`` beside another's
``summary.json``, and two sweeps resuming into the same folder duplicated
rows. Here:

* **One writer**: an OS lock (``flock``) on ``.<name>.lock`` beside the folder,
  held for the whole command; a second writer gets a one-line error naming the
  holder's PID (exit 2). The lock file goes when the holder finishes, so a
  successful run leaves nothing beside ``--out``.
* **Staged and swapped** (runs): the files are written into a staging folder
  beside ``--out`` and swapped in whole at the end, so ``--out`` holds the old
  run or the new one, never a mix. A crash leaves only stale ``.staging`` /
  ``.old`` folders, which the next writer removes.
* **Completion marker**: the last file written, :data:`MARKER`, names the kind
  (``run`` or ``sweep``), the status (``complete``, or ``partial`` for an
  interrupted run) and every result file with its SHA-256 (two runs of the
  same size write files of the same size: sizes cannot tell them apart). :func:`check_complete`
  checks it before ``resim report`` renders: an incomplete or mixed folder is
  refused. Sweeps write in place (their parts are what ``--resume`` finishes),
  so the marker is removed when a sweep (re)starts and written when it ends.
* **Nothing foreign is replaced**: ``--out`` holding anything but a resim
  result of the same kind is refused unless ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from ..scenario.errors import ScenarioError

MARKER = ".resim-complete.json"
#: Files a report may rebuild in place; the marker does not pin them.
_REBUILT = ("report.html", "plots")
KINDS = ("run", "sweep", "compare", "calibration")
#: What marks a folder a calibration's before its marker is written (pyabc's
#: history and the request ``--resume`` checks).
CALIBRATION_FILES = ("history.db", "calibration.request.json", "calibration.json")


class WriteError(Exception):
    """The result files could not be written (disk full, file too large...);
    ``--out`` keeps what it held before."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _kind_of(path: Path) -> str | None:
    """``run``/``sweep`` for a resim result folder (also one written before the
    marker existed), ``""`` for an empty folder, None for anything else."""
    if not path.is_dir():
        return None
    kind = (read_marker(path) or {}).get("kind")
    if kind in KINDS:
        return kind
    for kind, files in _TELLTALE_FILES:
        if any((path / f).is_file() for f in files):
            return kind
    return "" if not any(path.iterdir()) else None


#: Without a marker, the files that tell what wrote a folder, in the order asked.
_TELLTALE_FILES = (("sweep", ("sweep.json",)), ("calibration", CALIBRATION_FILES),
                   ("run", ("manifest.json", "summary.json")))


def read_marker(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((Path(path) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def check_complete(directory: str | Path) -> dict[str, Any]:
    """The completion marker of a finished run or sweep folder.

    Raises ``ScenarioError`` (one line, exit 2) when the folder is missing,
    unfinished (no marker: interrupted, still running or written by an older
    resim) or mixed (a file is missing or is not the one the run wrote). A run
    marked ``partial`` is complete as far as it goes: the caller says so.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ScenarioError(str(directory), "", "does not exist" if not d.exists() else "is not a directory")
    doc = read_marker(d)
    kind = _kind_of(d) if doc is None else doc.get("kind")
    if kind == "calibration":
        raise ScenarioError(str(directory), "", _calibration_words(d, doc))
    if doc is None or kind not in KINDS:
        raise ScenarioError(str(directory), "", f"is not a finished run or sweep (no {MARKER}): it was "
                            "interrupted, is still being written, or is not a resim result; run it again")
    _check_files(d, doc.get("files") or {}, str(directory))
    return doc


def _check_files(d: Path, files: dict[str, str], label: str) -> None:
    """Every file the marker lists is there and is the one the run wrote."""
    for name, digest in files.items():
        f = d / name
        if not f.is_file():
            raise ScenarioError(label, name, "is missing: the folder is incomplete; run it again")
        if _digest(f) != digest:
            raise ScenarioError(label, name, "is not the file this run wrote (the folder mixes runs); run it again")


def _calibration_words(d: Path, doc: dict[str, Any] | None) -> str:
    """What a calibration folder holds, for ``resim report``."""
    shipped = doc is None and (d / "calibration.json").is_file() and not (d / "history.db").is_file()
    finished = (doc or {}).get("status") == "complete" or shipped
    if finished:
        return (f"is a finished calibration: its report is {d / 'report.html'}, written by resim calibrate "
                "(resim report rebuilds runs, sweeps and comparisons)")
    return ("is an unfinished calibration (interrupted, or still running): continue it with resim calibrate "
            f"SCENARIO ... --resume --out {d}")


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_marker(folder: Path, kind: str, status: str, **info: Any) -> None:
    """Write the marker last: every other file of ``folder`` is fsynced first."""
    files = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.name != MARKER and not f.name.startswith(".") and f.name not in _REBUILT:
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
            files[f.name] = _digest(f)
    doc = {"kind": kind, "status": status, **info, "files": files,
           "written_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = folder / f".{MARKER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=2, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MARKER)
    _fsync_dir(folder)


class RunFolder:
    """``--out`` held for one command: locked, checked, cleaned of debris.

    Use as a context manager around the whole command. ``commit`` stages and
    swaps a run in; sweeps write in place between ``unmark`` and ``mark``.
    """

    def __init__(self, out: str | Path, kind: str, overwrite: bool = False):
        if kind not in KINDS:
            raise ValueError(kind)
        self.out = Path(os.path.abspath(out))
        self.label = str(out)
        self.kind = kind
        self.overwrite = overwrite
        self.lock_path = self.out.parent / f".{self.out.name}.lock"
        self._fd: int | None = None
        self.existing: str | None = None

    # ------------------------------------------------------------ locking
    def __enter__(self) -> RunFolder:
        self._check_place()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._fd = self._lock()
        try:
            self._check_and_clean()
        except BaseException:
            self._unlock()
            raise
        return self

    def _check_place(self) -> None:
        """``--out`` must be a folder (or nothing yet) outside the current directory."""
        if self.out.exists() and not self.out.is_dir():
            raise ScenarioError("--out", "", f"{self.label} exists and is not a directory")
        here, out = Path(os.getcwd()).resolve(), self.out.resolve()
        if here == out or out in here.parents:  # the swap would leave the process in a deleted folder
            raise ScenarioError("--out", "", f"{self.label} is the current directory or holds it; results replace "
                                "their folder whole, so write them from outside it")

    def __exit__(self, *exc: object) -> None:
        self._remove(self._staging())
        self._unlock()

    def _lock(self) -> int:
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                self._refuse_held(fd, e)
            if self._still_linked(fd):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return fd
            os.close(fd)

    def _refuse_held(self, fd: int, e: OSError) -> NoReturn:
        """Another process holds the lock: say which (its pid is in the file)."""
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            raise e
        raise ScenarioError(self.label, "", f"is being written by another resim process (pid {holder}); "
                            "wait for it to finish or choose another --out") from None

    def _still_linked(self, fd: int) -> bool:
        """Whether the locked file is still the lock file: a holder finishing
        meanwhile may have unlinked it (then the lock guards nothing)."""
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
        except FileNotFoundError:
            return False

    def _unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.lock_path)  # while still holding it: no one can lock a stale inode
            os.close(self._fd)
            self._fd = None

    # ------------------------------------------------------------ checks
    def _check_and_clean(self) -> None:
        self._clear_debris()
        self.existing = _kind_of(self.out) if self.out.exists() else ""
        if self.existing in ("", self.kind) or self.overwrite:
            return
        what = f"a resim {self.existing}" if self.existing else "files that are not a resim result"
        raise ScenarioError("--out", "", f"{self.label} holds {what}, not a {self.kind}; choose another "
                            "--out or pass --overwrite to replace it")

    def _clear_debris(self) -> None:
        """Remove a killed writer's staging folders and temporary files (we
        hold the lock, so no live writer owns them)."""
        parent, name = self.out.parent, self.out.name
        for debris in (*parent.glob(f".{name}.staging-*"), *parent.glob(f".{name}.old-*")):
            self._remove(debris)
        if self.out.is_dir():
            for tmp in self.out.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------ runs
    def _staging(self) -> Path:
        return self.out.parent / f".{self.out.name}.staging-{os.getpid()}"

    @staticmethod
    def _remove(path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)

    def commit(self, write: Callable[[Path], Any], status: str = "complete", **info: Any) -> Path:
        """Write a run through ``write(staging_dir)``, mark it and swap it in
        for ``--out``. On any failure ``--out`` keeps what it held."""
        staging = self._staging()
        self._remove(staging)
        try:
            staging.mkdir()
            write(staging)
            write_marker(staging, self.kind, status, **info)
        except OSError as e:
            self._remove(staging)
            raise WriteError(f"could not write the results of {self.label} ({e.strerror or e}); "
                             f"{self.label} keeps what it held before") from None
        except BaseException:
            self._remove(staging)
            raise
        self.replace_with(staging)
        return self.out

    def replace_with(self, new: Path) -> None:
        """Swap ``new`` in for ``--out`` (two renames; the old folder is removed)."""
        old = None
        if self.out.exists() or self.out.is_symlink():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
        os.rename(new, self.out)
        _fsync_dir(self.out.parent)
        if old is not None:
            self._remove(old)

    # ------------------------------------------------------------ sweeps
    def clear(self) -> None:
        """Empty ``--out`` (``--overwrite`` of something else, or a fresh sweep)."""
        if self.out.exists():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
            self._remove(old)
        self.existing = ""

    def unmark(self) -> None:
        """The folder is about to change in place: it is no longer complete."""
        (self.out / MARKER).unlink(missing_ok=True)

    def mark(self, status: str = "complete", **info: Any) -> None:
        write_marker(self.out, self.kind, status, **info)


__all__ = ["MARKER", "RunFolder", "WriteError", "check_complete", "read_marker", "write_marker"]
