"""Deterministic pre-checks for the menu-review demo: photo quality, text in the photo, regexes on the text.

Each check is a pure, offline function. ``precheck`` bundles them as the first step of the demo's hybrid
version: a rule that fires ends the pipeline with a verdict (``Finish``); otherwise the findings go on to
the model, which cannot see images.

Violation codes (fixed set):

- ``not_food``: the photo does not show the dish (shop front, logo, pattern, empty plate). No offline rule
  here: it needs image understanding (a vision model), so the rules never report it.
- ``phone_number``: a phone number in the photo or the text (010-xxxx-xxxx, 02-xxx-xxxx, 0507-…, 1588-xxxx).
- ``url``: a link or off-platform contact: http(s)/www/domain, kakao open-chat, messenger IDs, @handles.
- ``promo_text``: advertising: discounts, coupons, events, "1+1"; in a photo, any overlaid writing.
- ``blurry``, ``too_dark``, ``too_small``: photo quality below the thresholds below.
- ``prohibited_item``: tobacco and nicotine products, prescription or restricted medicine, alcohol sold
  alone (an alcohol-only menu name; alcohol in a set with food is allowed).
"""

from __future__ import annotations

import functools
import importlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from andon.demo import DATA_DIR
from andon.errors import NotFoundError, ProviderError
from andon.messages import t
from andon.providers.python import Finish

VIOLATION_CODES = (
    "not_food",
    "too_small",
    "too_dark",
    "blurry",
    "phone_number",
    "url",
    "promo_text",
    "prohibited_item",
)

POLICY = """\
배달 앱 메뉴 사진·설명 검수 기준 (위반 코드)
1. not_food: 사진에 해당 메뉴 음식(음료 포함)이 보여야 합니다. 가게 외관, 로고, 무늬, 빈 접시는 반려합니다.
2. phone_number: 사진이나 메뉴명·설명에 전화번호를 넣을 수 없습니다(010-1234-5678, 02-123-4567, 0507-…,
   1588-1234, 하이픈·공백 없이 쓴 번호, 한글로 풀어 쓴 번호 포함). 가격(12,000원), 중량(600g),
   시간(11:00~21:30), 번호 일부만 있는 이름('010 버거')은 전화번호가 아닙니다.
3. url: 외부 링크와 외부 연락 수단을 넣을 수 없습니다(웹 주소, 카카오톡 오픈채팅·아이디, SNS @계정).
4. promo_text: 할인, 쿠폰, 이벤트, 증정, 적립, 특가, 1+1 같은 홍보 문구를 넣을 수 없습니다. 사진에는 어떤
   글자도 덧붙일 수 없습니다(가게 이름, 문구, 가격표 포함).
5. blurry / too_dark / too_small: 사진은 선명하고, 충분히 밝고, 320×240 이상이어야 합니다.
6. prohibited_item: 담배·전자담배·니코틴 제품, 처방약·전문의약품(수면제, 식욕억제제 등), 음식 없이
   주류만 파는 메뉴(예: '소주 1병 (단품)')는 판매할 수 없습니다. 음식과 함께 구성된 주류 세트, 요리
   재료로 쓴 술(맥주 반죽), '담백한'·'전자레인지' 같은 낱말은 위반이 아닙니다.
위반이 하나라도 있으면 reject, 없으면 approve 입니다.
"""

# Thresholds, chosen on the bundled dataset and on seven more draws of it (make_demo_data.py --seed N),
# each about the geometric middle between the worst faulty photo and the worst acceptable one:
# - size: faulty photos are at most 200×150, the smallest acceptable one is 400×300; 320×240 sits between.
# - brightness (mean grey level, 0-255): dark photos measure 20-34, acceptable ones 75 or more -> 50.
# - sharpness (see ``image_quality``): blurred photos (Gaussian sigma 4-7) measure 7.2 at most, acceptable
#   ones (including a sigma-0.8 "slightly soft" photo and dark-but-sharp ones) 19.9 or more -> 12. Between
#   the two lies a blur of sigma 1.5-2 on a 480-px photo.
MIN_WIDTH = 320
MIN_HEIGHT = 240
MIN_BRIGHTNESS = 50.0
MIN_SHARPNESS = 12.0

# A detected box counts as a line of writing when it is at least this tall (pixels) and this many times
# wider than tall: single glyph-like specks on food (ice, sesame) are square and small.
MIN_LINE_HEIGHT = 12
MIN_LINE_ASPECT = 2.5
# A row of round pieces (kimbap slices) is detected as a line and read as "OOOQOO", "OO-OOO", "①O①OOO":
# four or more round glyphs and nothing else is not writing (every phone number has other digits).
_ROUND_ROW = re.compile(r"^(?:[\s.·°\-]*[O0oQCD①○〇◯]){4,}[\s.·°\-]*$")

