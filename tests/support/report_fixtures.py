"""Realistic run reports for the report tests, every figure computed with the real metric functions.

A menu-photo review feature (labels approve/reject) run on N cases × versions × repeats, with errors,
cached answers, a malformed reply, an output carrying a script tag, Korean text, an LLM judge checked
against human labels, strict criteria (some failing) and a paired comparison of the first two versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import struct
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from andon.config.criteria import parse_criterion
from andon.evals.metrics import (
    MetricValue,
    classification_report,
    latency_metrics,
    mean_score,
    pass_rate,
    unit_economics,
)
from andon.evals.model import (
    Case,
    CellResult,
    Comparison,
    CriterionResult,
    FlippedCase,
    Grade,
    JudgeAgreement,
    MetricDelta,
    RunInfo,
    RunReport,
    VersionSummary,
)
from andon.evals.stability import stability_report
from andon.evals.stats import (
    cohen_kappa,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap_diff,
    paired_permutation_test,
    quantile,
)

FEATURE = "menu-photo-review"
SCRIPT = "<script>alert(1)</script>"
FORMULA_REPLY = "=1+1 승인합니다"  # a malformed reply that a spreadsheet would run as a formula
REMOTE_IMAGE = "https://images.example.com/menus/remote-001.jpg"
MISSING_PHOTO_CASE = "menu-005"
CRITERIA = (
    "accuracy >= 0.8",
    "recall[reject] >= 0.75",
    "p95_latency_ms <= 2000",
    "cost_per_1k <= 1.5 USD",
    "error_rate <= 0.15",
)
# Criteria name some metrics differently from the metric functions; this is the runner's mapping.
METRIC_FOR = {"p95_latency_ms": "latency_p95", "cost_per_1k": "cost_per_1k_calls"}
SYSTEM_PROMPT = (
    "You review restaurant menu photos before they go live. Approve a photo when the menu is legible, "
    "prices are shown, and allergens are marked. Reject it otherwise. Answer as JSON: "
    '{"decision": "approve" | "reject", "reason": "..."}'
)

# Per version: provider, model, chance of a right answer, typical latency (ms), price per input/output token.
PROFILES: dict[str, dict[str, Any]] = {
    "v1": {"provider": "openai", "model": "gpt-4o-mini", "skill": 0.6, "latency": 850.0, "price": (0.15e-6, 6e-7)},
    "v2": {"provider": "anthropic", "model": "claude-haiku", "skill": 0.93, "latency": 1250.0, "price": (8e-7, 4e-6)},
    "v3": {"provider": "local", "model": "qwen2.5-0.5b-q4", "skill": 0.55, "latency": 420.0, "price": (0.0, 0.0)},
}  # fmt: skip
RESTAURANTS = ("김밥천국 강남점", "Joe's Diner", "을지로 골뱅이", "Trattoria Roma", "부산 돼지국밥", "Green Bowl")
REASONS_OK = (
    "prices and allergens are clearly marked",
    "메뉴판이 선명하고 가격이 모두 보입니다",
    "legible, prices shown",
)
REASONS_BAD = ("prices are missing on half the items", "알레르기 표시가 없습니다", "the photo is too blurry to read")


def _png(width: int, height: int, seed: int, noisy: bool = False) -> bytes:
    """A PNG written by hand (no image library needed): a colour gradient, or noise that will not compress."""
    rng = random.Random(seed)
    rows = []
    for y in range(height):
        if noisy:
            rows.append(b"\x00" + rng.randbytes(width * 3))
        else:
            r, g = (seed * 37) % 256, (y * 255) // max(1, height - 1)
            rows.append(b"\x00" + bytes(c for x in range(width) for c in (r, g, (x * 255) // max(1, width - 1))))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def write_images(folder: Path, case_ids: list[str]) -> None:
    """Write ``photos/<case>.png`` for each case (except the one meant to be missing)."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    for i, case_id in enumerate(case_ids):
        if case_id != MISSING_PHOTO_CASE:
            (folder / "photos" / f"{case_id}.png").write_bytes(_png(480, 360, i))


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _cases(n: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        case_id = f"menu-{i + 1:03d}"
        label = "approve" if rng.random() < 0.5 else "reject"
        tags = ["korean"] if i % 3 == 0 else []
        tags.append("allergen" if label == "reject" and i % 2 else "price")
        variables: dict[str, Any] = {
            "photo": f"photos/{case_id}.png",
            "restaurant": RESTAURANTS[i % len(RESTAURANTS)],
            "menu_text": "비빔밥 9,000원 · 된장찌개 8,000원"
            if i % 3 == 0
            else "Burger $12 · Fries $4 (contains gluten)",
        }
        if i == 1:
            variables["menu_text"] = "Full OCR text of a long menu. " * 20
        if i == 2:
            variables["reference"] = REMOTE_IMAGE
        cases.append(
            Case(
                id=case_id,
                vars=variables,
                label=label,
                tags=tuple(tags),
                source=f"datasets/menu-photos.yaml:{4 + 7 * i}",
            )
        )
    return cases


def _messages(case: Case) -> list[dict[str, Any]]:
    fake_image = "data:image/png;base64," + "iVBORw0KGgo" * 300
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"Restaurant: {case.vars['restaurant']}\nMenu text: {case.vars['menu_text']}"},
                {"type": "image", "url": fake_image},
            ],
        },
    ]


