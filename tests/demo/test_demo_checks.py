"""The menu-review demo's dataset and its deterministic checks, run on the committed photos and texts."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

cv2 = pytest.importorskip("cv2", reason="the demo extra is not installed: pip install 'andon[demo]'")
pytest.importorskip("rapidocr", reason="the demo extra is not installed: pip install 'andon[demo]'")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from andon.config.schema import ProviderConfig  # noqa: E402
from andon.demo import DATA_DIR  # noqa: E402
from andon.demo.checks import (  # noqa: E402
    MIN_BRIGHTNESS,
    MIN_HEIGHT,
    MIN_SHARPNESS,
    MIN_WIDTH,
    VIOLATION_CODES,
    description_violations,
    find_phone_numbers,
    find_urls,
    image_quality,
    photo_text_findings,
    precheck,
    read_text_lines,
    text_in_image,
)
from andon.errors import NotFoundError  # noqa: E402
from andon.providers.base import ProviderRequest  # noqa: E402
from andon.providers.python import Finish, PythonProvider  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HANGUL = re.compile(r"[가-힣]")
PHOTO_URLS = {"www.tasty-bowl.kr", "open.kakao.com/o/sB7x9Qa", "instagram.com/bapsang_kr", "www.example-shop.kr"}
PHOTO_URLS |= {"www.bapsang-kitchen.co.kr"}


def load_cases() -> list[dict[str, Any]]:
    with (DATA_DIR / "cases.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


CASES = load_cases()


def photo(case: dict[str, Any]) -> Path:
    return DATA_DIR / str(case["vars"]["photo"])


def image_faults(case: dict[str, Any], code: str) -> bool:
    """The case's photo has the fault ``code`` (photo-only cases, or a quality code, which only photos have)."""
    if code not in case["expected"]["violations"] or "image" not in case["tags"]:
        return False
    return code in {"too_small", "too_dark", "blurry"} or "text" not in case["tags"]


@pytest.fixture(scope="module")
def prechecked() -> dict[str, Finish | dict[str, Any]]:
    """precheck on every case once (about 0.1 s a photo, most of it OCR)."""
    return {case["id"]: precheck(case["vars"]) for case in CASES}


# ---------------------------------------------------------------- the dataset


def test_dataset_is_complete_balanced_and_labelled() -> None:
    ids = [case["id"] for case in CASES]
    assert len(CASES) >= 96 and len(set(ids)) == len(ids)
    for case in CASES:
        expected = case["expected"]
        assert case["label"] == expected["decision"]
        assert (expected["decision"] == "reject") == bool(expected["violations"])
        assert set(expected["violations"]) <= set(VIOLATION_CODES)
        assert expected["violations"] == [c for c in VIOLATION_CODES if c in expected["violations"]]
        assert HANGUL.search(case["reason"]) and HANGUL.search(case["vars"]["description"])
        assert photo(case).is_file()
    rejects = sum(case["label"] == "reject" for case in CASES)
    assert 0.4 <= rejects / len(CASES) <= 0.6
    per_code = Counter(code for case in CASES for code in case["expected"]["violations"])
    assert all(per_code[code] >= 3 for code in VIOLATION_CODES), per_code
    assert sum("hard" in case["tags"] for case in CASES) >= 10
    assert sum(len(case["expected"]["violations"]) > 1 for case in CASES) >= 5
    assert sum(p.stat().st_size for p in (DATA_DIR / "images").iterdir()) < 3_000_000


