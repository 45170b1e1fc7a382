"""The report in a real browser: headless Chromium loads every figure and paints the page.

Needs Chromium (Debian: ``apt-get install chromium``; .ci/run installs it).
On a developer's machine without it the test is skipped with its reason (README's
``pytest`` must pass on a fresh machine); under CI (``CI`` set) a missing Chromium
is a failure, because a report that no browser has opened is not tested.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from test_report import build_run_dir

from resim.output.report import write_report

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars")


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    reason = ("Chromium is missing: install it with `apt-get install chromium` "
              "(Debian/Ubuntu) to run the browser test of report.html")
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run must install it)", pytrace=False)
    pytest.skip(reason)


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.slow
@pytest.mark.browser
def test_every_figure_loads_in_chromium(tmp_path: Path) -> None:
    chromium = find_chromium()
    run_dir = build_run_dir(tmp_path / "run", replications=3)
    report = write_report(run_dir)
    url = report.resolve().as_uri()

    dom = run_chromium(chromium, tmp_path / "profile-dom", "--virtual-time-budget=5000",
                       "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, f"no <body> in the DOM Chromium dumped: {dom.stdout[:500]!r}"
    loaded = re.search(r'data-images-loaded="(\d+)"', body.group(0))
    total = re.search(r'data-images-total="(\d+)"', body.group(0))
    assert loaded and total, f"the page's load script did not run: {body.group(0)}"
    assert int(total.group(1)) >= 4
    assert int(loaded.group(1)) == int(total.group(1)), "some figures did not decode"

    shot = tmp_path / "shot.png"
    res = run_chromium(chromium, tmp_path / "profile-shot", "--window-size=1200,1800",
                       "--virtual-time-budget=5000", f"--screenshot={shot}", url)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    img = mpimg.imread(io.BytesIO(shot.read_bytes()), format="png")[..., :3]
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert float(img.std()) > 0.05, "the screenshot is blank"
    # text and tables: many rows of the page are not plain background
    busy_rows = np.mean(img.std(axis=(1, 2)) > 0.02)
    assert busy_rows > 0.3, f"only {busy_rows:.0%} of the screenshot's rows have content"
