"""How fast the Andon cord is pulled: simulated days of seasonal traffic through the real gateway, then faults.

One simulated world, all of it real except the model and the clock: the menu-review feature is served by the
in-process gateway (``andon.gateway.service.Gateway``) in front of the loopback stub provider (bench/stub.py,
echo mode: the answer is the JSON the simulated traffic sends, so the traffic decides the label), its traces
are committed to the workspace's store (SQLite, or PostgreSQL with ``--database-url``), and the real watcher
(``andon.watch.watcher.Watcher``) evaluates the monitors of an andon.yaml written here and pulls the real cord.
Only time is simulated: every call carries a simulated timestamp (the gateway's injectable clock reads it
from a context variable), and the watcher ticks once per simulated minute with the simulated clock.

1. ``--days`` fault-free days (default a week) with daily seasonality: calls per minute are Poisson around
   ``--rate``, from half of it at 04:00 to one and a half times it at 16:00; 12 % of answers are rejects,
   0.5 % of provider calls fail. Every cord pull here is a false pull (it is resumed by hand 10 minutes later).
2. Then, on the same timeline, ``--seeds`` rounds of the four faults, each round in a seeded random order:
   20–50 minutes of normal traffic, the fault from a random second (onset), until the cord stops the feature or
   ``--max-minutes`` pass; the fault goes on 5 more minutes (calls now go to the review queue), ends, and an
   operator resumes the feature. Faults: ``provider_errors`` (half of provider calls answer 503),
   ``latency`` (the provider answers after 5 s), ``label_shift`` (rejects 12 % → 30 %), ``cost_spike``
   (inputs, and so answers, 30 times longer: a client pasting whole documents).

Reported per fault: time from onset to the first failing point of any monitor (detect) and to the cord's stop
(stop), p50/p95 over the rounds, and how many were never stopped (missed); false pulls per simulated day over
the fault-free days (and, apart, over the normal stretches between faults). Figures go to ``bench/out/cord.json``.

Run from the project root: ``.venv/bin/python -m bench.cord`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "cord.json"
FEATURE = "menu-review"
FAULTS = ("provider_errors", "latency", "label_shift", "cost_spike")
NORMAL_REJECT, SHIFTED_REJECT = 0.12, 0.30
NORMAL_ERRORS, FAULT_ERRORS = 0.005, 0.5
SLOW_S = 5.0  # the slow provider's answer time (real seconds: the gateway measures latency on the wall clock)
LONG_WORDS = 60  # words a cost-spike call pastes into its input (a normal one carries about 2)
AMPLITUDE = 0.5  # daily seasonality: the rate swings ±50 % around its mean
PEAK_HOUR = 16.0
FALSE_PULL_RESUME_MIN = 10  # an operator resumes a false pull after this long
TICK_S = 15  # the watcher ticks this often (simulated seconds): the reject-rate monitor's 15 s interval
SIM_NOW: contextvars.ContextVar[datetime] = contextvars.ContextVar("andon_bench_sim_now")


def rate_at(ts: datetime, mean: float) -> float:
    """Expected calls per minute at ``ts``: a daily sine around ``mean`` peaking at 16:00 UTC."""
    hour = ts.hour + ts.minute / 60.0
    return mean * (1.0 + AMPLITUDE * math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24.0))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 50, where it is indistinguishable for this use)."""
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def monitors(rate: float) -> dict[str, Any]:
    """The bench's monitors, as a team would write them (interval 1m, the reject rate 15s; detector defaults else).

    The cost budget is the one number that depends on the traffic: a team draws it above its busiest hour.
    """
    budget = 2.5 * rate * 60 * 2 * 3 * 1e-6  # 2.5 x the mean hour's spend (~2 words in, ~2 out at $1/$2 per 1M words)
    common: dict[str, Any] = {"feature": FEATURE, "interval": "1m", "actions": ["stop"], "owner": "menu-team"}
    return {
        "errors": {
            **common,
            "metric": "error_rate",
            "window": "1m",
            "min_calls": 10,
            "detector": {"type": "proportion", "baseline_windows": 60, "min_baseline_trials": 400, "min_change": 0.05},
            "runbook": "https://wiki.example/runbooks/menu-review#provider",
        },
        "latency": {
            **common,
            "metric": "latency_p95_ms",
            "window": "1m",
            "min_calls": 10,
            "detector": {"type": "threshold", "fail_above": 3000},
            "runbook": "https://wiki.example/runbooks/menu-review#latency",
        },
        "reject-rate": {
            **common,
            "metric": "label_share",
            "source": {"path": "decision", "label": "reject"},
            # A sequential test keeps the evidence across windows, so the windows must not overlap (window ==
            # interval: each call counted once); 12 % -> 30 % still takes ~80-120 calls at 30 days' ARL0. Every
            # 15 s rather than every minute: the test stops where the evidence is, not up to a minute later. Its
            # point counts follow the interval: 480 points of baseline (2 h) with the newest 20 (5 min) held out.
            "interval": "15s",
            "window": "15s",
            "min_calls": 1,
            "detector": {
                "type": "share-cusum",
                "shift": 0.1,
                "arl0_days": 30,
                "min_baseline_trials": 400,
                "baseline_windows": 480,
                "guard": 20,
            },
            "runbook": "https://wiki.example/runbooks/menu-review#labels",
        },
        "cost": {
            **common,
            "metric": "cost_per_hour",
            "window": "1m",
            "min_calls": 5,
            "detector": {"type": "threshold", "fail_above": round(budget, 6)},
            "runbook": "https://wiki.example/runbooks/menu-review#cost",
        },
    }


