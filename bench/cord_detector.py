"""The reject-rate detector alone on the cord bench's traffic: false alarms over many days, delay on 12 % → 30 %.

The gateway bench (bench/cord.py) runs ~100 calls a second, so 30 fault-free days there take days; this
feeds the same seasonal counts (Poisson around ``--rate`` a minute, ±50 % daily) straight to the detector, one
point per the monitor's interval (``--interval 60`` for the old per-minute points; ``--set shift=0.18`` to try
another setting). Run: ``.venv/bin/python -m bench.cord_detector --days 1000 --rounds 200``.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from andon.config.durations import parse_duration
from andon.watch.detectors.base import Detector, Proportion, build_detector
from bench.cord import NORMAL_REJECT, SHIFTED_REJECT, monitors, poisson, rate_at

START = datetime(2026, 1, 1, tzinfo=UTC)


def _point(rng: random.Random, i: int, step: float, rate: float, share: float, onset_s: float | None = None
           ) -> Proportion:  # fmt: skip
    """Point ``i``'s counts (``step`` seconds of calls): the share is ``share`` before ``onset_s``, shifted after."""
    return _point_after(rng, i, step, rate, share, onset_s)[0]


def _point_after(rng: random.Random, i: int, step: float, rate: float, share: float, onset_s: float | None = None
                 ) -> tuple[Proportion, int]:  # fmt: skip
    """Point ``i``'s counts and how many of its calls came at or after ``onset_s``."""
    count = poisson(rng, rate_at(START + timedelta(seconds=i * step), rate) * step / 60.0)
    offsets = [i * step + rng.uniform(0, step) for _ in range(count)]
    after = [onset_s is not None and o >= onset_s for o in offsets]
    hits = sum(rng.random() < (SHIFTED_REJECT if late else share) for late in after)
    return Proportion(hits, count), sum(after)


def false_alarms(settings: dict[str, Any], days: float, rate: float, seed: int, step: float = 60.0) -> int:
    """Alarms (ok/warn → fail) on stable 12 % rejects over ``days``, one point every ``step`` seconds."""
    rng, detector, alarms, before = random.Random(seed), build_detector(settings), 0, "ok"
    for i in range(round(days * 86400 / step)):
        state = detector.update(step * i, _point(rng, i, step, rate, NORMAL_REJECT)).state
        alarms += state == "fail" != before
        before = state
    return alarms


def delays(settings: dict[str, Any], rounds: int, rate: float, seed: int, step: float = 60.0,
           hours: tuple[float, float] = (0.0, 24.0)) -> list[tuple[float, int]]:  # fmt: skip
    """(seconds from a random onset to the end of the first failing point, calls from the onset to then), sorted.

    The onset falls in a random minute between ``hours`` (UTC, the traffic's time of day), after 3 h of baseline.
    """
    rng, out = random.Random(seed), []
    per_minute = round(60.0 / step)
    for _ in range(rounds):
        detector: Detector = build_detector(settings)
        onset_minute = rng.randrange(round(hours[0] * 60), round(hours[1] * 60))
        start = (onset_minute - 180) * per_minute
        for i in range(start, start + 180 * per_minute):
            detector.update(step * i, _point(rng, i, step, rate, NORMAL_REJECT))
        i = start + 180 * per_minute
        onset = step * i + rng.uniform(0, 60)  # seconds on the points' clock
        seen = 0
        while True:
            counts, after = _point_after(rng, i, step, rate, NORMAL_REJECT, onset)
            seen += after
            if detector.update(step * i, counts).state == "fail":
                break
            i += 1
        out.append((step * (i + 1) - onset, seen))  # point i is judged at its end
    return sorted(out)


def main(argv: list[str] | None = None) -> None:
    """Print the false-alarm rate with its exposure and the delay percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--days", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", default=None, help="seconds between points (default: the monitor's, 15s)")
    parser.add_argument("--hours", type=float, nargs=2, default=[0.0, 24.0], metavar=("FROM", "TO"),
                        help="onsets between these hours of the day (UTC; default 0 24)")  # fmt: skip
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override a detector setting")
    args = parser.parse_args(argv)
    monitor = monitors(args.rate)["reject-rate"]
    settings = {**monitor["detector"], **{k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}}
    step = parse_duration(args.interval if args.interval is not None else monitor["interval"])
    if 60.0 % step:
        parser.error("--interval must divide a minute")
    alarms = false_alarms(settings, args.days, args.rate, args.seed, step)
    print(f"every {step:g} s, {settings}: {alarms} false alarms in {args.days:g} simulated days "
          f"({alarms / args.days:.4f}/day)")  # fmt: skip
    if not 0 <= args.hours[0] < args.hours[1] <= 24:
        parser.error("--hours FROM TO: 0 <= FROM < TO <= 24")
    found = delays(settings, args.rounds, args.rate, args.seed + 1, step, (args.hours[0], args.hours[1]))
    seconds = [d for d, _ in found]
    calls = sorted(c for _, c in found)
    p50, p95 = seconds[len(seconds) // 2], seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
    within = sum(d <= 120 for d in seconds)
    print(f"12 % -> 30 % (onsets {args.hours[0]:g}-{args.hours[1]:g} h UTC): detect p50 {p50:.0f} s, p95 {p95:.0f} s, "
          f"{within}/{len(seconds)} within 2 min; calls onset -> detection p50 {calls[len(calls) // 2]}")  # fmt: skip


if __name__ == "__main__":
    main()
