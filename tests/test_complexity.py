"""The house rule on function size, kept by a test: radon's cyclomatic
complexity over resim/, mean <= 3.0 over every block (classes, functions,
methods, as ``radon cc -s -a resim`` counts them) and no block above 15.

A mean creeps up one long function at a time, and nobody reads the report of
a tool that is not run; a failing test names the functions to split. The
mean is the CLI's: a class counts as one block (its methods' average, plus
one for several methods) besides its methods, and a nested function counts
in its enclosing function.
"""

from __future__ import annotations

from pathlib import Path

import pytest

radon_complexity = pytest.importorskip("radon.complexity")

PACKAGE = Path(__file__).resolve().parent.parent / "resim"
MAX_MEAN = 3.0
MAX_BLOCK = 15


def blocks(root: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """(file, block name, complexity) of every block radon finds under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for block in radon_complexity.cc_visit(path.read_text(encoding="utf-8")):
            name = block.fullname if hasattr(block, "fullname") else block.name
            out.append((str(path.relative_to(root.parent)), name, int(block.complexity)))
    return out


def test_the_counter_counts_branches(tmp_path: Path) -> None:
    """The test measures what it claims: a straight function is 1, each
    decision adds one, and a class is a block besides its methods."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "def straight():\n    return 1\n\n\n"
        "def two_ifs(x):\n    if x:\n        return 1\n    if x > 2:\n        return 2\n    return 3\n\n\n"
        "class C:\n    def a(self):\n        return 1\n", encoding="utf-8")
    found = {name: cc for _, name, cc in blocks(pkg)}
    assert found == {"straight": 1, "two_ifs": 3, "C": 2, "C.a": 1}


def test_mean_complexity_over_resim_is_at_most_three() -> None:
    found = blocks()
    mean = sum(cc for _, _, cc in found) / len(found)
    worst = sorted(found, key=lambda b: -b[2])[:8]
    assert mean <= MAX_MEAN, (
        f"radon's mean cyclomatic complexity over resim/ is {mean:.3f} over {len(found)} blocks "
        f"(the rule: <= {MAX_MEAN}); split long functions into named steps, e.g. "
        + ", ".join(f"{f}:{n} ({cc})" for f, n, cc in worst))


def test_no_function_is_more_complex_than_fifteen() -> None:
    over = [f"{f}:{n} ({cc})" for f, n, cc in blocks() if cc > MAX_BLOCK]
    assert not over, f"complexity above {MAX_BLOCK}: {', '.join(over)}"
