"""The order-independent sum, defined once for every engine.

A parallel database adds doubles in whatever order its threads finish, and a
double sum changes in its last bit with the order: a spend of
102.39000000000001 instead of 102.39 moves a customer across an RFM break
point. Sums are therefore defined without any order:

    sum(values) = the double nearest to  Σ round(v × 10⁹) × 10⁻⁹

where ``v × 10⁹`` is a double product, ``round`` takes halves away from zero
(C's ``round``), and the sum of those integers is exact. Money (two
decimals) and every value with at most nine decimals is summed exactly; the
result is what the decimal sum reads as, ``0.1 + 0.2`` is ``0.3``. A sum of
integers is their exact integer sum.

The SQL engine computes it as ``CAST(SUM(CAST(round(v * 1e9) AS HUGEINT)) ||
'e-9' AS DOUBLE)`` (the text is read with correct rounding); the Python
engine's ``sum`` and ``avg`` call :func:`exact_sum`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SCALE = 9


def units(value: float) -> int:
    """``round(value × 10⁹)``, the product a double, halves away from zero.

    Raises ``OverflowError`` for an infinite value.
    """
    if isinstance(value, int):
        return value * 10 ** SCALE
    scaled = float(value) * float(10 ** SCALE)
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return int(whole)


def exact_sum(values: Iterable[float]) -> float:
    """The sum of ``values`` by the definition above, whatever their order."""
    numbers = list(values)
    total = sum(units(value) for value in numbers)
    if all(isinstance(value, int) for value in numbers):
        return total // 10 ** SCALE
    return total / 10 ** SCALE