def workspace_config(stub_url: str, rate: float) -> dict[str, Any]:
    """andon.yaml: the feature on the stub (JSON answers), prices, the monitors; auth off (in-process calls)."""
    return {
        "andon": 1,
        "name": "cord-bench",
        "providers": {
            "stub": {
                "type": "openai",
                "base_url": stub_url,
                "api_key": "sk-stub",
                "model": "stub-model",
                "max_retries": 0,
            },
        },
        "prices": [{"provider": "stub", "model": "*", "input_per_1m": 1.0, "output_per_1m": 2.0, "currency": "USD"}],
        "features": {
            FEATURE: {
                "description": "Menu review on simulated traffic: the stub echoes the decision the traffic sends.",
                "versions": {"v1": {"provider": "stub", "prompt": "{{ input }}", "params": {"json_mode": True}}},
                "serve": {"routing": {"fallback": "queue"}},
            }
        },
        "monitors": monitors(rate),
        "gateway": {"auth": False},
    }


@dataclass
class Round:
    """One fault injected once: when it began, when a monitor first failed, when the cord stopped the feature."""

    fault: str
    seed: int
    onset: datetime
    detected: datetime | None = None
    stopped: datetime | None = None
    by: str | None = None  # the monitor that pulled
    queued_after: int = 0  # calls sent to the review queue after the stop
    calls_after: int = 0
    rate: float = 0.0  # expected calls per minute at the onset (the daily swing: 30 at 04:00, 90 at 16:00)
    answers_to_stop: int | None = None  # the AI's answers from the onset to the stop: the evidence the cord had

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: times as ISO 8601, with the two delays in seconds."""
        out: dict[str, Any] = asdict(self)
        for key in ("onset", "detected", "stopped"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return {**out, "detect_s": self.detect_s, "stop_s": self.stop_s}

    @property
    def detect_s(self) -> float | None:
        """Seconds from onset to the first failing point."""
        return None if self.detected is None else (self.detected - self.onset).total_seconds()

    @property
    def stop_s(self) -> float | None:
        """Seconds from onset to the stop."""
        return None if self.stopped is None else (self.stopped - self.onset).total_seconds()


@dataclass
class Tally:
    """Everything one run measured."""

    normal_minutes: int = 0
    false_pulls: list[dict[str, str]] = field(default_factory=list)
    between_minutes: int = 0
    between_pulls: list[dict[str, str]] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    calls: int = 0
    ticks: int = 0


@dataclass(frozen=True)
class Fault:
    """What is wrong from ``onset`` on (None: nothing)."""

    kind: str
    onset: datetime


class World:
    """The stub, the workspace, the gateway and the watcher, driven one simulated minute at a time."""

    def __init__(self, root: Path, *, rate: float, seed: int, start: datetime, database_url: str | None,
                 in_flight: int = 8) -> None:  # fmt: skip
        self.root = root
        # A client pool, not a burst: a simulated minute's calls all at once would queue in the gateway and the
        # wall-clock latency monitor would measure the bench's own queue (the false pulls of the first runs).
        self.in_flight = asyncio.Semaphore(in_flight)
        self.rate = rate
        self.rng = random.Random(seed)
        self.now = start
        self.database_url = database_url
        self.tally = Tally()
        self._exit: list[Callable[[], Any]] = []

    async def __aenter__(self) -> World:
        from andon import deploy
        from andon.gateway.service import Gateway
        from andon.watch.watcher import Watcher
        from andon.workspace import Workspace
        from bench.stub import StubServer

        self.stub = StubServer(echo=True, record=False)
        await self.stub.start()
        (self.root / ".andon").mkdir(parents=True, exist_ok=True)
        config = workspace_config(self.stub.base_url, self.rate)
        (self.root / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
        self.ws = Workspace.open(self.root, database_url=self.database_url)
        deploy.promote(self.ws, FEATURE, "v1", force=True, actor="bench", reason="cord bench: served unevaluated")
        self.gateway = Gateway(self.ws, prune_interval_s=None, clock=SIM_NOW.get)
        # The circuit breaker waits reset_s on its clock before a trial call. On the wall clock, where a simulated
        # minute takes about a second, a circuit opened by provider_errors stayed open for 30-100 simulated
        # minutes: every later call was refused, so the next fault was masked (a latency never detected, a label
        # shift seen only by the errors monitor in its cooldown) and the errors monitor pulled between faults.
        self.gateway.circuits._clock = lambda: self.now.timestamp()
        await self.gateway.start()
        self.watcher = Watcher(self.ws, owner="cord-bench", clock=lambda: self.now)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.watcher.aclose()
        await self.gateway.stop()
        await self.ws.aclose_providers()
        self.ws.store.close()
        await self.stub.close()

    # --- traffic -----------------------------------------------------------------------------------

    def _program(self, kind: str | None, calls: int) -> None:
        """One stub answer per provider call, in order (calls of a group share one fault state, so any
        arrival order gives the same distribution)."""
        from bench.stub import Scripted

        self.stub.reset()
        errors = FAULT_ERRORS if kind == "provider_errors" else NORMAL_ERRORS
        delay = SLOW_S if kind == "latency" else None
        self.stub.program(
            Scripted(status=503) if self.rng.random() < errors else Scripted(delay_s=delay) for _ in range(calls)
        )

    def _variables(self, kind: str | None) -> dict[str, str]:
        share = SHIFTED_REJECT if kind == "label_shift" else NORMAL_REJECT
        answer: dict[str, str] = {"decision": "reject" if self.rng.random() < share else "approve"}
        if kind == "cost_spike":
            answer["note"] = " ".join("word" for _ in range(LONG_WORDS))
        return {"input": json.dumps(answer)}

    async def _group(self, kind: str | None, offsets: Sequence[float]) -> list[Any]:
        from andon.gateway.types import Caller

        self._program(kind, len(offsets))
        minute = self.now  # the slice's start: offsets count from it

        async def one(offset: float) -> Any:
            SIM_NOW.set(minute + timedelta(seconds=offset))  # this task's copy: the trace's created_at
            variables = self._variables(kind)  # drawn in arrival order, whatever the pool does
            async with self.in_flight:
                return await self.gateway.invoke(FEATURE, variables, Caller())

        return list(await asyncio.gather(*(one(o) for o in offsets)))

    async def minute(self, fault: Fault | None = None) -> tuple[list[Any], list[Any]]:
        """This minute's calls, one ``TICK_S`` slice at a time (see :meth:`slices`), all answers and evaluations."""
        answers: list[Any] = []
        done: list[Any] = []
        async for got, evaluated in self.slices(fault):
            answers += got
            done += evaluated
        return answers, done

    async def slices(self, fault: Fault | None = None) -> AsyncIterator[tuple[list[Any], list[Any]]]:
        """Draw this minute's calls, then per slice of ``TICK_S`` seconds: send its calls (split at a fault's
        onset), tick the watcher at the slice's end (monitors not due then do nothing), yield both."""
        count = poisson(self.rng, rate_at(self.now, self.rate))
        offsets = sorted(self.rng.uniform(0, 60) for _ in range(count))
        split = 60.0
        if fault is not None and fault.onset < self.now + timedelta(minutes=1):
            split = max(0.0, (fault.onset - self.now).total_seconds())
        minute = self.now
        for start in range(0, 60, TICK_S):
            part = [o - start for o in offsets if start <= o < start + TICK_S]
            cut = split - start
            answers = await self._group(None, [o for o in part if o < cut])
            answers += await self._group(fault.kind if fault else None, [o for o in part if o >= cut])
            self.tally.calls += len(answers)
            self.now = minute + timedelta(seconds=start + TICK_S)
            done = await self.watcher.tick(self.now)
            self.tally.ticks += len(done)
            yield answers, done

    def answers(self, start: datetime, end: datetime) -> int:
        """The AI's answers (the reject-rate monitor's trials) in [start, end), counted in the store."""
        _, trials = self.ws.store.trace_share(FEATURE, start, end, "label", path=("decision",), labels=["reject"])
        return trials

    def stopped(self) -> bool:
        """Whether the feature is stopped now (read from the store, as the gateway does)."""
        return bool(self.ws.store.feature_stopped(FEATURE)[0])

    def resume(self, reason: str) -> None:
        """An operator resumes the feature (a human decision, audited)."""
        from andon import deploy

        deploy.resume_feature(self.ws, FEATURE, reason=reason, actor="bench-operator")


