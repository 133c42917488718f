"""Progress that only goes forward: step k of N, with the sub-progress of a wait inside its step.

A caller of a multi-step run (the one-call tool, the CLI) sees one total that never changes and a
value that strictly increases: ``k`` once step ``k`` is done, and, while step ``k`` waits, values
strictly between ``k - 1`` and ``k``. A step a branch makes unnecessary is jumped over, never
counted down. A value that would not move forward is not sent at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

ProgressCallback = Callable[[float, float | None, str], Awaitable[None]]
"""``(done, total, message)``: ``total`` None when unknown."""

_LOW, _SPAN = 0.05, 0.9
"""Where a step's own sub-progress lies inside the step: from 5 % to 95 % of it, so that it never
meets the whole numbers that mark the steps."""


class StepProgress:
    """Report ``step k of total`` to ``report`` (which may be None: nothing is sent)."""

    def __init__(self, report: ProgressCallback | None, total: int) -> None:
        self.report = report
        self.total = total
        self.last = 0.0

    async def reached(self, step: int, message: str) -> None:
        """Step ``step`` (1-based) is done."""
        await self._send(float(min(step, self.total)), message)

    def within(self, step: int) -> ProgressCallback:
        """A callback for the work of step ``step``: its ``done / total`` maps strictly inside
        ``(step - 1, step)``; without a total, the step's start is reported."""

        async def sub(done: float, total: float | None, message: str) -> None:
            fraction = min(max(done / total, 0.0), 1.0) if total else 0.0
            await self._send(step - 1 + _LOW + _SPAN * fraction, message)

        return sub

    async def _send(self, value: float, message: str) -> None:
        if self.report is None or value <= self.last:
            return
        self.last = value
        await self.report(value, float(self.total), message)


def forward_only(report: ProgressCallback) -> ProgressCallback:
    """``report`` that drops any value not greater than the last one sent (the total is kept)."""
    last = float("-inf")

    async def send(done: float, total: float | None, message: str) -> None:
        nonlocal last
        if done <= last:
            return
        last = done
        await report(done, total, message)

    return send