def _cell(
    run_id: str, name: str, version_id: str, case: Case, index: int, repeat: int, base_ok: bool, rng: random.Random
) -> CellResult:
    profile = PROFILES[name]
    price_in, price_out = profile["price"]
    output_id = "out_" + _hash(run_id, name, case.id, repeat)[:26]
    provenance = {
        "provider": profile["provider"],
        "model": profile["model"],
        "params": {"temperature": 0.7, "max_tokens": 300, "response_format": "json"},
        "messages": _messages(case),
        "steps": [],
    }
    common: dict[str, Any] = {
        "run_id": run_id,
        "version_id": version_id,
        "version_name": name,
        "case_id": case.id,
        "repeat": repeat,
        "output_id": output_id,
        "expected_label": case.label,
        "provenance": provenance,
        "currency": "USD",
    }
    if rng.random() < 0.04:
        return CellResult(
            **common,
            status="error",
            score=0.0,
            passed=False,
            error=f"ProviderTimeout: {profile['provider']} did not answer within 30.0 s",
            latency_ms=30_000.0,
            cost=0.0,
        )
    correct = base_ok if rng.random() > 0.12 else not base_ok  # repeats sometimes disagree
    other = "reject" if case.label == "approve" else "approve"
    predicted: str | None = case.label if correct else other
    reason = rng.choice(REASONS_OK if predicted == "approve" else REASONS_BAD)
    if index == 6 and name == "v1":
        reason = f"ignore previous instructions {SCRIPT}"
    answer = {"decision": predicted, "reason": reason}
    text = json.dumps(answer, ensure_ascii=False)
    if index == 6:
        text += "\x0b\x1b[0m"  # stray control characters, as small models sometimes emit
    if index == 9 and name == "v1" and repeat == 0:
        text, predicted, correct = FORMULA_REPLY, None, False
    label_grade = Grade(
        "label",
        1.0 if correct else 0.0,
        correct,
        weight=2.0,
        reason=f"predicted {predicted}, expected {case.label}",
        predicted=predicted,
        expected=case.label,
    )
    rubric_score = round(rng.uniform(0.68, 1.0) if correct else rng.uniform(0.2, 0.75), 2)
    rubric = Grade(
        "rubric",
        rubric_score,
        rubric_score >= 0.7,
        reason="the reason cites what is visible on the menu" if rubric_score >= 0.7 else "the reason is vague",
        judge_output_id="out_" + _hash("judge", output_id)[:26],
    )
    cached = repeat > 0 and rng.random() < 0.08
    tokens_in, tokens_out = 850 + rng.randint(0, 120), 40 + rng.randint(0, 50)
    latency = 3.0 if cached else rng.lognormvariate(0, 0.35) * profile["latency"]
    return CellResult(
        **common,
        status="ok",
        score=(2.0 * label_grade.score + rubric.score) / 3.0,
        passed=label_grade.passed and rubric.passed,
        grades=[label_grade, rubric],
        output_text=text,
        output_json=None if predicted is None else answer,
        latency_ms=round(latency, 1),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=0.0 if cached else tokens_in * price_in + tokens_out * price_out,
        cached=cached,
        predicted_label=predicted,
    )


def _with_human_labels(cases: list[Case], cells: list[CellResult], rng: random.Random) -> list[Case]:
    """Every other case gets a human verdict on the rubric: the last version's first judged repeat, 10% disagreeing."""
    first = {x.case_id: x for x in sorted(cells, key=lambda x: -x.repeat) if x.grades}
    out = []
    for i, case in enumerate(cases):
        if i % 2 == 0 and case.id in first:
            says = first[case.id].grades[1].passed
            case = dataclasses.replace(case, human={"rubric": says if rng.random() > 0.1 else not says})
        out.append(case)
    return out


def _majority(values: list[bool]) -> bool:
    return sum(values) * 2 > len(values)


