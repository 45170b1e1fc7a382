"""A resumable, streaming store for sweeps.

Results reach disk as units of work finish: each finished chunk of
(point, replication) units becomes one Parquet *part*, written to a temporary
name, fsynced and renamed into place, so a part either exists whole or not at
all, even across a power loss. The parts are the manifest of completed units:
``--resume`` reads which units they hold and runs only the rest, so nothing is
redone or duplicated, and memory does not grow with the size of the sweep. A
part that cannot be read (zero length after a power cut, truncated) does not
count: it is removed and its units are run again. One writer at a time is
``resim.experiment.runfolder``'s job (the folder lock).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PARTS = "parts"
DESIGN = "sweep.json"


def _fsync(path: str | Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[str], None], durable: bool = False) -> None:
    """Write through ``write(tmp_path)`` then rename over ``path``;
    ``durable`` also fsyncs the file before and the folder after the rename
    (a sweep part must not count until its bytes are on disk)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
        if durable:
            _fsync(path.parent, directory=True)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, w)


def write_parquet(path: Path, df: pd.DataFrame, durable: bool = False) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"), durable)


def design_hash(design: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(design, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _current_columns(t: pa.Table) -> pa.Table:
    """A part stored before the seed became an integer column (``seed`` was
    the JSON text ``"[seed, replication]"``) gets ``seed_entropy``, so a sweep
    started by an older resim resumes into one table."""
    if "seed" in t.column_names and "seed_entropy" not in t.column_names:
        entropy = [json.loads(s)[0] if s else None for s in t.column("seed").to_pylist()]
        t = t.drop_columns(["seed"]).append_column("seed_entropy", pa.array(entropy, pa.int64()))
    return t


class SweepStore:
    """The directory of one sweep: its design, its parts, its final tables."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.parts = self.root / PARTS

    def exists(self) -> bool:
        return (self.root / DESIGN).is_file()

    def read_design(self) -> dict[str, Any]:
        return json.loads((self.root / DESIGN).read_text())

    def start(self, design: dict[str, Any]) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)
        write_text(self.root / DESIGN, json.dumps(design, indent=2, default=str) + "\n")

    def clean_temporaries(self) -> None:
        """Remove half-written files a killed run left behind (never a part)."""
        for d in (self.root, self.parts):
            if d.is_dir():
                for f in d.glob(".*.tmp"):
                    f.unlink(missing_ok=True)

    def done_units(self) -> set[tuple[int, int]]:
        """(point, replication) units already stored; a part that cannot be
        read (zero length after a power cut, truncated) is removed, so its
        units are run again."""
        done: set[tuple[int, int]] = set()
        for f in sorted(self.parts.glob("part-*.parquet")):
            try:
                t = pq.read_table(f, columns=["point", "replication"])
            except (OSError, pa.ArrowException):
                f.unlink(missing_ok=True)
                continue
            done.update(zip(t.column("point").to_pylist(), t.column("replication").to_pylist(), strict=True))
        return done

    def write_part(self, df: pd.DataFrame) -> Path:
        """Store one finished chunk durably. Safe from a worker process:
        parts are named by their first unit and their length."""
        first = df.iloc[0]
        name = f"part-{int(first['point']):06d}-{int(first['replication']):07d}-{len(df):05d}.parquet"
        path = self.parts / name
        write_parquet(path, df, durable=True)
        return path

    def read_parts(self) -> pd.DataFrame:
        """Every stored unit once. A unit can be in two parts when a pool broke
        after a worker stored its chunk but before the result came back, and
        the unit was rerun alone; both hold the same rows (runs are
        deterministic), so the first is kept."""
        tables, seen = [], set()
        for f in sorted(self.parts.glob("part-*.parquet")):
            t = _current_columns(pq.read_table(f))
            units = list(zip(t.column("point").to_pylist(), t.column("replication").to_pylist(), strict=True))
            keep = [u not in seen for u in units]
            seen.update(units)
            tables.append(t if all(keep) else t.filter(pa.array(keep)))
        if not tables:
            return pd.DataFrame()
        return pa.concat_tables(tables, promote_options="default").to_pandas()
