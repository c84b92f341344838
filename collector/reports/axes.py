"""Value axes of the line charts: linear (1-2-5 steps from zero) or log10 (whole decades).

An axis maps a value to its y on the plot area (None where it has no place: values <= 0 on a log axis)
and gives the values of its grid lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PLOT_TOP, PLOT_HEIGHT = 30, 280  # the plot area, in pixels from the chart's top


def nice_step(span: float, ticks: int = 5) -> float:
    """A 1-2-5 step (at least 1) that cuts `span` into about `ticks` parts."""
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return max(1.0, factor * power)  # counts are whole numbers: no 2.5-star ticks
    return 10 * power


def tick_label(value: float) -> str:
    """A grid line's value, short: 500, 20k, 1.5M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:g}"


@dataclass(frozen=True)
class LinearAxis:
    """A linear value axis from `bottom` to `top`, a grid line every `step`."""

    bottom: float
    top: float
    step: float

    @classmethod
    def fit(cls, known: Sequence[int]) -> LinearAxis:
        low = min(0, min(known)) if known else 0
        high = max(known) if known else 1
        step = nice_step((high - low) or 1)
        return cls(math.floor(low / step) * step, max(step, math.ceil(high / step) * step), step)

    def y(self, v: float) -> float | None:
        return PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * (v - self.bottom) / (self.top - self.bottom)

    def ticks(self) -> list[float]:
        out, tick = [], self.bottom
        while tick <= self.top + self.step / 2:
            out.append(tick)
            tick += self.step
        return out


@dataclass(frozen=True)
class LogAxis:
    """A log10 value axis over whole decades, 10**low to 10**high; values <= 0 have no place on it."""

    low: int
    high: int

    @classmethod
    def fit(cls, known: Sequence[int]) -> LogAxis:
        positive = [v for v in known if v > 0]
        if not positive:
            return cls(0, 1)
        low = math.floor(math.log10(min(positive)))
        return cls(low, max(low + 1, math.ceil(math.log10(max(positive)))))

    def y(self, v: float) -> float | None:
        if v <= 0:
            return None
        return PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * (math.log10(v) - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        """1-2-5 ticks over up to three decades; beyond, decades (every other one beyond eight)."""
        decades = self.high - self.low
        if decades <= 3:
            steps = [m * 10.0**e for e in range(self.low, self.high) for m in (1, 2, 5)]
            return [*steps, 10.0**self.high]
        every = math.ceil(decades / 8)
        return [10.0**e for e in range(self.low, self.high + 1) if (e - self.low) % every == 0]


ValueAxis = LinearAxis | LogAxis


def fit_axis(scale: str, known: Sequence[int]) -> ValueAxis:
    """The `scale` ("linear" or "log") axis that holds the `known` values."""
    return LogAxis.fit(known) if scale == "log" else LinearAxis.fit(known)
