"""Korean postal addresses: the recogniser behind the opt-in ``addresses`` kind of ``andon.engine.pii``.

An address is a run of administrative units (시·도, 시·군·구, 읍·면·동, or a 도로명 로·길) that names a region
and ends in a building or lot number, so "서울 날씨" or "중앙로 맛집" is no address. ``bench/pii.py``
measured it (and the Korean name recognisers that were not adopted) on cases written for this.
Every repeat is bounded, so a search is linear in the text's length like the other detectors.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

_PROVINCE = (
    r"(?:(?:서울|부산|대구|인천|광주|대전|울산)(?:특별시|광역시|시)?|세종(?:특별자치시|시)?"
    r"|(?:경기|강원|충청북|충청남|전라북|전라남|경상북|경상남)도|(?:강원|전북|제주)특별자치도|제주도"
    r"|충북|충남|전북|전남|경북|경남)"
)
_CITY = r"[가-힣]{1,4}(?:시|군|구)"
_DONG = r"[가-힣]{1,5}(?:동|읍|면|리)(?:[0-9]{1,2}가)?"
_ROAD = r"[가-힣0-9]{1,10}?(?:로|길)(?:[ ]?[0-9]{1,4}번?길)?"
_NUMBER = r"(?:산[ ]?)?[0-9]{1,5}(?:-[0-9]{1,5})?(?![0-9])"
ADDRESS = re.compile(rf"(?<![가-힣])(?:{_PROVINCE}[ ]?)?(?:{_CITY}[ ]?){{0,2}}(?:{_ROAD}|{_DONG})[ ]?{_NUMBER}")
_HAS_REGION = re.compile(rf"^(?:{_PROVINCE}|{_CITY})")
FIGURES = Path(__file__).with_name("pii_figures.json")  # written by `python -m bench.pii --save`


def find_addresses(text: str) -> list[tuple[int, int]]:
    """Spans of Korean postal addresses (road-name or lot-number) that name a region and end in a number."""
    return [m.span() for m in ADDRESS.finditer(text) if _HAS_REGION.match(m.group(0))]


def region_named(match: re.Match[str]) -> tuple[int, int] | None:
    """The match's span when it starts with a province or a city (a bare "중앙로 12" is not enough)."""
    return match.span() if _HAS_REGION.match(match.group(0)) else None


def recogniser_digest() -> str:
    """sha256 of this recogniser's source, as bench/pii.py records it with its figures."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def measured_figures() -> dict[str, Any] | None:
    """The Korean name and address recognisers' measured precision and recall (bench/pii.py), with
    ``current``: measured on exactly this recogniser. None when they were never saved."""
    try:
        figures: dict[str, Any] = json.loads(FIGURES.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    figures["current"] = figures.get("recogniser_sha256") == recogniser_digest()
    return figures


__all__ = ["ADDRESS", "FIGURES", "find_addresses", "measured_figures", "recogniser_digest", "region_named"]
