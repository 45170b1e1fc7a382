"""A finished sweep folder that a command reads and adds files to
(``resim sensitivity``, ``resim discover``): checked complete, locked against
other writers, and marked complete again with the files it now holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..experiment.runfolder import RunFolder, check_complete
from ..scenario.errors import ScenarioError


@contextmanager
def finished_sweep(directory: str) -> Iterator[Path]:
    """The folder of a finished sweep, held for the block; a run, an
    unfinished or a mixed folder is refused in one line (exit 2)."""
    doc = check_complete(directory)
    if doc.get("kind") != "sweep":
        raise ScenarioError(directory, "", f"is a resim {doc.get('kind')}, not a sweep")
    info = {k: v for k, v in doc.items() if k not in ("kind", "status", "files", "written_utc")}
    with RunFolder(directory, "sweep") as folder:
        try:
            yield folder.out
        finally:  # every file is written whole: the marker names what the folder now holds
            folder.mark(doc.get("status", "complete"), **info)


__all__ = ["finished_sweep"]
