"""``python -m resim.calibration SCENARIO --observed FILE --fit KEY=LO:HI ...``

The ``calibrate`` command on its own, with the CLI's error handling (a bad
input is one line and exit 2), until it is registered in ``resim``'s CLI.
"""

from __future__ import annotations

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
