"""How fast a canary rollout rolls back a version that goes bad, and what it costs: simulated traffic through the
real in-process gateway, the real watcher's rollout ticks, the real store.

The feature has a stable version and a canary (python rules: no model). Calls arrive Poisson around ``--rate`` a
minute from ``--users`` users (sticky by user id). The rollout's steps are 5 % → 25 % → 50 %, each held ``--hold``
simulated minutes, judged on error rate (tolerance 1 point) and latency. Both versions fail 0.5 % of calls;
in a bad round the canary fails ``--bad-errors`` of its calls from a random minute on (the onset). Time is
simulated: each trace carries the call's simulated time (the gateway's ``clock=``), the watcher ticks once a
simulated minute. Reported: for bad rounds, onset → rollback (minutes and calls) and the calls the bad canary
served after the onset; for good rounds, how many were promoted, and false rollbacks. JSON in bench/out/.

Run from the project root: ``.venv/bin/python -m bench.rollout`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import math
import random
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "rollout.json"
BASE_ERRORS = 0.005
SIM_NOW: contextvars.ContextVar[datetime] = contextvars.ContextVar("andon_bench_rollout_now")

RULES = """\
def stable(variables):
    if variables.get("fail"):
        raise RuntimeError("a rare failure")
    return {"decision": "approve"}


def canary(variables):
    if variables.get("fail") or variables.get("canary_fail"):
        raise RuntimeError("the canary went bad")
    return {"decision": "approve"}
"""


@dataclass
class Round:
    """One rollout: whether its canary goes bad, when, and what happened."""

    seed: int
    bad: bool
    onset_min: float | None
    outcome: str = "running"
    decided_min: float | None = None
    calls_after_onset: int = 0
    bad_calls_after_onset: int = 0
    step_at_end: int = 0


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def config(hold_min: int, calls: int) -> dict[str, Any]:
    # Held for a time and for enough canary calls: at 5 % a quiet hour has too few to judge (NoData pauses).
    steps = [{"weight": w, "hold": f"{hold_min}m", "calls": calls} for w in (5, 25, 50)]
    metrics = [
        {"metric": "error_rate", "tolerance": 0.01, "weight": 2},
        {"metric": "latency_ms", "tolerance": 2.0, "weight": 1},
    ]
    versions = {"v1": {"python": "ro_bench:stable"}, "v2": {"python": "ro_bench:canary"}}
    feature = {"versions": versions, "serve": {"routing": {"fallback": "off"}},
               "rollout": {"sticky": "user", "steps": steps, "metrics": metrics}}  # fmt: skip
    return {"andon": 1, "name": "rollout-bench", "features": {"menu": feature}, "gateway": {"auth": False}}


async def one_round(args: argparse.Namespace, seed: int, bad: bool, database_url: str | None) -> Round:
    from andon.deploy import promote
    from andon.deploy.rollout import start_rollout
    from andon.gateway.service import Gateway
    from andon.gateway.types import Caller
    from andon.watch.watcher import Watcher
    from andon.workspace import Workspace

    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="andon-rollout-bench-"))
    (folder / "andon.yaml").write_text(json.dumps(config(args.hold, args.calls)), encoding="utf-8")
    (folder / "ro_bench.py").write_text(RULES, encoding="utf-8")
    sys.path.insert(0, str(folder))
    total = args.hold * 3
    onset = rng.uniform(1, total - 1) if bad else None  # minutes after the start: in any of the three steps
    result = Round(seed, bad, onset)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ws = Workspace.open(folder, database_url=database_url)
    try:
        promote(ws, "menu", "v1", force=True, actor="bench", reason="rollout bench")
        gateway = Gateway(ws, prune_interval_s=None, clock=SIM_NOW.get)
        await gateway.start()
        record = start_rollout(ws, "menu", "v2", force=True, actor="bench", reason="rollout bench", now=now)
        start = now
        async with Watcher(ws, owner="rollout-bench", clock=lambda: now) as watcher:
            for _minute in range(total * 4):  # a step may wait past its hold for enough canary calls
                for offset in sorted(rng.uniform(0, 60) for _ in range(poisson(rng, args.rate))):
                    at = now + timedelta(seconds=offset)
                    SIM_NOW.set(at)
                    minutes = (at - start).total_seconds() / 60
                    gone_bad = onset is not None and minutes >= onset
                    variables = {"fail": rng.random() < BASE_ERRORS,
                                 "canary_fail": gone_bad and rng.random() < args.bad_errors}  # fmt: skip
                    answer = await gateway.invoke("menu", variables, Caller(user_id=f"u{rng.randrange(args.users)}"))
                    if gone_bad:
                        result.calls_after_onset += 1
                        result.bad_calls_after_onset += answer.version_name == "v2"
                now += timedelta(minutes=1)
                await watcher.tick_rollouts(now)
                record = ws.store.get_rollout(record.id)
                if record.status != "running":
                    result.outcome, result.decided_min = record.status, (now - start).total_seconds() / 60
                    break
        result.step_at_end = record.step
        await gateway.stop()
    finally:
        ws.store.close()
        sys.path.remove(str(folder))
        sys.modules.pop("ro_bench", None)
        shutil.rmtree(folder, ignore_errors=True)
    return result


def summary(rounds: list[Round]) -> dict[str, Any]:
    bad = [r for r in rounds if r.bad]
    good = [r for r in rounds if not r.bad]
    caught = [r for r in bad if r.outcome == "degraded"]
    late = [r.decided_min - r.onset_min for r in caught if r.decided_min is not None and r.onset_min is not None]
    return {
        "bad_rounds": len(bad),
        "rolled_back": len(caught),
        "minutes_to_rollback_median": median(late) if late else None,
        "minutes_to_rollback_max": max(late) if late else None,
        "calls_after_onset_median": median(r.calls_after_onset for r in caught) if caught else None,
        "bad_version_calls_after_onset_median": median(r.bad_calls_after_onset for r in caught) if caught else None,
        "bad_version_calls_after_onset_max": max((r.bad_calls_after_onset for r in caught), default=None),
        "good_rounds": len(good),
        "promoted": sum(1 for r in good if r.outcome == "promoted"),
        "false_rollbacks": sum(1 for r in good if r.outcome == "degraded"),
        "paused": sum(1 for r in rounds if r.outcome == "paused"),
    }


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=120.0, help="calls per simulated minute")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--hold", type=int, default=10, help="simulated minutes each step is held")
    parser.add_argument("--calls", type=int, default=40, help="canary calls each step waits for, too")
    parser.add_argument("--bad-errors", type=float, default=0.10, help="the bad canary's extra error rate")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each kind (bad canary, good canary)")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--quick", action="store_true", help="one round of each, rate 200, hold 4")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.rate, args.hold = 1, 200.0, 4
    rounds = []
    for seed in range(args.rounds):
        for bad in (True, False):
            done = await one_round(args, seed * 2 + bad, bad, args.database_url)
            rounds.append(done)
            print(f"seed {done.seed:3d} bad={done.bad!s:5} onset={done.onset_min} -> {done.outcome} "
                  f"at {done.decided_min} min, step {done.step_at_end + 1}, bad-version calls "
                  f"{done.bad_calls_after_onset}/{done.calls_after_onset}", flush=True)  # fmt: skip
    result = {"args": {k: v for k, v in vars(args).items() if k != "database_url"}, "summary": summary(rounds),
              "rounds": [asdict(r) for r in rounds]}  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for key, value in result["summary"].items():
        print(f"{key:40s} {value}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
