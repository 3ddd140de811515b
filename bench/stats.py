"""Numbers of bench/run.py: a spread (median, min, max) over rounds, interleaved arms, table rows."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Spread:
    """One measure over several rounds."""
    values: list = field(default_factory=list)

    def add(self, value) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def fmt(self, digits: int = 1, unit: str = "") -> str:
        """``median [min..max] unit`` (a single value when they are all equal)."""
        if not self.values:
            return "-"
        med, low, high = (f"{v:.{digits}f}" for v in (self.median, self.low, self.high))
        text = med if low == high else f"{med} [{low}..{high}]"
        return f"{text} {unit}".rstrip()

    def as_json(self) -> dict:
        return {"median": self.median, "min": self.low, "max": self.high, "values": self.values} \
            if self.values else {}


def ratios(top: Spread, bottom: Spread) -> Spread:
    """The per-round ratios of two arms measured in the same rounds."""
    return Spread([a / b for a, b in zip(top.values, bottom.values, strict=True) if b])


def differences(top: Spread, bottom: Spread) -> Spread:
    return Spread([a - b for a, b in zip(top.values, bottom.values, strict=True)])


def round_order(arms: list, index: int) -> list:
    """The arms of round ``index``: reversed every other round, so that neither always runs first
    (a warmer cache, a CPU-frequency step or a neighbour's load then falls on both alike)."""
    return list(arms) if index % 2 == 0 else list(reversed(arms))


class Clock:
    """Wall and CPU time of this process over a block (``with Clock() as c: ...; c.wall, c.cpu``)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


@dataclass
class Row:
    """One line of the table: what was measured, on which database, against which target."""
    row: str
    metric: str
    ours: str
    baseline: str = "-"
    value: str = "-"                  # the ratio or difference with its spread, or the count
    target: str = "-"
    db: str = "-"
    met: bool | None = None           # None: no target (information)
    data: dict = field(default_factory=dict)    # the raw numbers, for --json

    def cells(self) -> tuple:
        verdict = "-" if self.met is None else "met" if self.met else "MISSED"
        return (self.row, self.metric, self.ours, self.baseline, self.value, self.target, self.db, verdict)


HEADER = ("row", "metric", "graph_auth", "baseline", "ratio / value", "target", "DB", "verdict")


def markdown(rows: list[Row]) -> str:
    """The rows as a markdown table."""
    lines = [HEADER, *(r.cells() for r in rows)]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(HEADER))]

    def fmt(cells) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([fmt(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(fmt(r.cells()) for r in rows)])