_OCR_PARAMS = {
    "Global.use_cls": False,  # overlay text is upright; skipping the angle classifier halves the time
    "Global.log_level": "critical",
    "Det.limit_type": "max",
    "Det.limit_side_len": 960,  # shrink big photos only; a 480-px photo is read at its own size
}

# ---------------------------------------------------------------- text patterns

_SEP = r"[\s.\-)]{0,2}"  # hyphen, dot, space or "(02) "; at most two, so prices and dates stay apart
_PHONE = re.compile(
    r"(?<![\d,.])(?:"
    rf"01[016789]{_SEP}\d{{3,4}}{_SEP}\d{{4}}"  # mobile
    rf"|\(?0(?:2|[3-6][1-5]){_SEP}\d{{3,4}}{_SEP}\d{{4}}"  # Seoul and regional landlines
    rf"|0(?:50[2-8]|70|80){_SEP}\d{{3,4}}{_SEP}\d{{4}}"  # safe numbers (0507…), internet phones, free calls
    r"|1[5-9]\d{2}-\d{4}"  # company numbers (1588-1234): the hyphen keeps "15000원" out
    r")(?![\d,])"
)
_URL = re.compile(
    r"https?://\S+"
    r"|www\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
    r"|(?<![\w.@])[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:com|net|org|kr|me|io|shop|link|ly|gl|site|app)\b(?:/\S*)?"
    r"|오픈\s*채팅|오픈\s*톡|카톡\s*(?:아이디|ID|id)|카카오톡?\s*(?:아이디|ID|id|채널)"
    r"|(?<![\w.@])@[A-Za-z0-9_.]{3,}",
)
_PROMO = re.compile(
    r"할인|쿠폰|이벤트|증정|사은품|적립|특가|세일|최저가|공짜"
    r"|\d\s*\+\s*\d(?!\s*인)"  # 1+1, 2+1 (but not "2+1인분" style counts)
    r"|\d+\s*%\s*(?:off|OFF|Off|DC|dc|세일)"  # "100% 국내산" is a claim about ingredients, not a discount
)
_PROHIBITED = re.compile(
    r"(?:전자\s*)?담배|궐련|니코틴|액상\s*(?:담배|카트리지|니코틴)|베이프|vape"
    r"|처방\s*약|처방전|전문\s*의약품|수면\s*(?:제|유도제)|식욕\s*억제제|스테로이드|비아그라|다이어트\s*약",
    re.IGNORECASE,
)
_ALCOHOL = (
    r"(?:생|병|캔|수제\s*)?맥주|소주|막걸리|(?:레드|화이트)?\s*와인|양주|위스키|하이볼|사케|청하|고량주|보드카|데킬라"
    r"|참이슬|처음처럼"
)
_ALCOHOL_ONLY_NAME = re.compile(
    rf"^\s*(?:{_ALCOHOL})\s*(?:\d[\d.,]*\s*(?:병|캔|잔|ml|mL|ML|L|l|cc|CC)?\s*)*(?:\(?\s*단품\s*\)?)?\s*$"
)


def find_phone_numbers(text: str) -> list[str]:
    """Phone numbers in Korean formats; prices ("12,000원"), weights and partial numbers ("010 버거") are not."""
    return [m.group(0).strip() for m in _PHONE.finditer(text)]


def find_urls(text: str) -> list[str]:
    """Links and off-platform contacts: URLs, bare domains, kakao open-chat or ID mentions, @handles."""
    return [m.group(0).strip() for m in _URL.finditer(text)]


def text_findings(text: str, menu_name: str = "") -> dict[str, list[str]]:
    """What the regexes found in the menu name and description, by violation code (empty codes left out)."""
    both = f"{menu_name}\n{text}" if menu_name else text
    found: dict[str, list[str]] = {
        "phone_number": find_phone_numbers(both),
        "url": find_urls(both),
        "promo_text": [m.group(0).strip() for m in _PROMO.finditer(both)],
        "prohibited_item": [m.group(0).strip() for m in _PROHIBITED.finditer(both)],
    }
    if menu_name and _ALCOHOL_ONLY_NAME.match(menu_name):
        found["prohibited_item"].append(menu_name.strip())
    return {code: hits for code, hits in found.items() if hits}


def description_violations(text: str, menu_name: str = "") -> list[str]:
    """Violation codes the regexes find in a description (and the menu name, when given), in canonical order."""
    found = text_findings(text, menu_name)
    return [code for code in VIOLATION_CODES if code in found]


# ---------------------------------------------------------------- photo quality