def _pulled(done: list[Any]) -> str | None:
    """The monitor whose evaluation stopped the feature at this tick, if any."""
    for evaluated in done:
        if any(p.action == "stop" for p in evaluated.pulls):
            return str(evaluated.monitor)
    return None


def _failing(done: list[Any]) -> bool:
    return any(e.step.point.state == "fail" for e in done)


async def normal_stretch(world: World, minutes: int, *, between: bool) -> None:
    """``minutes`` of fault-free traffic; a pull here is false: recorded, and resumed by hand a little later."""
    tally = world.tally
    resume_at: datetime | None = None
    for _ in range(minutes):
        _, done = await world.minute()
        if between:
            tally.between_minutes += 1
        else:
            tally.normal_minutes += 1
        monitor = _pulled(done)
        if monitor is not None:
            entry = {"at": world.now.isoformat(), "monitor": monitor,
                     "reason": next(e.step.point.reason for e in done if e.monitor == monitor)}  # fmt: skip
            (tally.between_pulls if between else tally.false_pulls).append(entry)
            resume_at = world.now + timedelta(minutes=FALSE_PULL_RESUME_MIN)
        if resume_at is not None and world.now >= resume_at:
            world.resume("false alarm")
            resume_at = None
    if world.stopped():
        world.resume("false alarm")


