"""The one way the product writes a size: binary units, one decimal at most (``512 B``,
``128 KiB``, ``2.5 GiB``), whatever unit the source counted in (bytes, the kernel's kB, the
Windows collector's MB)."""

from __future__ import annotations

from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB

_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: int | float) -> str:
    """``size`` bytes in binary units with one decimal at most: ``512 B``, ``128 KiB``,
    ``2.5 GiB``."""
    if size < 1024:
        return f"{int(size)} B"
    value = float(size)
    unit = 0
    while unit < len(_UNITS) - 1 and round(value, 1) >= 1024:
        value /= 1024
        unit += 1
    return f"{value:.1f}".removesuffix(".0") + f" {_UNITS[unit]}"
