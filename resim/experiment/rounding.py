"""How many digits a swept value means.

A sampled design draws values such as 0.254956 for an approval rate swept
over 0.2-1.0; tables, figure labels and the words of ``resim discover``
print them to the digits their range can tell apart. Pure Python, so every
layer can use it.
"""

from __future__ import annotations

import math


def digits_for(lo: float, hi: float) -> int:
    """Decimals for a value swept over [lo, hi]: three significant figures of
    the range's width (0.255 over 0.2-1.0; 148 over 60-365)."""
    width = abs(hi - lo)
    if not math.isfinite(width) or width == 0:
        return 3
    return max(0, 2 - math.floor(math.log10(width)))


__all__ = ["digits_for"]