@dataclass(frozen=True)
class Pacing:
    """Simulated minutes of one round: lead-in (a range), the most a fault may take, its tail, the recovery."""

    lead_in: tuple[int, int] = (20, 50)
    max_minutes: int = 10
    after_stop: int = 5  # the fault lasts this long after the stop (calls go to the review queue meanwhile)
    recovery: int = 10  # normal traffic after the operator resumes, before the next round's lead-in

    @property
    def longest(self) -> int:
        """The most simulated minutes one round can take."""
        return self.lead_in[1] + self.max_minutes + 1 + self.after_stop + self.recovery


async def fault_round(world: World, kind: str, seed: int, pacing: Pacing) -> Round:
    """Lead-in, the fault from a random second, until stopped (or ``max_minutes``), its tail, the resume."""
    rng = random.Random(seed)
    await normal_stretch(world, rng.randint(*pacing.lead_in), between=True)
    onset = world.now + timedelta(seconds=rng.uniform(0, 60))
    fault = Fault(kind, onset)
    found = Round(kind, seed, onset, rate=rate_at(onset, world.rate))
    # A stop mid-minute leaves the world's minutes shifted by whole slices from then on, which the watcher does
    # not mind: it still ticks on multiples of TICK_S and each monitor measures its own aligned windows.
    for _ in range(pacing.max_minutes + 1):
        async with contextlib.aclosing(world.slices(fault)) as slices:
            async for _answers, done in slices:
                if found.detected is None and _failing(done):
                    found.detected = world.now
                monitor = _pulled(done)
                if monitor is None and world.stopped():
                    # A pull claimed at an earlier tick whose carrying-out failed (the store busy) is finished by
                    # the watcher's next tick, outside Evaluated.pulls: the store says the feature is stopped.
                    monitor = "pending pull finished"
                if monitor is not None:
                    found.stopped, found.by = world.now, monitor
                    break
        if found.stopped is not None:
            break
    if found.stopped is not None:
        found.answers_to_stop = world.answers(onset, found.stopped)
        for _ in range(pacing.after_stop):
            answers, _ = await world.minute(fault)
            found.calls_after += len(answers)
            found.queued_after += sum(1 for a in answers if a.route == "human" and a.status == "queued")
    if world.stopped():
        world.resume(f"bench: {kind} over")
    await normal_stretch(world, pacing.recovery, between=True)
    return found


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(tally: Tally, days: float) -> dict[str, Any]:
    """Per fault: detect/stop p50 and p95 (s), missed, stopped within 2 min; false pulls per day and exposure."""
    faults: dict[str, Any] = {}
    for kind in FAULTS:
        rounds = [r for r in tally.rounds if r.fault == kind]
        if not rounds:
            continue
        detects = [r.detect_s for r in rounds if r.detect_s is not None]
        stops = [r.stop_s for r in rounds if r.stop_s is not None]
        answers = [float(r.answers_to_stop) for r in rounds if r.answers_to_stop is not None]
        faults[kind] = {
            "rounds": len(rounds),
            "onset_rate_per_min": sorted(round(r.rate) for r in rounds),
            "answers_to_stop_p50": _percentile(answers, 0.5),
            "detect_p50_s": _percentile(detects, 0.5),
            "detect_p95_s": _percentile(detects, 0.95),
            "stop_p50_s": _percentile(stops, 0.5),
            "stop_p95_s": _percentile(stops, 0.95),
            "stop_max_s": max(stops) if stops else None,
            "missed": len(rounds) - len(stops),
            "within_2_min": sum(1 for s in stops if s <= 120),
            "pulled_by": sorted({r.by for r in rounds if r.by}),
            "queued_after_stop": sum(r.queued_after for r in rounds),
            "calls_after_stop": sum(r.calls_after for r in rounds),
        }
    normal_days = tally.normal_minutes / 1440
    between_days = tally.between_minutes / 1440
    return {
        "faults": faults,
        "false_pulls": len(tally.false_pulls),
        "fault_free_days": normal_days,
        "false_pulls_per_day": len(tally.false_pulls) / normal_days if normal_days else None,
        # with none seen, the 95 % upper bound of a Poisson rate is 3 / exposure
        "false_pulls_per_day_95_upper": (_poisson_upper(len(tally.false_pulls)) / normal_days) if normal_days else None,
        "between_pulls": len(tally.between_pulls),
        "between_days": between_days,
        "calls": tally.calls,
        "monitor_points": tally.ticks,
        "days_requested": days,
    }


