"""The bad-input contract, file by file (SPEC §2, §3).

Every ``bad_scenarios/NN_name.toml`` starts with ``# expect: FRAGMENT``. Both
``resim validate FILE`` and ``resim run FILE --out DIR`` must exit 2 with exactly
one line on stderr that names the file and holds FRAGMENT, never a traceback,
and ``run`` must not create DIR. Most checks call ``resim.cli.main`` in-process
(fast); a few go through ``python -m resim`` in a child process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from scenario_helpers import assert_one_line_error, cli, cli_subprocess

CORPUS = Path(__file__).parent / "bad_scenarios"
FILES = sorted(CORPUS.glob("[0-9][0-9]_*.toml"))


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: <fragment>'"
    return first.removeprefix("# expect: ").strip()


def check_names_file(line: str, path: Path) -> None:
    # The message starts with the file it is about: this one, or the parent it extends.
    assert line.startswith(f"{path}: ") or line.startswith(f"{path.parent}/parents/"), line


def test_corpus_is_well_formed() -> None:
    assert len(FILES) >= 40
    numbers = [f.name[:2] for f in FILES]
    assert len(set(numbers)) == len(numbers), "duplicate NN_ prefixes"
    for f in FILES:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.toml", f.name), f.name
        assert expected(f)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_validate(path: Path) -> None:
    line = assert_one_line_error(cli("validate", str(path)), expected(path))
    check_names_file(line, path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_run_writes_nothing(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # alternate between `resim run FILE` and `python -m resim FILE` (the same command)
    argv = ["run", str(path)] if int(path.name[:2]) % 2 else [str(path)]
    line = assert_one_line_error(cli(*argv, "--out", str(out), "--workers", "1"), expected(path))
    check_names_file(line, path)
    assert not out.exists()


def test_validate_all_in_one_subprocess() -> None:
    res = cli_subprocess("validate", *map(str, FILES))
    assert res.code == 2
    assert "Traceback" not in res.err
    lines = res.err_lines
    assert len(lines) == len(FILES), res.err
    for path, line in zip(FILES, lines, strict=True):
        assert expected(path) in line, (path.name, line)
        check_names_file(line, path)
    assert res.out == ""


@pytest.mark.parametrize(
    "name", ["32_unknown_section", "66_policy_unknown_key"]
)
def test_run_subprocess(name: str, tmp_path: Path) -> None:
    path = CORPUS / f"{name}.toml"
    out = tmp_path / "results" / "out"
    res = cli_subprocess(str(path), "--out", str(out))
    line = assert_one_line_error(res, expected(path))
    check_names_file(line, path)
    assert not out.exists() and not (tmp_path / "results").exists()


# ---------------------------------------------------------------- files that are not scenarios


def _special(tmp_path: Path, kind: str) -> tuple[Path, str]:
    if kind == "empty":
        p = tmp_path / "empty.toml"
        p.write_bytes(b"")
        return p, "is empty; a scenario needs at least a [scenario] or [licensing] table"
    if kind == "blank":
        p = tmp_path / "blank.toml"
        p.write_text("  \n\t\n")
        return p, "is empty"
    if kind == "binary":
        p = tmp_path / "binary.toml"
        p.write_bytes(bytes(range(256)) * 4)
        return p, "is not a UTF-8 text file (binary?)"
    if kind == "nul":
        p = tmp_path / "nul.toml"
        p.write_bytes(b"[scenario]\nname = \"x\"\x00\n")
        return p, "is not a text file (contains NUL bytes)"
    if kind == "latin1":
        p = tmp_path / "latin1.toml"
        p.write_bytes('[scenario]\nname = "Baotou sépar"\n'.encode("latin-1"))
        return p, "is not a UTF-8 text file"
    if kind == "directory":
        p = tmp_path / "scenarios.toml"
        p.mkdir()
        return p, "is a directory, not a scenario file"
    if kind == "missing":
        return tmp_path / "no_such_scenario.toml", "no such file"
    if kind == "huge":
        p = tmp_path / "huge.toml"
        p.write_text("# " + "x" * 5_100_000 + "\n")
        return p, "is 5100003 bytes; scenario files are at most 5 MB"
    if kind == "deep":
        p = tmp_path / "deep.toml"
        p.write_text("[scenario]\nname = " + "[" * 5000 + "]" * 5000 + "\n")
        return p, "arrays or tables nested too deeply"
    if kind == "endless":  # Linux, where CI runs, always has /dev/zero: a device is never read
        return Path("/dev/zero"), "is not a regular file (a pipe, socket or device)"
    if kind == "fifo":  # opening a FIFO for reading would wait for a writer forever
        p = tmp_path / "pipe.toml"
        os.mkfifo(p)
        return p, "is not a regular file (a pipe, socket or device)"
    raise AssertionError(kind)


SPECIAL = ["empty", "blank", "binary", "nul", "latin1", "directory", "missing", "huge", "deep", "endless",
           "fifo"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_not_a_scenario_file(kind: str, tmp_path: Path) -> None:
    path, fragment = _special(tmp_path, kind)
    line = assert_one_line_error(cli("validate", str(path)), f"{path}: {fragment}")
    out = tmp_path / "out"
    assert assert_one_line_error(cli("run", str(path), "--out", str(out)), fragment) == line
    assert not out.exists()


def test_not_a_scenario_file_subprocess(tmp_path: Path) -> None:
    paths = [_special(tmp_path, kind) for kind in ("empty", "binary", "directory", "missing")]
    res = cli_subprocess("validate", *(str(p) for p, _ in paths))
    assert res.code == 2 and "Traceback" not in res.err
    assert len(res.err_lines) == len(paths)
    for (path, fragment), line in zip(paths, res.err_lines, strict=True):
        assert line == f"{path}: {fragment}" or line.startswith(f"{path}: {fragment}")
    out = tmp_path / "out"
    assert_one_line_error(cli_subprocess("run", str(paths[1][0]), "--out", str(out)), "binary")
    assert not out.exists()
