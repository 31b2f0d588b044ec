"""What ``andon init`` writes: an andon.yaml that teaches the format, a rule check and labelled cases.

The first feature runs on Python rules, so a new workspace evaluates, compares, gates and serves offline in
seconds with real numbers; the second runs on the embedded model, for when the first call may take a while.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

CONFIG_FILE = "andon.yaml"
RULES_FILE = "listing_rules.py"
CHECK_CASES_FILE = "data/listing-check.jsonl"
TITLE_CASES_FILE = "data/listing-title.jsonl"

_TEMPLATE = """\
# andon workspace. Every field: `andon schema`. Check it (and all it names): `andon check`.
andon: 1
name: {name}
language: en            # en or ko: language of messages and reports
currency: KRW           # reports convert costs into this currency
exchange_rates:
  USD: 1450             # 1 USD = 1450 KRW

providers:
  local:                # embedded model: weights come inside a package, nothing downloads
    type: local
    model: qwen2.5-coder-0.5b   # or qwen2.5-coder-1.5b (better, slower), or a path to any .gguf
  # openai:
  #   type: openai
  #   base_url: https://api.openai.com/v1   # any OpenAI-compatible server: vLLM, Ollama, llama.cpp
  #   api_key: ${{OPENAI_API_KEY}}           # secrets come from the environment, never the store
  #   model: gpt-4o-mini

prices:                 # per 1M tokens; the embedded model costs nothing per call
  - {{provider: local, model: "*", input_per_1m: 0, output_per_1m: 0, currency: KRW}}
  # - {{provider: openai, model: gpt-4o-mini, input_per_1m: 0.15, output_per_1m: 0.60, currency: USD}}

features:
  listing-check:
    description: Hold back second-hand listings that break the marketplace's rules before they go live.
    dataset: {check_cases}   # labelled cases: YAML, JSONL or CSV
    graders:
      - {{type: label, path: decision}}   # the output's `decision` against each case's label
    criteria: ["accuracy >= 0.9", "recall[reject] >= 0.85", "p95_latency_ms <= 1000"]
    versions:
      v1:
        description: A first try, two keywords.
        python: listing_rules:keywords       # a function in {rules}: a rule check, no model
      v2:
        description: Phone numbers in any format, contact outside the app, prohibited items.
        python: listing_rules:rules

  listing-title:
    description: Suggest a short title for a second-hand listing (runs on the embedded model).
    dataset: {title_cases}
    graders:
      - {{type: icontains}}                 # the title names the item (each case's `expected`)
    versions:
      v1:
        provider: local
        system: You write short, honest titles for second-hand listings. Answer in the listing's language.
        prompt: "Listing: {{{{ description }}}}\\nTitle:"
        params: {{temperature: 0, max_tokens: 32, seed: 7}}
      v2:
        provider: local
        system: |
          You write short, honest titles for second-hand listings.
          Reply as JSON with one field, "title": at most 30 characters, in the listing's language.
        prompt: "Listing: {{{{ description }}}}"
        params: {{temperature: 0, max_tokens: 48, seed: 7}}
        output_schema:
          type: object
          properties:
            title: {{type: string, maxLength: 60}}
          required: [title]
"""

_RULES = '''\
"""Rule checks for listing-check: each takes the case's variables and returns the verdict as JSON."""

import re

# Korean mobile and landline numbers, with or without +82, separated by '-', '.', ' ' or nothing.
PHONE = re.compile(r"(?<!\\d)(?:\\+82[-. ]?0?|0)(?:1[016789]|2|[3-6][1-5])[-. )]?\\d{3,4}[-. ]?\\d{4}(?!\\d)")
CONTACT = ("카톡", "카카오톡", "오픈채팅", "텔레그램")  # buyers must chat in the app
PROHIBITED = ("담배", "양주", "소주", "위스키", "의약품", "처방약", "다이어트약")


def keywords(variables):
    """v1: reject when the text mentions 010 or KakaoTalk."""
    text = variables.get("description", "")
    reject = "010" in text or "카톡" in text
    return {"decision": "reject" if reject else "approve"}


