"""The order-independent sum, defined once.

A parallel database adds doubles in whatever order its threads finish, and a
double sum changes in its last bit with the order: a spend of
102.39000000000001 instead of 102.39 moves a customer across an RFM break
point. Sums are therefore defined without any order:

    sum(values) = the double nearest to  Σ round(v × 10⁹) × 10⁻⁹

where ``v × 10⁹`` is a double product, ``round`` takes halves away from zero
(C's ``round``), and the sum of those integers is exact. Money (two
decimals) and every value with at most nine decimals is summed exactly; the
result is what the decimal sum reads as, ``0.1 + 0.2`` is ``0.3``.

The SQL engine computes it as ``CAST(SUM(CAST(round(v * 1e9) AS HUGEINT)) ||
'e-9' AS DOUBLE)`` (the text is read with correct rounding).
:func:`exact_sum` is the same definition in Python; the Python engine's
``sum`` and ``avg`` still add in list order (they agree whenever the values'
in-order sum is exact, as for values with few binary digits such as 12.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SCALE = 9


def units(value: float) -> int:
    """``round(value × 10⁹)``, the product a double, halves away from zero."""
    scaled = float(value) * float(10 ** SCALE)
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return int(whole)


def exact_sum(values: Iterable[float]) -> float:
    """The sum of ``values`` by the definition above, whatever their order."""
    return sum(units(value) for value in values) / 10 ** SCALE
