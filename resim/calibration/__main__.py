"""``python -m resim.calibration SCENARIO --observed FILE --fit KEY=LO:HI ...``

The same command as ``resim calibrate`` (registered in ``resim/cli/calibrate.py``),
with the same error handling (a bad input is one line and exit 2); kept so a
calibration can be started where only the ``resim.calibration`` package is named.
"""

from __future__ import annotations

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