def _load_gray(path: Path) -> np.ndarray[Any, np.dtype[np.uint8]]:
    if not path.is_file():
        raise NotFoundError(t("house2.demo.photo", path=str(path)), where=str(path), hint=t("house2.demo.photo_hint"))
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise NotFoundError(
            t("house2.demo.unreadable", path=str(path)), where=str(path), hint=t("house2.demo.unreadable_hint")
        )
    return np.asarray(img, dtype=np.uint8)


def image_quality(path: str | Path) -> dict[str, float | int]:
    """Width, height, mean brightness, and two blur measures of the photo at ``path``.

    ``laplacian_variance`` is the classic one (variance of the Laplacian of the grey image); it scales with
    contrast squared, so a dark but sharp photo scores like a blurred one. ``sharpness``, used for the
    verdict, is the same measure after a light denoise (Gaussian, sigma 1) and stretching grey levels
    1st-99th percentile to 0-255, so it measures edges, not exposure.
    """
    gray = _load_gray(Path(path))
    height, width = gray.shape
    lap_var = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    smooth = cv2.GaussianBlur(gray.astype(np.float64), (0, 0), 1.0)
    lo, hi = np.percentile(smooth, [1, 99])
    stretched = np.clip((smooth - lo) * (255.0 / max(float(hi - lo), 1.0)), 0, 255)
    sharpness = float(cv2.Laplacian(stretched, cv2.CV_64F).var())
    return {
        "width": int(width),
        "height": int(height),
        "laplacian_variance": round(lap_var, 2),
        "sharpness": round(sharpness, 2),
        "mean_brightness": round(float(gray.mean()), 2),
    }


def quality_violations(quality: dict[str, float | int]) -> list[str]:
    """The quality codes ``image_quality``'s numbers break."""
    codes = []
    if quality["width"] < MIN_WIDTH or quality["height"] < MIN_HEIGHT:
        codes.append("too_small")
    if quality["mean_brightness"] < MIN_BRIGHTNESS:
        codes.append("too_dark")
    if quality["sharpness"] < MIN_SHARPNESS:
        codes.append("blurry")
    return codes


# ---------------------------------------------------------------- text in the photo (offline OCR)


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of writing found in a photo: what the recogniser read and the line's box size in pixels."""

    text: str
    score: float
    width: int
    height: int


_OCR_LOCK = threading.Lock()


@functools.cache
def _ocr_engine() -> Any:
    """RapidOCR (PP-OCR ONNX models shipped inside the wheel: nothing is downloaded), built once."""
    try:
        module = importlib.import_module("rapidocr")
    except ImportError:
        raise ProviderError(
            t("house2.demo.ocr"),
            where="andon.demo.checks",
            hint=t("house2.demo.ocr_hint"),
        ) from None
    return module.RapidOCR(params=_OCR_PARAMS)


def _engine() -> Any:
    with _OCR_LOCK:  # functools.cache alone could build two engines when two threads ask at once
        return _ocr_engine()


@functools.lru_cache(maxsize=512)
def _read_lines(path: str, _mtime_ns: int, _size: int) -> tuple[TextLine, ...]:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise NotFoundError(t("house2.demo.unreadable", path=path), where=path, hint=t("house2.demo.unreadable_hint"))
    engine = _engine()
    lines: list[TextLine] = []
    # The engine keeps per-call options as state: one caller at a time.
    with _OCR_LOCK:
        det = engine(image, use_det=True, use_cls=False, use_rec=False)
        boxes = det.boxes if det.boxes is not None else []
        for box in boxes:
            pts = np.asarray(box, dtype=np.float32)
            width = float(np.linalg.norm(pts[1] - pts[0]))
            height = float(np.linalg.norm(pts[3] - pts[0]))
            if height < MIN_LINE_HEIGHT or width < MIN_LINE_ASPECT * height:
                continue
            x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 2
            x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 2
            crop = image[max(y0, 0) : y1, max(x0, 0) : x1]
            if crop.size == 0:
                continue
            rec = engine(crop, use_det=False, use_cls=False, use_rec=True)
            text = str(rec.txts[0]) if rec.txts else ""
            score = float(rec.scores[0]) if rec.scores else 0.0
            if _ROUND_ROW.match(text):
                continue
            lines.append(TextLine(text=text.strip(), score=round(score, 3), width=round(width), height=round(height)))
    return tuple(lines)


def read_text_lines(path: str | Path) -> list[TextLine]:
    """Lines of writing in the photo, in reading order of the detector; cached per file version.

    The recogniser (PP-OCR, Chinese/English) reads digits, Latin letters and symbols well; it cannot read
    Hangul, but the detector still finds Korean lines, which come back with unreadable text.
    """
    p = Path(path).resolve()
    if not p.is_file():
        raise NotFoundError(t("house2.demo.photo", path=str(p)), where=str(p), hint=t("house2.demo.photo_hint"))
    stat = p.stat()
    return list(_read_lines(str(p), stat.st_mtime_ns, stat.st_size))