def test_generator_reproduces_the_committed_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf").exists():
        pytest.skip("generating needs a Korean font (apt-get install -y fonts-nanum)")
    spec = importlib.util.spec_from_file_location("make_demo_data", ROOT / "scripts" / "make_demo_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    module.build(tmp_path)
    assert (tmp_path / "cases.jsonl").read_text(encoding="utf-8") == (DATA_DIR / "cases.jsonl").read_text("utf-8")
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == sorted(
        p.name for p in (DATA_DIR / "images").iterdir()
    )


# ---------------------------------------------------------------- photo quality


def test_resolution_check_separates_the_tiny_photos() -> None:
    for case in CASES:
        q = image_quality(photo(case))
        small = q["width"] < MIN_WIDTH or q["height"] < MIN_HEIGHT
        assert small == ("too_small" in case["expected"]["violations"]), (case["id"], q)


def test_brightness_check_separates_the_dark_photos() -> None:
    for case in CASES:
        q = image_quality(photo(case))
        assert (q["mean_brightness"] < MIN_BRIGHTNESS) == ("too_dark" in case["expected"]["violations"]), case["id"]


def test_blur_check_separates_the_blurred_photos_from_sharp_ones() -> None:
    blurred = [image_quality(photo(c))["sharpness"] for c in CASES if "blurry" in c["expected"]["violations"]]
    sharp = [image_quality(photo(c))["sharpness"] for c in CASES if "blurry" not in c["expected"]["violations"]]
    assert len(blurred) >= 4
    assert max(blurred) < MIN_SHARPNESS < min(sharp)
    # both sides keep a margin, so a re-drawn photo does not flip
    assert max(blurred) * 1.4 < MIN_SHARPNESS and min(sharp) > MIN_SHARPNESS * 1.4


def test_sharpness_ignores_exposure_where_raw_laplacian_variance_does_not(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["label"] == "approve" and "hard" not in c["tags"])
    image = cv2.imread(str(photo(case)))
    dark = tmp_path / "dark.jpg"
    cv2.imwrite(str(dark), (image * 0.2).astype("uint8"), [cv2.IMWRITE_JPEG_QUALITY, 90])
    before, after = image_quality(photo(case)), image_quality(dark)
    assert after["laplacian_variance"] < before["laplacian_variance"] / 10
    assert after["sharpness"] > MIN_SHARPNESS and after["mean_brightness"] < MIN_BRIGHTNESS


def test_unreadable_or_missing_photo_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        image_quality(tmp_path / "nope.jpg")
    junk = tmp_path / "junk.jpg"
    junk.write_text("not an image", encoding="utf-8")
    with pytest.raises(NotFoundError, match="not an image"):
        image_quality(junk)


# ---------------------------------------------------------------- text in the photo


def test_phone_numbers_drawn_in_photos_are_read() -> None:
    cases = [c for c in CASES if image_faults(c, "phone_number")]
    assert len(cases) >= 4
    for case in cases:
        found = photo_text_findings(read_text_lines(photo(case)))
        assert found.get("phone_number"), (case["id"], text_in_image(photo(case)))
        assert all(re.fullmatch(r"0\d{1,3}-\d{3,4}-\d{4}", n) for n in found["phone_number"]), found


def test_urls_drawn_in_photos_are_read_exactly() -> None:
    cases = [c for c in CASES if "url" in c["expected"]["violations"] and "image" in c["tags"]]
    assert len(cases) >= 4
    for case in cases:
        urls = photo_text_findings(read_text_lines(photo(case))).get("url", [])
        assert set(urls) & PHOTO_URLS, (case["id"], text_in_image(photo(case)))


def test_korean_promo_text_in_photos_is_detected_as_writing() -> None:
    cases = [c for c in CASES if image_faults(c, "promo_text")]
    assert len(cases) >= 4
    for case in cases:
        found = photo_text_findings(read_text_lines(photo(case)))
        assert set(found) == {"promo_text"}, (case["id"], found)


def test_no_writing_is_found_in_the_approved_photos() -> None:
    for case in CASES:
        if case["label"] == "approve":
            assert text_in_image(photo(case)) == [], case["id"]


# ---------------------------------------------------------------- regexes on the text

KOREAN_TEXT = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3) | st.just(" "), max_size=30)
SEPARATORS = st.sampled_from(["-", " ", ".", ""])