def rules(variables):
    """v2: phone numbers in any format, contact outside the app, prohibited items."""
    text = variables.get("description", "")
    reasons = []
    if PHONE.search(text):
        reasons.append("phone_number")
    if any(word in text for word in CONTACT):
        reasons.append("outside_contact")
    if any(word in text for word in PROHIBITED):
        reasons.append("prohibited_item")
    return {"decision": "reject" if reasons else "approve", "reasons": reasons}
'''

# (id, description, label, tags): what a marketplace's reviewers would decide.
_CHECK_CASES = (
    ("bike", "거의 새 자전거, 한 번 탔어요", "approve", ["clean"]),
    ("iphone", "아이폰 13 미니 128GB, 배터리 효율 88%", "approve", ["clean"]),
    ("desk", "원목 책상 팝니다. 연락은 010-1234-5678", "reject", ["phone"]),
    ("chairs", "캠핑 의자 2개, 카톡 주세요", "reject", ["contact"]),
    ("guitar", "2010년식 클래식 기타, 소리 좋아요", "approve", ["clean"]),
    ("switch", "닌텐도 스위치 판매, 01098765432 문자 주세요", "reject", ["phone"]),
    ("headphones", "소니 헤드폰 WH-1000XM4, 직거래 선호", "approve", ["clean"]),
    ("baby-clothes", "아기 옷 일괄 5천원", "approve", ["clean"]),
    ("sofa", "가죽 소파, 02-345-6789 로 전화 주세요", "reject", ["phone"]),
    ("vape", "전자담배 기기 새것, 액상 포함", "reject", ["prohibited"]),
    ("whisky", "양주 발렌타인 17년산 미개봉", "reject", ["prohibited"]),
    ("laptop", "노트북 팝니다, 오픈채팅으로 연락주세요", "reject", ["contact"]),
    ("bike-deal", "텔레그램 @bike_deal 로 문의", "reject", ["contact"]),
    ("plush", "카카오프렌즈 인형 세트", "approve", ["clean"]),
    ("shoes", "러닝화 270mm, 10회 착용", "approve", ["clean"]),
    ("spelled-out", "연락처는 공일공 일이삼사 오육칠팔", "reject", ["phone"]),
    ("camping", "캠핑 의자 2개 일괄 3만원", "approve", ["clean"]),
    ("intl", "+82 10-2222-3333 으로 연락", "reject", ["phone"]),
)

_TITLE_CASES = (
    ("bike", "거의 새 자전거, 한 번 탔어요", "자전거"),
    ("iphone", "아이폰 13 미니 128GB, 배터리 효율 88%, 케이스 같이 드려요", "아이폰"),
    ("desk", "원목 책상 팝니다. 가로 120cm, 생활 기스 조금", "책상"),
)


def starter_config(name: str) -> str:
    """The text of a new andon.yaml for a workspace called ``name``."""
    return _TEMPLATE.format(name=name, rules=RULES_FILE, check_cases=CHECK_CASES_FILE, title_cases=TITLE_CASES_FILE)


def starter_files(name: str) -> dict[str, str]:
    """Every file of a new workspace, by path relative to its folder."""
    check = [{"id": i, "vars": {"description": d}, "label": label, "tags": tags} for i, d, label, tags in _CHECK_CASES]
    title = [{"id": i, "vars": {"description": d}, "expected": e} for i, d, e in _TITLE_CASES]
    return {
        CONFIG_FILE: starter_config(name),
        RULES_FILE: _RULES,
        CHECK_CASES_FILE: _jsonl(check),
        TITLE_CASES_FILE: _jsonl(title),
    }


def write_starter(folder: Path, name: str, *, force: bool = False) -> Path:
    """Write the starter into ``folder``; andon.yaml is replaced only with ``force``, other files never.

    Returns the andon.yaml path. Files the user already has (their own rules or cases) are kept.
    """
    for relative, text in starter_files(name).items():
        target = folder / relative
        if target.exists() and not (force and relative == CONFIG_FILE):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder / CONFIG_FILE


def _jsonl(rows: Sequence[Mapping[str, object]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
