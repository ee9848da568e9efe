"""Assigning experiment variants: pure, so the simulator and the server assign alike."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def variant_index(salt: str, unit: str, shares: Sequence[int]) -> int:
    """The variant (an index into `shares`, percents adding up to 100) the unit gets.

    The first 8 bytes of SHA-256("salt:unit") as a point in [0, 100) fall into one share's
    range: the same unit always gets the same variant, a unit's variants in two experiments
    (two salts) are independent, and each variant gets its share of units.
    """
    digest = hashlib.sha256(f"{salt}:{unit}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    return min(bisect_right(list(accumulate(shares)), point), len(shares) - 1)