@settings(max_examples=200, deadline=None)
@given(
    before=KOREAN_TEXT,
    after=KOREAN_TEXT,
    prefix=st.sampled_from(["010", "011", "016", "017", "019"]),
    middle=st.integers(0, 9999),
    last=st.integers(0, 9999),
    sep=SEPARATORS,
)
def test_any_mobile_number_in_korean_text_is_found(
    before: str, after: str, prefix: str, middle: int, last: int, sep: str
) -> None:
    number = f"{prefix}{sep}{middle:04d}{sep}{last:04d}"
    found = find_phone_numbers(f"{before}{number}{after}")
    assert [re.sub(r"\D", "", n) for n in found] == [re.sub(r"\D", "", number)]
    assert "phone_number" in description_violations(f"{before} {number} {after}")


@settings(max_examples=100, deadline=None)
@given(
    before=KOREAN_TEXT,
    area=st.sampled_from(["02", "031", "032", "051", "053", "064"]),
    middle=st.integers(200, 9999),
    last=st.integers(0, 9999),
)
def test_any_landline_number_is_found(before: str, area: str, middle: int, last: int) -> None:
    assert find_phone_numbers(f"{before} {area}-{middle}-{last:04d}로 전화 주세요")


@settings(max_examples=200, deadline=None)
@given(before=KOREAN_TEXT, after=KOREAN_TEXT, won=st.integers(100, 9_999_999), grams=st.integers(1, 5000))
def test_prices_weights_and_times_are_not_phone_numbers(before: str, after: str, won: int, grams: int) -> None:
    text = f"{before} {won:,}원 {after} {won}원 {grams}g 11:00~21:30 {before}"
    assert find_phone_numbers(text) == []


@pytest.mark.parametrize(
    ("text", "menu", "codes"),
    [
        ("한 그릇 12,000원, 곱빼기 14,000원", "짜장면", []),
        ("시그니처 버거입니다", "010 버거", []),
        ("담백한 닭가슴살, 남으면 전자레인지에 데우세요", "샐러드", []),
        ("무항생제 국내산 닭 100%", "순살치킨", []),
        ("맥주 반죽으로 튀겼어요", "맥주 반죽 피쉬앤칩스", []),
        ("치킨 한 마리와 생맥주 한 잔", "치킨 + 생맥주 500cc 세트", []),
        ("1.5L 대용량", "콜라 1.5L", []),
        ("시원한 소주", "소주 1병 (단품)", ["prohibited_item"]),
        ("참이슬 한 병", "참이슬", ["prohibited_item"]),
        ("일회용 전자담배 증정", "야식 세트", ["promo_text", "prohibited_item"]),
        ("식욕억제제 함께 드림", "도시락", ["prohibited_item"]),
        ("문의 (02) 555-1234", "국밥", ["phone_number"]),
        ("대표번호 1588-1234", "국밥", ["phone_number"]),
        ("예약 0507 1234 5678", "국밥", ["phone_number"]),
        ("메뉴는 https://shop.example.com/menu 참고", "국밥", ["url"]),
        ("인스타 @bapsang_official 팔로우", "국밥", ["url"]),
        ("카톡 아이디 bapsang77 추가해 주세요", "국밥", ["url"]),
        ("오픈채팅으로 문의", "국밥", ["url"]),
        ("리뷰 이벤트 진행 중", "국밥", ["promo_text"]),
        ("지금 1+1", "국밥", ["promo_text"]),
        ("전 메뉴 10% OFF", "국밥", ["promo_text"]),
    ],
)
def test_description_rules(text: str, menu: str, codes: list[str]) -> None:
    assert description_violations(text, menu) == codes


def test_find_urls_returns_the_link() -> None:
    assert find_urls("자세한 건 www.tasty-bowl.kr 에서") == ["www.tasty-bowl.kr"]


