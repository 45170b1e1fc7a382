"""``python -m resim.calibration SCENARIO --observed FILE --fit KEY=LO:HI ...``

The same command as ``resim calibrate``, with the same error handling (a bad
input is one line and exit 2); an entry point, like ``resim/__main__.py``,
so it may call the command line.
"""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["calibrate", *sys.argv[1:]]))
