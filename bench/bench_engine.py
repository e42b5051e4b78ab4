"""Time the compliance engine: 10,000 datasets × 24 months × ~1 entry per month.

Run: python bench/bench_engine.py [datasets] [months]
Prints wall time for building the inputs and for evaluating them. Not a test.
"""
from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta

from ckanext.kpigov.cadence import parse_cadence
from ckanext.kpigov.compliance import LedgerEntry, evaluate_compliance
from ckanext.kpigov.fiscal import BANGKOK


def build(datasets: int, months: int, seed: int = 52) -> list[list[LedgerEntry]]:
    rng = random.Random(seed)
    start = datetime(2022, 10, 1, 9, 0, tzinfo=BANGKOK)
    result = []
    for d in range(datasets):
        entries = []
        for m in range(months):
            if rng.random() < 0.9:  # ~1 entry a month, with some gaps and some extras
                at = start + timedelta(days=30 * m + rng.randint(0, 40), hours=rng.randint(0, 8))
                nature = ("new_data" if rng.random() < 0.85
                          else rng.choice(("correction", "metadata")))
                entries.append(LedgerEntry(f"{d}-{m}", at, nature))
        result.append(entries)
    return result


def main() -> None:
    datasets = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    months = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    t0 = time.perf_counter()
    data = build(datasets, months)
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), parse_cadence("เดือน", 1))]
    t1 = time.perf_counter()
    start, end, today = date(2022, 10, 1), date(2024, 9, 30), date(2024, 10, 20)
    on_time = due = 0
    for entries in data:
        result = evaluate_compliance(entries, history, start=start, end=end, today=today,
                                     created=date(2022, 10, 1))
        counts = result.tally()
        on_time += counts.on_time
        due += counts.due
    t2 = time.perf_counter()
    print(f"datasets={datasets} months={months} entries={sum(map(len, data))}")
    print(f"build inputs: {t1 - t0:.3f} s")
    print(f"compliance:   {t2 - t1:.3f} s  ({(t2 - t1) / datasets * 1e6:.1f} µs/dataset)")
    print(f"overall rate: {on_time / due:.3f} ({on_time}/{due})")


if __name__ == "__main__":
    main()