def test_description_rules_match_the_dataset_text_labels() -> None:
    for case in CASES:
        found = description_violations(case["vars"]["description"], case["vars"]["menu_name"])
        expected = case["expected"]["violations"]
        if "text" not in case["tags"] or "rules_miss" in case["tags"]:
            assert found == [], (case["id"], found)
        elif "image" not in case["tags"]:
            assert found == expected, case["id"]
        else:
            assert found and set(found) <= set(expected), case["id"]


# ---------------------------------------------------------------- the pipeline step


def test_rules_alone_on_the_dataset(prechecked: dict[str, Finish | dict[str, Any]]) -> None:
    confusion: Counter[tuple[str, str]] = Counter()
    for case in CASES:
        result = prechecked[case["id"]]
        predicted = "reject" if isinstance(result, Finish) else "approve"
        confusion[(case["label"], predicted)] += 1
        expected = [c for c in case["expected"]["violations"] if c != "not_food"]  # no offline rule for it
        in_scope = bool(expected) and "rules_miss" not in case["tags"]
        if isinstance(result, Finish):
            assert result.output["violations"] == expected, case["id"]
        else:
            assert not in_scope, (case["id"], expected, result)
    caught, missed = confusion[("reject", "reject")], confusion[("reject", "approve")]
    false_rejects = confusion[("approve", "reject")]
    print(f"\nrules alone: {caught} rejects caught, {missed} missed, {false_rejects} approvals wrongly rejected")
    assert false_rejects == 0
    assert caught / (caught + missed) >= 0.8


def test_precheck_reject_is_a_finish_with_a_korean_reason(prechecked: dict[str, Finish | dict[str, Any]]) -> None:
    case = next(c for c in CASES if c["expected"]["violations"] == ["blurry"])
    result = prechecked[case["id"]]
    assert isinstance(result, Finish)
    assert result.output["decision"] == "reject" and result.output["violations"] == ["blurry"]
    assert "흐립니다" in result.output["reason"] and result.reason == "rule: blurry"
    json.dumps(result.output, ensure_ascii=False)


def test_precheck_pass_hands_its_findings_on(prechecked: dict[str, Finish | dict[str, Any]]) -> None:
    case = next(c for c in CASES if c["label"] == "approve")
    result = prechecked[case["id"]]
    assert isinstance(result, dict) and result["ok"] is True
    assert result["image"]["width"] >= MIN_WIDTH and result["text_in_image"] == []
    assert json.loads(json.dumps(result)) == result


def test_photo_path_contract(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["expected"]["violations"] == ["too_dark"])
    (tmp_path / "images").mkdir()
    shutil.copy(photo(case), tmp_path / case["vars"]["photo"])
    relative = precheck({**case["vars"], "_base_dir": str(tmp_path)})
    absolute = precheck({**case["vars"], "photo": str(tmp_path / case["vars"]["photo"])})
    bundled = precheck(case["vars"])  # relative, no _base_dir: the bundled dataset folder
    assert isinstance(relative, Finish) and isinstance(absolute, Finish) and isinstance(bundled, Finish)
    assert relative.output == absolute.output == bundled.output
    with pytest.raises(NotFoundError):
        precheck({**case["vars"], "_base_dir": str(tmp_path / "elsewhere")})
    no_photo = precheck({"menu_name": "김밥", "description": "문의 010-1234-5678"})
    assert isinstance(no_photo, Finish) and no_photo.output["violations"] == ["phone_number"]


async def test_precheck_runs_as_a_python_provider_step() -> None:
    case = next(c for c in CASES if image_faults(c, "phone_number"))
    path = "andon.demo.checks:precheck"
    request = ProviderRequest(model=path, messages=(), variables={**case["vars"], "photo": str(photo(case))})
    response = await PythonProvider("rules", ProviderConfig(type="python")).complete(request)
    assert response.finished is True
    assert response.parsed["decision"] == "reject" and "phone_number" in response.parsed["violations"]