def _poisson_upper(k: int) -> float:
    """The exact one-sided 95 % upper bound of a Poisson mean after ``k`` events (chi-square via bisection)."""
    low, high = float(k), float(k) + 10 + 5 * math.sqrt(k + 1)
    for _ in range(100):
        mid = (low + high) / 2
        cdf = sum(math.exp(-mid + i * math.log(mid) - math.lgamma(i + 1)) for i in range(k + 1))
        low, high = (mid, high) if cdf > 0.05 else (low, mid)
    return high


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_table(result: dict[str, Any]) -> None:
    """The figures, one line per fault, then the false-pull rate with its exposure."""
    print()
    print(f"{'fault':<16} {'rounds':>6} {'detect p50':>10} {'p95':>6} {'stop p50':>9} {'p95':>6} {'max':>6} "
          f"{'missed':>6} {'<=2 min':>8}  pulled by")  # fmt: skip
    for kind, f in result["faults"].items():
        print(f"{kind:<16} {f['rounds']:>6} {_fmt(f['detect_p50_s']):>9}s {_fmt(f['detect_p95_s']):>5}s "
              f"{_fmt(f['stop_p50_s']):>8}s {_fmt(f['stop_p95_s']):>5}s {_fmt(f['stop_max_s']):>5}s {f['missed']:>6} "
              f"{f['within_2_min']:>4}/{f['rounds']:<3}  {', '.join(f['pulled_by']) or '-'}")  # fmt: skip
    for kind, f in result["faults"].items():
        print(f"{kind:<16} calls/min at the onsets {f['onset_rate_per_min']}, "
              f"AI answers onset -> stop p50 {_fmt(f['answers_to_stop_p50'])}")  # fmt: skip
    days = result["fault_free_days"]
    rate, upper = result["false_pulls_per_day"], result["false_pulls_per_day_95_upper"]
    shown = "-" if rate is None else f"{rate:.3f}"
    bound = "-" if upper is None else f"{upper:.3f}"
    print()
    print(
        f"false pulls on fault-free days: {result['false_pulls']} in {days:.2f} simulated days = {shown}/day "
        f"(95 % upper bound {bound}/day)"
    )
    print(f"pulls in the normal stretches between faults: {result['between_pulls']} in "
          f"{result['between_days']:.2f} simulated days")  # fmt: skip
    print(f"calls through the gateway: {result['calls']:,}; monitor points: {result['monitor_points']:,}; "
          f"wall time {result['wall_s']:.0f} s")  # fmt: skip


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Build the world, run the fault-free days and the fault rounds; the summary with every detail."""
    pacing = Pacing((args.lead_in[0], args.lead_in[1]), args.max_minutes, args.after_stop, args.recovery)
    total_days = args.days + args.seeds * len(args.faults) * pacing.longest / 1440
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # In the past, so that what the cord stamps with the wall clock (the incident's `mitigated`) comes after it.
    # From ``--start-hour``: a short run's rounds all fall within a few hours of it (from midnight: the night's
    # 30-45 calls a minute, where the label shift needs 2-3 minutes of answers), so a run names its hours.
    start = today - timedelta(days=math.ceil(total_days) + 1) + timedelta(hours=args.start_hour)
    started = time.monotonic()
    async with World(
        root, rate=args.rate, seed=args.seed, start=start, database_url=args.database_url, in_flight=args.in_flight
    ) as world:
        minutes = round(args.days * 1440)
        day = 0
        while day * 1440 < minutes:
            await normal_stretch(world, min(1440, minutes - day * 1440), between=False)
            day += 1
            _progress(f"day {day}: {world.tally.calls:,} calls, false pulls {len(world.tally.false_pulls)}", started)
        order = random.Random(args.seed)
        for index in range(args.seeds):
            kinds = list(args.faults)
            order.shuffle(kinds)
            for kind in kinds:
                found = await fault_round(world, kind, args.seed * 1000 + index * 10 + FAULTS.index(kind), pacing)
                world.tally.rounds.append(found)
            _progress(f"round {index + 1}/{args.seeds}: {world.tally.calls:,} calls", started)
        result = summary(world.tally, args.days)
        result["wall_s"] = time.monotonic() - started
        result["settings"] = {"rate_per_min": args.rate, "days": args.days, "seeds": args.seeds, "seed": args.seed,
                              "start_hour": args.start_hour,
                              "pacing": asdict(pacing), "store": "postgresql" if args.database_url else "sqlite",
                              "monitors": monitors(args.rate)}  # fmt: skip
        result["rounds"] = [r.to_json() for r in world.tally.rounds]
        result["false_pull_list"] = world.tally.false_pulls
        result["between_pull_list"] = world.tally.between_pulls
    return result


def _progress(text: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.0f} s] {text}", file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (``--quick`` shrinks everything to a smoke run)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=60.0, help="mean calls per simulated minute (default 60)")
    parser.add_argument("--days", type=float, default=7.0, help="fault-free simulated days first (default 7)")
    parser.add_argument("--seeds", type=int, default=20, help="rounds of the faults (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the world's seed")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--max-minutes", type=int, default=10, help="a fault not stopped by then is missed")
    parser.add_argument("--lead-in", type=int, nargs=2, default=[20, 50], metavar=("MIN", "MAX"),
                        help="normal minutes before each fault (default 20 50)")  # fmt: skip
    parser.add_argument("--after-stop", type=int, default=5, help="minutes the fault lasts after the stop")
    parser.add_argument("--recovery", type=int, default=10, help="normal minutes after the resume")
    parser.add_argument("--in-flight", type=int, default=8, help="calls in flight at once (a client pool; default 8)")
    parser.add_argument("--start-hour", type=float, default=0.0,
                        help="simulated UTC hour the run starts at (default 0; calls are fewest at 04:00)")  # fmt: skip
    parser.add_argument("--database-url", default=None, help="an EMPTY store (default: a temporary SQLite file)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 12 minutes, one round, rate 60")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not 0 <= args.start_hour < 24:
        parser.error("--start-hour: an hour of the day, 0 <= HOUR < 24")
    if args.quick:
        args.days, args.seeds, args.rate = 12 / 1440, 1, 60.0
        args.lead_in, args.after_stop, args.recovery = [3, 5], 1, 2
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the bench, print the table, write the JSON; returns the result."""
    import logging

    logging.getLogger("andon").setLevel(logging.ERROR)  # a pull logs warnings by design; the table says it all
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="andon-cord-") as folder:
        result = asyncio.run(run(args, Path(folder)))
        shutil.rmtree(folder, ignore_errors=True)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