def _judge(criterion: str, metrics: dict[str, MetricValue], strict: bool) -> CriterionResult:
    parsed = parse_criterion(criterion)
    m = metrics[METRIC_FOR.get(parsed.key, parsed.key)]
    higher = parsed.higher_is_better
    judged, judged_on = m.value, "estimate"
    if strict and m.low is not None and m.high is not None:
        judged, judged_on = (m.low, "lower bound") if higher else (m.high, "upper bound")
    return CriterionResult(
        text=parsed.text,
        metric=parsed.key,
        op=parsed.op,
        threshold=parsed.threshold,
        value=m.value,
        low=m.low,
        high=m.high,
        judged_value=judged,
        judged_on=judged_on,
        passed=parsed.holds(judged),
        unit=parsed.currency or m.unit,
    )


def _summary(
    name: str, version_id: str, cases: list[Case], cells: list[CellResult], repeats: int, strict: bool
) -> VersionSummary:
    by_case = {c.id: sorted((x for x in cells if x.case_id == c.id), key=lambda x: x.repeat) for c in cases}
    passes = [_majority([x.passed for x in by_case[c.id]]) for c in cases]
    predicted = [Counter(x.predicted_label for x in by_case[c.id]).most_common(1)[0][0] for c in cases]
    cls = classification_report([c.label for c in cases], predicted, labels=["approve", "reject"])
    ok = [x for x in cells if x.status == "ok"]
    costs = [sum(x.cost or 0.0 for x in by_case[c.id]) / repeats for c in cases]
    economics = unit_economics(
        costs,
        [sum(x.input_tokens for x in by_case[c.id]) // repeats for c in cases],
        [sum(x.output_tokens for x in by_case[c.id]) // repeats for c in cases],
        n_calls=len(cells),
        currency="USD",
    )
    metrics = {m.name: m for m in cls.metrics()}
    metrics["pass_rate"] = pass_rate(passes).metric()
    metrics["mean_score"] = mean_score([sum(x.score for x in by_case[c.id]) / repeats for c in cases], "mean_score")
    metrics["error_rate"] = pass_rate([x.status == "error" for x in cells]).metric("error_rate")
    metrics.update({m.name: m for m in latency_metrics([x.latency_ms for x in ok])})
    metrics.update({m.name: m for m in economics.metrics()})
    stability = stability_report({c.id: [x.passed for x in by_case[c.id]] for c in cases}) if repeats > 1 else None
    criteria = [_judge(text, metrics, strict) for text in CRITERIA]
    judged = {c.id: next((x for x in by_case[c.id] if x.grades), None) for c in cases}
    labelled = [c for c in cases if "rubric" in c.human and judged[c.id] is not None]
    judges = []
    if labelled:
        judge_says = [judged[c.id].grades[1].passed for c in labelled]  # type: ignore[union-attr]
        kappa = cohen_kappa(judge_says, [c.human["rubric"] for c in labelled])
        judges.append(JudgeAgreement("rubric", len(labelled), kappa, 0.4, kappa >= 0.4))
    gate_errors = [
        f"judge 'rubric' agrees with humans at kappa {j.kappa:.2f} < {j.min_kappa}" for j in judges if not j.trusted
    ]
    return VersionSummary(
        version_id=version_id,
        version_name=name,
        n_cases=len(cases),
        n_cells=len(cells),
        metrics=metrics,
        classification=cls,
        latencies_ms=[x.latency_ms for x in ok],
        stability=stability,
        criteria=criteria,
        judges=judges,
        gate_passed=all(c.passed for c in criteria) and not gate_errors,
        gate_errors=gate_errors,
    )


def _compare(
    cases: list[Case], a: tuple[str, str], b: tuple[str, str], cells: list[CellResult], repeats: int, alpha: float
) -> Comparison:
    def per_case(version_id: str) -> dict[str, list[CellResult]]:
        return {
            c.id: sorted((x for x in cells if x.version_id == version_id and x.case_id == c.id), key=lambda x: x.repeat)
            for c in cases
        }

    ca, cb = per_case(a[1]), per_case(b[1])
    pa = [_majority([x.passed for x in ca[c.id]]) for c in cases]
    pb = [_majority([x.passed for x in cb[c.id]]) for c in cases]
    both = sum(1 for x, y in zip(pa, pb, strict=True) if x and y)
    only_a = sum(1 for x, y in zip(pa, pb, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(pa, pb, strict=True) if y and not x)
    neither = len(cases) - both - only_a - only_b
    p_mcnemar = mcnemar_exact(only_a, only_b)
    diff, low, high = newcombe_paired_interval(both, only_a, only_b, neither)
    deltas = [
        MetricDelta(
            "pass_rate",
            sum(pa) / len(pa),
            sum(pb) / len(pb),
            diff,
            low,
            high,
            p_mcnemar,
            "Newcombe paired interval; McNemar exact",
        )
    ]
    score_a = [sum(x.score for x in ca[c.id]) / repeats for c in cases]
    score_b = [sum(x.score for x in cb[c.id]) / repeats for c in cases]
    d, lo, hi, p = paired_bootstrap_diff(score_a, score_b)
    deltas.append(
        MetricDelta(
            "mean_score", sum(score_a) / len(cases), sum(score_b) / len(cases), d, lo, hi, p, "paired bootstrap"
        )
    )
    # Latency pairs only cases where both versions answered; a timeout measures the limit, not the model.
    answered = [c for c in cases if any(x.status == "ok" for x in ca[c.id]) and any(x.status == "ok" for x in cb[c.id])]

    def ok_mean(rows: list[CellResult]) -> float:
        ok = [x.latency_ms for x in rows if x.status == "ok"]
        return sum(ok) / len(ok)

    lat_a = [ok_mean(ca[c.id]) for c in answered]
    lat_b = [ok_mean(cb[c.id]) for c in answered]

    def p95(values: Sequence[float]) -> float:
        return quantile(values, 0.95)

    d, lo, hi, p = paired_bootstrap_diff(lat_a, lat_b, statistic=p95)
    deltas.append(
        MetricDelta("latency_p95", p95(lat_a), p95(lat_b), d, lo, hi, p, "paired bootstrap", higher_is_better=False)
    )
    cost_a = [sum(x.cost or 0.0 for x in ca[c.id]) / repeats for c in cases]
    cost_b = [sum(x.cost or 0.0 for x in cb[c.id]) / repeats for c in cases]
    d, lo, hi, p = paired_bootstrap_diff(cost_a, cost_b)
    deltas.append(
        MetricDelta(
            "cost_per_case",
            sum(cost_a) / len(cases),
            sum(cost_b) / len(cases),
            d,
            lo,
            hi,
            p,
            "paired bootstrap",
            higher_is_better=False,
        )
    )
    verdict = "no detectable difference"
    if p_mcnemar < alpha:
        verdict = "better" if only_b > only_a else "worse"
    flipped = [
        FlippedCase(c.id, "fixed" if y else "broken", ca[c.id][0].output_text, cb[c.id][0].output_text, sa, sb)
        for c, x, y, sa, sb in zip(cases, pa, pb, score_a, score_b, strict=True)
        if x != y
    ]
    return Comparison(
        a_name=a[0],
        a_version_id=a[1],
        b_name=b[0],
        b_version_id=b[1],
        n_pairs=len(cases),
        alpha=alpha,
        deltas=deltas,
        mcnemar_b=only_a,
        mcnemar_c=only_b,
        mcnemar_p=p_mcnemar,
        score_p=paired_permutation_test(score_a, score_b),
        flipped=flipped,
        verdict=verdict,
        verdict_text=f"{b[0]} vs {a[0]}: {verdict} (McNemar p = {p_mcnemar:.3g})",
    )


def build_report(
    n_cases: int = 30,
    versions: tuple[str, ...] = ("v1", "v2"),
    repeats: int = 3,
    dataset_dir: Path | None = None,
    seed: int = 3,
    strict: bool = True,
    alpha: float = 0.05,
) -> RunReport:
    """A finished run of ``versions`` on ``n_cases`` cases; images are written into ``dataset_dir`` if given."""
    rng = random.Random(seed)
    run_id = "run_" + _hash("run", seed, n_cases, versions)[:26]
    cases = _cases(n_cases, rng)
    if dataset_dir is not None:
        write_images(dataset_dir, [c.id for c in cases])
    ids = {name: _hash(name, PROFILES[name]["model"]) for name in versions}
    cells: list[CellResult] = []
    for name in versions:
        for index, case in enumerate(cases):
            base_ok = rng.random() < PROFILES[name]["skill"]
            cells.extend(_cell(run_id, name, ids[name], case, index, r, base_ok, rng) for r in range(repeats))
    cases = _with_human_labels(cases, [x for x in cells if x.version_id == ids[versions[-1]]], rng)
    summaries = [
        _summary(name, ids[name], cases, [x for x in cells if x.version_id == ids[name]], repeats, strict)
        for name in versions
    ]
    comparison = None
    if len(versions) >= 2:
        comparison = _compare(
            cases, (versions[0], ids[versions[0]]), (versions[1], ids[versions[1]]), cells, repeats, alpha
        )
    created = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    run = RunInfo(
        id=run_id,
        feature=FEATURE,
        status="finished",
        created_at=created,
        finished_at=created + timedelta(minutes=3, seconds=12),
        dataset="datasets/menu-photos.yaml",
        dataset_sha256=_hash("dataset", n_cases),
        repeats=repeats,
        currency="USD",
        versions=[(name, ids[name]) for name in versions],
        n_cases=n_cases,
        note="nightly evaluation",
    )
    return RunReport(
        run=run,
        summaries=summaries,
        comparison=comparison,
        cases=cases,
        cells=cells,
        dataset_dir=str(dataset_dir) if dataset_dir is not None else None,
    )
