"""The reject-rate detector alone on the cord bench's traffic: false alarms over many days, delay on 12 % → 30 %.

The gateway bench (bench/cord.py) runs ~100 calls a second, so 30 fault-free days there take days; this
feeds the same seasonal per-minute counts (Poisson around ``--rate``, ±50 % daily) straight to the detector.
Run: ``.venv/bin/python -m bench.cord_detector --days 1000 --rounds 200``.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from andon.watch.detectors.base import Detector, Proportion, build_detector
from bench.cord import NORMAL_REJECT, SHIFTED_REJECT, monitors, poisson, rate_at

START = datetime(2026, 1, 1, tzinfo=UTC)


def _minute(rng: random.Random, i: int, rate: float, share: float, onset_s: float = 60.0) -> Proportion:
    """Minute ``i``'s counts: the share is ``share`` up to ``onset_s`` into the minute, the shifted one after."""
    offsets = [rng.uniform(0, 60) for _ in range(poisson(rng, rate_at(START + timedelta(minutes=i), rate)))]
    hits = sum(rng.random() < (share if o < onset_s else SHIFTED_REJECT) for o in offsets)
    return Proportion(hits, len(offsets))


def false_alarms(settings: dict[str, Any], days: float, rate: float, seed: int) -> int:
    """Alarms (ok/warn → fail) on stable 12 % rejects over ``days``."""
    rng, detector, alarms, before = random.Random(seed), build_detector(settings), 0, "ok"
    for i in range(round(days * 1440)):
        state = detector.update(60.0 * i, _minute(rng, i, rate, NORMAL_REJECT)).state
        alarms += state == "fail" != before
        before = state
    return alarms


def delays(settings: dict[str, Any], rounds: int, rate: float, seed: int) -> list[float]:
    """Seconds from a random onset (random hour of day, 3 h of baseline) to the first failing minute."""
    rng, out = random.Random(seed), []
    for _ in range(rounds):
        detector: Detector = build_detector(settings)
        start = rng.randrange(1440)
        for i in range(start, start + 180):
            detector.update(60.0 * i, _minute(rng, i, rate, NORMAL_REJECT))
        onset, i = 60.0 * (start + 180) + rng.uniform(0, 60), start + 180  # seconds on the minutes' clock
        while detector.update(60.0 * i, _minute(rng, i, rate, NORMAL_REJECT, onset - 60.0 * i)).state != "fail":
            i += 1
        out.append(60.0 * (i + 1) - onset)  # minute i is judged at its end
    return sorted(out)


def main(argv: list[str] | None = None) -> None:
    """Print the false-alarm rate with its exposure and the delay percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--days", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    settings = monitors(args.rate)["reject-rate"]["detector"]
    alarms = false_alarms(settings, args.days, args.rate, args.seed)
    print(f"{settings}: {alarms} false alarms in {args.days:g} simulated days ({alarms / args.days:.4f}/day)")
    found = delays(settings, args.rounds, args.rate, args.seed + 1)
    p50, p95 = found[len(found) // 2], found[min(len(found) - 1, int(0.95 * len(found)))]
    within = sum(d <= 120 for d in found)
    print(f"12 % -> 30 %: detect p50 {p50:.0f} s, p95 {p95:.0f} s, {within}/{len(found)} within 2 min")


if __name__ == "__main__":
    main()
