"""The answer cache never serves across a polarity flip, an antonym, or a variable the prompt reads but the key lacks.

Issue 16 item 1: a 1-star review was served the reply to a 5-star one (cosine 0.803), 맛있어요/맛없어요 was a
semantic hit, and a rating outside ``cache.fields`` was not part of the key. Real store (SQLite and
PostgreSQL) and the real offline embedder; every pair here was written for these tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import WorkspaceConfig
from andon.embeddings import default_embedder
from andon.gateway.semcache.cache import DEFAULT_THRESHOLD, GENERATION_THRESHOLD, SemanticCache, writes_free_text
from andon.gateway.semcache.guard import mismatch, request_shape
from andon.store import Store

# Requests that must never share an answer: the sentiment flips, or one word turns into its opposite.
FLIPS = [
    ("사장님이 정말 친절하시고 배달도 빨라요.", "사장님이 정말 불친절하시고 배달도 느려요."),
    ("맛있어요! 또 시킬게요", "맛없어요! 다시는 안 시킬게요"),
    ("이 가게 정말 좋아요", "이 가게 정말 싫어요"),
    ("강아지를 팝니다", "강아지를 삽니다"),
    ("회원 탈퇴 방법 알려주세요", "회원 가입 방법 알려주세요"),
    ("I love this app", "I hate this app"),
    ("The staff were friendly and fast", "The staff were rude and slow"),
    ("Turn on the lights", "Turn off the lights"),
    ("How do I subscribe?", "How do I unsubscribe?"),
]
# Same request, same sentiment, other words: these must still be served.
SAME = [
    ("맛있어요! 또 시킬게요", "정말 맛있어요! 또 시킬게요"),
    ("배달이 너무 느려요", "배달이 정말 느려요"),
    ("이 물건 아직 팔아요?", "이 물건 아직 파나요?"),
    ("Turn off the lights", "Please turn off the lights"),
]
LOW = 0.3  # far below any shipped threshold: only the guard stands between these pairs


def config(**features: dict[str, Any]) -> WorkspaceConfig:
    """A workspace with a loopback provider (never called) and the given features."""
    return WorkspaceConfig.model_validate(
        {
            "providers": {"stub": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}},
            "features": features,
        }
    )


def feature(prompt: str = "{{ question }}", **cache: Any) -> dict[str, Any]:
    """A free-text feature with its cache on."""
    return {"versions": {"v1": {"provider": "stub", "prompt": prompt}}, "serve": {"cache": {"enabled": True, **cache}}}


def cosine(a: str, b: str) -> float:
    va, vb = default_embedder().embed([a, b])
    return float(va @ vb)


@pytest.mark.parametrize(("cached", "asked"), FLIPS + [(b, a) for a, b in FLIPS])
async def test_a_flipped_or_opposite_request_is_refused_by_the_guard(store: Store, cached: str, asked: str) -> None:
    assert cosine(cached, asked) >= LOW  # the embedding alone would serve it
    cache = SemanticCache(store, config(faq=feature(threshold=LOW)))
    await cache.store("faq", "v1", "t", {"question": cached}, "answer", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", {"question": asked}) is None
    assert cache.stats["guard_veto"] == 1


@pytest.mark.parametrize(("cached", "asked"), SAME)
async def test_the_same_sentiment_in_other_words_is_still_served(store: Store, cached: str, asked: str) -> None:
    cache = SemanticCache(store, config(faq=feature(threshold=0.5)))
    await cache.store("faq", "v1", "t", {"question": cached}, "answer", None, "trc_1")
    found = await cache.lookup("faq", "v1", "t", {"question": asked})
    assert found is not None and found.hit == "semantic"


@pytest.mark.parametrize(("a", "b"), FLIPS)
def test_mismatch_names_a_reason_for_every_flip(a: str, b: str) -> None:
    assert mismatch(request_shape(a), request_shape(b)) is not None
    assert mismatch(request_shape(b), request_shape(a)) is not None


def test_negations_are_counted_not_paired() -> None:
    # 맛없어요 (없) plus 안: two negations against none. Parity called them equal.
    assert request_shape("맛없어요! 다시는 안 시킬게요").negations == 2
    assert mismatch(request_shape("맛있어요 또 시킬게요"), request_shape("맛없어요 다시는 안 시킬게요")) is not None


# Opposites written for this property (not read from the guard's lexicon), in neutral sentence frames.
_OPPOSITES = st.sampled_from(
    [
        ("좋아요", "싫어요"),
        ("맛있어요", "맛없어요"),
        ("친절해요", "불친절해요"),
        ("빨라요", "느려요"),
        ("팔아요", "사요"),
        ("켜 주세요", "꺼 주세요"),
        ("열어 주세요", "닫아 주세요"),
        ("추가해 주세요", "삭제해 주세요"),
        ("good", "bad"),
        ("buy", "sell"),
        ("open", "close"),
        ("enable", "disable"),
    ]
)
_FRAME = st.lists(
    st.sampled_from(["오늘", "그", "가게", "정말", "메뉴", "the", "shop", "today", "please", "매장"]), max_size=3
)


@given(_FRAME, _OPPOSITES, _FRAME)
def test_opposites_in_any_neutral_frame_are_refused(left: list[str], pair: tuple[str, str], right: list[str]) -> None:
    a = " ".join([*left, pair[0], *right])
    b = " ".join([*left, pair[1], *right])
    assert mismatch(request_shape(a), request_shape(b)) is not None
    assert mismatch(request_shape(a), request_shape(a)) is None


# --- variables the prompt reads are part of the key ------------------------------------------------------

REVIEW = "사장님이 정말 친절하시고 배달도 빨라요."


async def test_a_variable_the_prompt_reads_but_fields_leave_out_still_separates_answers(store: Store) -> None:
    reply = feature("별점 {{ rating }}점 리뷰에 답글을 써 주세요: {{ review }}", fields=["review"], threshold=LOW)
    cache = SemanticCache(store, config(reply=reply))
    await cache.store("reply", "v1", "t", {"review": REVIEW, "rating": 5}, "감사합니다!", None, "trc_5")
    assert await cache.lookup("reply", "v1", "t", {"review": REVIEW, "rating": 1}) is None  # not exact
    assert await cache.lookup("reply", "v1", "t", {"review": REVIEW + "!", "rating": 1}) is None  # not semantic
    assert await cache.lookup("reply", "v1", "t", {"review": REVIEW, "rating": "5"}) is None  # another value
    found = await cache.lookup("reply", "v1", "t", {"review": REVIEW, "rating": 5, "request_id": "r2"})
    assert found is not None and found.hit == "exact"  # a variable no template reads is still ignored
    semantic = await cache.lookup("reply", "v1", "t", {"review": REVIEW + "!", "rating": 5})
    assert semantic is not None and semantic.hit == "semantic"  # the rating matches: the review is embedded


async def test_a_python_step_may_read_any_variable_so_all_are_in_the_key(store: Store) -> None:
    rules = {
        "versions": {"v1": {"python": "json:dumps"}},
        "serve": {"cache": {"enabled": True, "fields": ["review"]}},
    }
    cache = SemanticCache(store, config(rules=rules))
    await cache.store("rules", "v1", "t", {"review": REVIEW, "rating": 5}, "감사합니다!", None, "trc_5")
    assert await cache.lookup("rules", "v1", "t", {"review": REVIEW, "rating": 1}) is None
    assert await cache.lookup("rules", "v1", "t", {"review": REVIEW, "rating": 5}) is not None


# --- generation features get the stricter threshold by default -------------------------------------------

LABEL_SCHEMA = {
    "type": "object",
    "properties": {"label": {"enum": ["배송", "환불", "기타"]}, "confidence": {"type": "number"}},
    "required": ["label"],
}
REPLY_SCHEMA = {"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}


def _typed(schema: dict[str, Any], **cache: Any) -> dict[str, Any]:
    version = {"provider": "stub", "prompt": "{{ question }}", "output_schema": schema}
    return {"versions": {"v1": version}, "serve": {"cache": {"enabled": True, **cache}}}


def test_generation_features_default_to_the_stricter_threshold(store: Store) -> None:
    assert DEFAULT_THRESHOLD < GENERATION_THRESHOLD < 1
    features = {
        "free": feature(),
        "label": _typed(LABEL_SCHEMA),
        "reply": _typed(REPLY_SCHEMA),
        "chosen": feature(threshold=0.6),
        "judged": feature(judge="stub"),
    }
    cache = SemanticCache(store, config(**features))
    thresholds = {name: getattr(cache.settings(name), "threshold", None) for name in features}
    assert thresholds == {
        "free": GENERATION_THRESHOLD,  # the model writes free text for this one request
        "label": DEFAULT_THRESHOLD,  # a label from a closed set
        "reply": GENERATION_THRESHOLD,  # JSON, but a free-text field
        "chosen": 0.6,  # the feature's own setting wins
        "judged": DEFAULT_THRESHOLD,  # a judge confirms each hit
    }


async def test_a_paraphrase_between_the_thresholds_serves_labels_but_not_generated_text(store: Store) -> None:
    cached, asked = "리뷰 이벤트 참여하고 싶어요", "리뷰 이벤트 어떻게 참여해요?"
    assert DEFAULT_THRESHOLD <= cosine(cached, asked) < GENERATION_THRESHOLD
    cache = SemanticCache(store, config(free=feature(), label=_typed(LABEL_SCHEMA)))
    for name in ("free", "label"):
        await cache.store(name, "v1", "t", {"question": cached}, None, {"label": "기타"}, "trc_1")
    assert await cache.lookup("free", "v1", "t", {"question": asked}) is None
    found = await cache.lookup("label", "v1", "t", {"question": asked})
    assert found is not None and found.output_json == {"label": "기타"}


@pytest.mark.parametrize(
    ("schema", "free"),
    [
        ({"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer"}}}, False),
        ({"type": "array", "items": {"enum": ["a", "b"]}}, False),
        ({"anyOf": [{"type": "number"}, {"const": "none"}]}, False),
        ({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}, True),
        ({"type": "object", "required": ["answer"]}, True),  # no properties declared: any value
        ({"anyOf": [{"type": "number"}, {"type": ["string", "null"]}]}, True),
        ({"$ref": "#/$defs/reply"}, True),  # not resolved: assume free text
        ({}, True),
    ],
)
def test_free_text_is_read_from_the_output_schema(schema: dict[str, Any], free: bool) -> None:
    assert writes_free_text(config(f=_typed(schema)).features["f"]) is free


_polar_words = st.sampled_from(
    ["맛있어요", "맛없어요", "불친절해요", "친절해요", "안", "좋지", "않아요", "팝니다", "배달이", "빨라요", "not",
     "good", "bad", "turn", "on", "off", "unhappy", "happy", "3개", "주문", "취소"]
)  # fmt: skip
_polar_sentences = st.lists(_polar_words, min_size=1, max_size=6).map(" ".join)


@given(_polar_sentences, _polar_sentences)
def test_the_polarity_checks_are_symmetric_and_accept_identical_requests(a: str, b: str) -> None:
    shape_a, shape_b = request_shape(a), request_shape(b)
    assert mismatch(shape_a, shape_a) is None
    assert mismatch(shape_a, shape_b) == mismatch(shape_b, shape_a)
