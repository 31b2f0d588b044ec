"""Precision and recall of Korean name and address recognisers on ``bench/pii_cases.py``, with intervals.

Candidates for names: ``kiwi`` (name-shaped NNP proper nouns from the kiwipiepy analyser, an andon
dependency; left out where it is not installed), ``kiwi-nnp`` (every NNP of two to four syllables), ``rule``
(a surname and given name before 씨, 님 or a particle).
For addresses: the administrative-unit pattern ``andon.engine.pii_korean`` adopts (the ``addresses`` kind).
A found span counts when it overlaps a labelled one of its kind. Per split (dev:
shaped on; held: never tuned on; all): precision, recall, 95 % Wilson intervals, and the misses.
Writes ``bench/out/pii.json`` and, with ``--save``, the figures the dossier cites
(``src/andon/engine/pii_figures.json``, with the digest of the recogniser they were measured on).

Run from the project root: ``.venv/bin/python -m bench.pii [--save]``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `andon` and `bench` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from andon.engine.pii_korean import find_addresses, recogniser_digest
from andon.evals.stats import wilson_interval
from bench.pii_cases import CASES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "pii.json"
FIGURES = ROOT / "src" / "andon" / "engine" / "pii_figures.json"
COMMAND = "python -m bench.pii --save"
# What andon adopted per kind (None: no candidate was good enough on the held-out cases; see bench/README.md).
ADOPTED: dict[str, str | None] = {"addresses": "addresses/pattern", "names": None}
# The held-out precision a recogniser needs before masking may use it: a masked word that is no name or address
# garbles the prompt the model reads, on every call that has it.
ADOPT_PRECISION = 0.9
Finder = Callable[[str], list[tuple[int, int]]]


# Surnames by frequency (the census's common ones) and the two-syllable ones.
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함"
    "변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감호제음빈동온"
    "시범좌팽승간상갈서견당화창옹순단"
)
DOUBLE_SURNAMES = frozenset({"황보", "남궁", "제갈", "선우", "독고", "사공", "서문", "동방", "망절"})
_HANGUL_WORD = re.compile(r"[가-힣]{2,5}")
# Words after a name in service talk (customers, staff, family), particles, or the end of a phrase.
_AFTER = (
    r"(?:[ ]?(?:씨|님|고객|선생|과장|대리|부장|팀장|사원|학생|환자|할머니|할아버지|어머니|아버지)"
    r"|이에요|입니다|이고|이랑|랑|이가|가|은|는|에게|께)"
)
_NAME_BODY = r"(?:(?:황보|남궁|제갈|선우|독고|사공)[가-힣]{1,2}|[" + "".join(sorted(SURNAMES)) + r"][가-힣]{2})"
_RULE_NAME = re.compile(rf"(?<![가-힣]){_NAME_BODY}(?={_AFTER}|[ ,/]|$)")


@functools.lru_cache(maxsize=1)
def _kiwi() -> Any:
    from kiwipiepy import Kiwi  # the analyser's model ships in the kiwipiepy-model package (no download)

    return Kiwi()


def name_shaped(word: str) -> bool:
    """A surname, then a one- or two-syllable given name (three syllables for a single surname: two-syllable
    proper nouns such as 유진 are too often something else)."""
    if not _HANGUL_WORD.fullmatch(word):
        return False
    if word[:2] in DOUBLE_SURNAMES:
        return 3 <= len(word) <= 4
    return len(word) == 3 and word[0] in SURNAMES


def names_kiwi(text: str) -> list[tuple[int, int]]:
    """Name-shaped NNP proper nouns from kiwipiepy, outside addresses."""
    places = find_addresses(text)
    spans = []
    for token in _kiwi().tokenize(text):
        start, end = token.start, token.start + token.len
        if token.tag == "NNP" and name_shaped(text[start:end]) and not any(a <= start < b for a, b in places):
            spans.append((start, end))
    return spans


def names_every_nnp(text: str) -> list[tuple[int, int]]:
    """Every NNP of two to four Hangul syllables: what the analyser alone gives."""
    return [(t.start, t.start + t.len) for t in _kiwi().tokenize(text)
            if t.tag == "NNP" and re.fullmatch(r"[가-힣]{2,4}", t.form)]  # fmt: skip


def names_by_rule(text: str) -> list[tuple[int, int]]:
    """A surname and given name before 씨, 님, a particle …: the rule-only baseline, no analyser."""
    return [m.span() for m in _RULE_NAME.finditer(text)]


def _kiwi_installed() -> bool:
    return importlib.util.find_spec("kiwipiepy") is not None


CANDIDATES: dict[str, tuple[str, Finder]] = {
    **(
        {"names/kiwi": ("names", names_kiwi), "names/kiwi-nnp": ("names", names_every_nnp)} if _kiwi_installed() else {}
    ),
    "names/rule": ("names", names_by_rule),
    "addresses/pattern": ("addresses", find_addresses),
}


def _gold(text: str, entities: list[tuple[str, str]], kind: str) -> list[tuple[int, int]]:
    spans = []
    for k, surface in entities:
        if k == kind:
            start = text.index(surface)
            spans.append((start, start + len(surface)))
    return spans


def _rate(hits: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(hits, n) if n else (0.0, 1.0)
    return {"value": hits / n if n else None, "hits": hits, "n": n, "low": round(low, 4), "high": round(high, 4)}


def measure(kind: str, find: Finder, cases: list[tuple[str, list[tuple[str, str]], str]]) -> dict[str, Any]:
    """Span-overlap precision and recall of ``find`` on ``cases``, with the wrong ones."""
    found_right = found = gold_hit = gold_n = 0
    missed: list[str] = []
    false_alarms: list[str] = []
    for text, entities, _split in cases:
        gold = _gold(text, entities, kind)
        spans = find(text)
        overlaps = [[g for g in gold if s[0] < g[1] and g[0] < s[1]] for s in spans]
        found += len(spans)
        found_right += sum(1 for o in overlaps if o)
        false_alarms += [text[s[0] : s[1]] + " | " + text for s, o in zip(spans, overlaps, strict=True) if not o]
        for g in gold:
            gold_n += 1
            if any(s[0] < g[1] and g[0] < s[1] for s in spans):
                gold_hit += 1
            else:
                missed.append(text[g[0] : g[1]] + " | " + text)
    return {"precision": _rate(found_right, found), "recall": _rate(gold_hit, gold_n),
            "missed": missed, "false_alarms": false_alarms}  # fmt: skip


def run() -> dict[str, Any]:
    """Every candidate on every split."""
    results: dict[str, Any] = {}
    for name, (kind, find) in CANDIDATES.items():
        results[name] = {split: measure(kind, find, [c for c in CASES if split == "all" or c[2] == split])
                         for split in ("dev", "held", "all")}  # fmt: skip
    counts = {kind: sum(1 for _, ents, _ in CASES for k, _ in ents if k == kind) for kind in ("names", "addresses")}
    negatives = sum(1 for _, ents, _ in CASES if not ents)
    return {
        "command": COMMAND, "recogniser_sha256": recogniser_digest(), "cases": len(CASES), "entities": counts,
        "hard_negatives": negatives, "adopted": ADOPTED, "adopt_precision": ADOPT_PRECISION, "candidates": results,
    }  # fmt: skip


def _fmt(rate: dict[str, Any]) -> str:
    value = rate["value"]
    shown = "  -  " if value is None else f"{value:.3f}"
    return f"{shown} [{rate['low']:.3f}, {rate['high']:.3f}] ({rate['hits']}/{rate['n']})"


def main() -> None:
    """Print the table and the misses; write bench/out/pii.json (and the dossier's figures with --save)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="also write src/andon/engine/pii_figures.json")
    args = parser.parse_args()
    result = run()
    print(f"{result['cases']} cases, entities {result['entities']}, {result['hard_negatives']} hard negatives")
    print(f"{'candidate':<20} {'split':<6} {'precision [95% Wilson]':<34} {'recall [95% Wilson]':<34}")
    for name, per in result["candidates"].items():
        for split, row in per.items():
            print(f"{name:<20} {split:<6} {_fmt(row['precision']):<34} {_fmt(row['recall']):<34}")
    for name, per in result["candidates"].items():
        for kind in ("missed", "false_alarms"):
            for text in per["all"][kind]:
                print(f"  {name} {kind}: {text}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.save:
        FIGURES.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {FIGURES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