def text_in_image(path: str | Path) -> list[str]:
    """The strings an offline OCR reads in the photo (one per line of writing; Korean lines read poorly)."""
    return [line.text for line in read_text_lines(path)]


_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


def _ocr_normalise(text: str) -> str:
    """Undo the recogniser's usual digit confusions (O for 0, l for 1) inside number-like tokens."""
    tokens = []
    for token in text.split():
        digits = sum(ch.isdigit() for ch in token)
        tokens.append(token.translate(_OCR_DIGITS) if digits >= len(token) / 2 else token)
    return " ".join(tokens)


def photo_text_findings(lines: list[TextLine]) -> dict[str, list[str]]:
    """Phone numbers and links in the photo's lines; any other line of writing is overlay text (promo_text)."""
    found: dict[str, list[str]] = {"phone_number": [], "url": [], "promo_text": []}
    for line in lines:
        phones = find_phone_numbers(_ocr_normalise(line.text))
        urls = find_urls(line.text)
        found["phone_number"] += phones
        found["url"] += urls
        if not phones and not urls:
            found["promo_text"].append(line.text)
    return {code: hits for code, hits in found.items() if hits}


# ---------------------------------------------------------------- the pipeline step


def resolve_photo(variables: dict[str, Any]) -> Path | None:
    """The photo's path: absolute as given, else relative to ``_base_dir`` or else to the bundled dataset."""
    photo = variables.get("photo")
    if not photo:
        return None
    path = Path(str(photo))
    if not path.is_absolute():
        base = variables.get("_base_dir")
        path = (Path(str(base)) if base else DATA_DIR) / path
    return path


_MESSAGES = {
    "too_small": "사진 해상도 {width}×{height}가 기준 {min_w}×{min_h}보다 작습니다",
    "too_dark": "사진이 너무 어둡습니다(평균 밝기 {brightness:.0f})",
    "blurry": "사진이 흐립니다(선명도 {sharpness:.1f})",
}


def _reason(quality: dict[str, float | int] | None, photo: dict[str, list[str]], text: dict[str, list[str]]) -> str:
    """One Korean line naming each fired rule with what it found."""
    parts: list[str] = []
    if quality is not None:
        for code in quality_violations(quality):
            parts.append(
                _MESSAGES[code].format(
                    width=quality["width"],
                    height=quality["height"],
                    min_w=MIN_WIDTH,
                    min_h=MIN_HEIGHT,
                    brightness=quality["mean_brightness"],
                    sharpness=quality["sharpness"],
                )
            )
    labels = {
        "phone_number": "전화번호",
        "url": "외부 링크",
        "promo_text": "홍보 문구",
        "prohibited_item": "판매 금지 품목",
    }
    for code, label in labels.items():
        if code in photo:
            shown = ", ".join(h for h in photo[code][:2] if h) if code != "promo_text" else ""
            parts.append(f"사진에 {label}" + (f"({shown})" if shown else "(글자)") + "가 있습니다")
        if code in text:
            parts.append(f"메뉴명·설명에 {label}({', '.join(text[code][:2])})가 있습니다")
    return " / ".join(parts)


def precheck(variables: dict[str, Any]) -> Finish | dict[str, Any]:
    """Run every rule on a case's variables (menu_name, description, photo); reject at once if one fires.

    Contract: ``photo`` is absolute, or relative to ``variables["_base_dir"]`` when given, else to the
    bundled dataset folder. Returns ``Finish(output={"decision": "reject", "violations": [...], "reason":
    "..."})`` when a rule fires, otherwise the findings (``{"ok": True, "image": {...}, ...}``) for the
    model's step to read.
    """
    menu_name = str(variables.get("menu_name") or "")
    description = str(variables.get("description") or "")
    path = resolve_photo(variables)
    quality = image_quality(path) if path is not None else None
    lines = read_text_lines(path) if path is not None else []
    photo = photo_text_findings(lines)
    text = text_findings(description, menu_name)
    fired = set(quality_violations(quality) if quality is not None else []) | set(photo) | set(text)
    violations = [code for code in VIOLATION_CODES if code in fired]
    if violations:
        reason = _reason(quality, photo, text)
        return Finish(
            output={"decision": "reject", "violations": violations, "reason": reason},
            reason="rule: " + ", ".join(violations),
        )
    return {
        "ok": True,
        "image": quality,
        "text_in_image": [line.text for line in lines],
        "description_flags": [],
    }
